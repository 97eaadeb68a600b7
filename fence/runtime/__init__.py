"""The live engine's runtime: clock, track recording, snapshots, metrics, the engine."""
