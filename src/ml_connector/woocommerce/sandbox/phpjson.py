"""JSON exactly as PHP's `json_encode` writes it with WordPress's default flags.

WooCommerce answers REST calls and signs webhook bodies in this form: compact, `/` escaped as `\\/`,
everything outside ASCII as `\\uXXXX` (lower-case hex), floats in shortest round-trip form (PHP >= 7.1,
`serialize_precision = -1`), which is what Python's `repr(float)` produces too.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def php_json(value: Any) -> bytes:
    # "/" only occurs inside JSON strings, so escaping it after encoding is safe.
    return _ENCODER.encode(value).replace("/", "\\/").encode("ascii")
