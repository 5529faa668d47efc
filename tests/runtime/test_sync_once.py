from __future__ import annotations

import json

from ml_connector.engine.audit import render_timeline
from ml_connector.runtime.commands import sync_once
from tests.engine.conftest import ShopWorld


def test_one_pass_polls_and_writes_in_the_foreground(world: ShopWorld):
    world.shop.put("1", amount=5, customer="ann")
    world.shop.put("2", amount=-1, customer="ann")  # rejected by the target
    world.shop.put("3", status="cancelled")
    report = sync_once(world.app, "store", None, progress=True)
    assert (report.seen, report.new, report.processed) == (3, 3, 3)
    assert report.states == {"sent": 2, "failed": 1}  # ann's account, invoice 1; invoice 2 failed
    assert report.failed == [
        "store:order:2 SalesInvoices: Amount: negative amounts are not allowed (fake, HTTP 400)"
    ]

    trail = json.loads(render_timeline(world.app, "store:order:1", as_json=True))
    assert {event["actor"] for event in trail} == {"cli:sync:store"}

    again = sync_once(world.app, "store", None, progress=False)
    assert (again.seen, again.new, again.processed) == (0, 0, 0)  # nothing changed since
    assert world.target.count("SalesInvoices", "WC-1") == 1
