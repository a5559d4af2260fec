"""The alert engine: decisions become warning-level alerts, grouped into incidents and
escalated up the command tiers."""
