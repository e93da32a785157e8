"""Telemetry sources: the in-memory model and the readers that fill it."""
