"""The pages of the command center: each a pure layout with its own refresh interval, and
pure renderers of what its refresh shows."""
