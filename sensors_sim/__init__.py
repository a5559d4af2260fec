"""The city simulator: a seeded city model, its sensors' signals, a deterministic event
generator (with labelled malformed events), the reference-data writer and a paced Kafka
producer. ``citybrain-sim --help`` for the command line.

Pure parts (no I/O): geometry, names, sources, city, signals, cases, corruption,
generator, pacing, cli, summary. Edges: reference (ClickHouse), producer (Kafka).
"""
