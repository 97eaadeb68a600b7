"""Stateful evaluator: fixes and ticks in, events out (no clock, no I/O)."""
