"""The detectors: each scores one series (score, then learn); banks of them per series, and
the monitor that runs them for the worker."""
