"""Where the connector's SQL comes from: statements and transactions counted per line of product code.

Hooks the engine's `before_cursor_execute` and `begin`; each is attributed to the innermost frame under
`ml_connector/engine`, `ml_connector/pipelines`, `ml_connector/exact` or `ml_connector/runtime` (the
caller that decided to talk to the database), so a hotspot reads as file:line.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

PRODUCT_DIRS = (
    "ml_connector/engine/",
    "ml_connector/pipelines/",
    "ml_connector/exact/",
    "ml_connector/runtime/",
)


@dataclass
class SqlSites:
    statements: Counter[str] = field(default_factory=Counter)
    transactions: Counter[str] = field(default_factory=Counter)

    def top(self, per: int, lines: int = 15) -> str:
        """The busiest sites, with their count per unit of work (`per`, e.g. invoices)."""
        total, begins = sum(self.statements.values()), sum(self.transactions.values())
        out = [f"SQL statements: {total}, transactions: {begins}"]
        for title, counter in (("statements", self.statements), ("transactions", self.transactions)):
            out.append(f"  top {title} by call site (per invoice):")
            out += [f"    {n:6d} ({n / max(per, 1):5.2f})  {site}" for site, n in counter.most_common(lines)]
        return "\n".join(out)


def _site() -> str:
    frame: Any = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if any(part in name for part in PRODUCT_DIRS) and "/store/" not in name:
            return f"{name.split('ml_connector/')[-1]}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "elsewhere"


@contextmanager
def counting_sql(engine: Engine) -> Iterator[SqlSites]:
    sites = SqlSites()

    def statement(*_args: Any) -> None:
        sites.statements[_site()] += 1

    def begin(*_args: Any) -> None:
        sites.transactions[_site()] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        yield sites
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)
