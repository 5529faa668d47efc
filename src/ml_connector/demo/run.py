"""`ml-connector demo`: run the flows end to end on sandboxes and print one summary."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

FLOWS = ("woocommerce", "adobe-commerce")


def run_demo(flow: str, console: Console) -> dict[str, Any]:
    """Run the chosen flow(s) on a fresh data dir each; the summary per flow plus an overall `ok`."""
    results: dict[str, Any] = {}
    for name in FLOWS if flow == "all" else (flow,):
        with tempfile.TemporaryDirectory(prefix=f"ml-connector-demo-{name}-") as data_dir:
            console.rule(f"{name} to Exact Online (data dir {data_dir})")
            if name == "woocommerce":
                from ml_connector.demo.woocommerce import run_woocommerce_demo

                results[name] = run_woocommerce_demo(console, Path(data_dir))
            else:
                from ml_connector.demo.adobe import run_adobe_demo

                results[name] = run_adobe_demo(console, Path(data_dir))
    results["ok"] = all(
        not summary.get("problems") for summary in results.values() if isinstance(summary, dict)
    )
    return results


def summary_table(results: dict[str, Any]) -> Table:
    flows = [name for name in results if isinstance(results[name], dict)]
    table = Table("figure", *flows, title="ml-connector demo")
    keys: list[str] = []
    for name in flows:
        keys += [k for k in results[name] if k not in keys and k != "problems"]
    for key in keys:
        table.add_row(key, *(str(results[name].get(key, "")) for name in flows))
    table.add_row("problems", *(str(len(results[name].get("problems", []))) for name in flows))
    return table
