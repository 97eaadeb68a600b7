"""Site and zones: loading, metric projection, zone index, hysteresis, permits."""
