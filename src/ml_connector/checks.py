"""Result of one `ml-connector ping` check: what was checked, whether it passed, and the fix if not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
