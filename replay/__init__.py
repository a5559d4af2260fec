"""Replay and backtest: recorded history through the same worker, in a namespace of its own."""
