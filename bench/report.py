"""Figures a benchmark measured against the issue's targets, printed as a table or as one JSON line."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table

JSON_MARK = "BENCH-FIGURES "  # run_all finds the figures of a script's run after this mark


@dataclass(frozen=True)
class Figure:
    name: str
    measured: float
    unit: str
    target: float | None = None  # None: reported, no target
    better: Literal["lower", "higher"] = "lower"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        ok = self.measured <= self.target if self.better == "lower" else self.measured >= self.target
        return "PASS" if ok else "MISS"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'<=' if self.better == 'lower' else '>='} {self.target:g} {self.unit}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def table(figures: Sequence[Figure], title: str) -> Table:
    grid = Table(title=title)
    for column in ("figure", "measured", "target", "result", "note"):
        grid.add_column(column)
    for figure in figures:
        grid.add_row(
            figure.name,
            f"{figure.measured:.3f} {figure.unit}".rstrip(),
            figure.target_text,
            figure.verdict,
            figure.note,
        )
    return grid


def print_figures(figures: Sequence[Figure], title: str, as_json: bool) -> None:
    if as_json:
        print(JSON_MARK + json.dumps([asdict(f) for f in figures]), flush=True)
        return
    console = Console()
    console.print(table(figures, f"{title} (load average {load_average()})"))


def main(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    measure: Callable[[argparse.Namespace], list[Figure]],
) -> None:
    """The command line every benchmark script shares: its own sizes plus `--json` for run_all."""
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    print(f"load average before: {load_average()}", flush=True)
    figures = measure(args)
    print(f"load average after: {load_average()}", flush=True)
    print_figures(figures, description, args.json)
