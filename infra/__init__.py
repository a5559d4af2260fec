"""Shared I/O edges for the processes: settings, Kafka topic names, the ClickHouse schema.

Imports only the pure core (detectors); streams, sensors_sim and dashboard import this and
never each other.
"""
