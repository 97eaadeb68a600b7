"""Where the test data lives: the repo, and the shared spec and corpus beside it."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FENCE_SHARED", REPO.parent / "shared"))
SPEC_EXAMPLES = SHARED / "spec" / "examples"
CORPUS_NMEA = SHARED / "corpus" / "nmea" / "gpsd"
DEMO_CONFIG = REPO / "fence.toml"
