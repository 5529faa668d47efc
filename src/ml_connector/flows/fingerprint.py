"""Content fingerprints: a stable hash over the fields that matter for one purpose.

Used to tell "changed after posting" apart from harmless updates (status, notes) and to recognise our
own writes when they echo back from the other system. Values are normalised to text so that Decimal
'1.50' and '1.5' or reordered dict keys do not change the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def _normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Mapping):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def content_hash(fields: Mapping[str, Any]) -> str:
    """sha256 (hex) of the normalised fields."""
    text = json.dumps(
        _normalise(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level field names whose normalised values differ, for the audit entry."""
    keys = sorted(set(old) | set(new))
    return [key for key in keys if _normalise(old.get(key)) != _normalise(new.get(key))]
