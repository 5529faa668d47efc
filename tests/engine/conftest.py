from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_connector.app import App
from ml_connector.config import load_settings
from ml_connector.engine.intent import SourceRecord, UpdateCheck, UpdateRule, WriteIntent
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.db import Database
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.vault import Vault
from tests.engine import testflow
from tests.engine.fakes import REF_FIELD, FakeTarget


@dataclass
class Pair:
    shop_id: int
    exact_id: int

    def intent(
        self,
        order: str,
        version: str = "v1",
        amount: int = 10,
        entity: str = "SalesInvoices",
        update: UpdateRule | UpdateCheck = UpdateRule.NEVER,
    ) -> WriteIntent:
        return WriteIntent(
            source=SourceRecord(self.shop_id, "order", order, version),
            target_connection_id=self.exact_id,
            entity=entity,
            external_ref=f"WC-1-{order}",
            payload={REF_FIELD: f"WC-1-{order}", "Amount": amount},
            update=update,
        )


@pytest.fixture
def pair(db: Database) -> Pair:
    with db.session() as session:
        shop = Connection(name="shop", kind=ConnectionKind.WOOCOMMERCE, base_url="http://shop")
        exact = Connection(name="exact", kind=ConnectionKind.EXACT, division=1001)
        session.add_all([shop, exact])
        session.flush()
        return Pair(shop.id, exact.id)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_800_000_000.0)


@dataclass
class ShopWorld:
    """An app with a test-flow shop connection writing to a fake target."""

    app: App
    shop: testflow.ShopFile
    target: FakeTarget
    shop_id: int
    exact_id: int


@pytest.fixture
def world(db: Database, vault: Vault, tmp_path: Path) -> ShopWorld:
    app = App(settings=load_settings(None, data_dir=tmp_path / "data"), db=db, vault=vault)
    target = FakeTarget()
    testflow.register(lambda _ctx, _conn: target)
    shop_file = tmp_path / "shop.json"
    with db.session() as session:
        exact = Connection(name="books", kind=ConnectionKind.EXACT, division=2002)
        session.add(exact)
        session.flush()
        shop = Connection(
            name="store",
            kind=ConnectionKind.WOOCOMMERCE,
            settings={"flow": testflow.FLOW, "shop_file": str(shop_file), "target_connection_id": exact.id},
        )
        session.add(shop)
        session.flush()
        ids = (shop.id, exact.id)
    return ShopWorld(app, testflow.ShopFile(shop_file), target, *ids)
