"""GNSS reader: NMEA bytes in, typed fixes out (no I/O in the decoder)."""

from gnss.fix import Fix, Quality
from gnss.instant import format_instant, parse_instant

__all__ = ["Fix", "Quality", "format_instant", "parse_instant"]
