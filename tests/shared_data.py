"""Where the reference pack and the real captures live: `ML_CONNECTOR_SHARED`, else the `shared/` folder
beside this checkout (as CI lays it out), else the workplace's copy."""

from __future__ import annotations

import os
from pathlib import Path


def _shared() -> Path:
    explicit = os.environ.get("ML_CONNECTOR_SHARED")
    if explicit:
        return Path(explicit)
    beside = Path(__file__).resolve().parents[2] / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


SHARED = _shared()
REFERENCE = SHARED / "reference"
