"""The pure core of citybrain: event contract, city model, validation, aggregation, detectors.

Nothing here does I/O, reads the environment or the clock: callers pass those in.
"""
