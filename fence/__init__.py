"""The fence application: config, CLI and runtime wiring."""
