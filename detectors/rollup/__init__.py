"""Roll-up aggregations over the city hierarchy, as pure folds."""
