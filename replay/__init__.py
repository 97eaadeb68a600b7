"""Analyst replay: track logs in, the same events out, with reports and plots."""
