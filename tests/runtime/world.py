"""The runtime tests' world: an Exact sandbox, Exact connections authorized against it, and test shops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ml_connector.app import App
from ml_connector.engine.flows import FlowContext
from ml_connector.exact.authorize import authorize_with_code
from ml_connector.exact.client import ExactClient
from ml_connector.exact.refs import ref_field
from ml_connector.exact.sandbox.app import ExactSandbox
from ml_connector.exact.target import ExactTarget
from ml_connector.store.connections import add_connection
from ml_connector.store.models import Connection, ConnectionKind
from tests.engine import testflow

WEBHOOK_SECRET = "shop-webhook-secret"


def exact_ref(entity: str, payload: dict[str, Any], ref: str) -> dict[str, Any]:
    return ref_field(entity).apply(payload, ref)


def exact_target(ctx: FlowContext, conn: Connection) -> ExactTarget:
    return ExactTarget(ExactClient.for_connection(ctx.app, conn.name))


def register_exact_flow() -> None:
    testflow.register(exact_target, exact_ref)


def connect_exact(app: App, name: str, base_url: str, sandbox: ExactSandbox) -> int:
    """Add an Exact connection and authorize it against the sandbox, as a user would."""
    info = sandbox.info(base_url)
    with app.db.session() as session:
        conn = add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.EXACT,
            base_url=base_url,
            credentials={"client_secret": info["client_secret"], "webhook_secret": info["webhook_secret"]},
            settings={"client_id": info["client_id"], "redirect_uri": info["redirect_uri"]},
        )
        conn_id = conn.id
    consent = httpx.get(
        f"{base_url}/api/oauth2/auth",
        params={
            "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"],
            "response_type": "code",
        },
    )
    authorize_with_code(app, name, httpx.URL(consent.headers["location"]).params["code"])
    return conn_id


def add_shop(app: App, name: str, shop_file: Path, exact_id: int, **settings: Any) -> int:
    with app.db.session() as session:
        conn = add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.WOOCOMMERCE,
            base_url="http://shop.invalid",
            credentials={"webhook_secret": WEBHOOK_SECRET},
            settings={
                "flow": testflow.FLOW,
                "shop_file": str(shop_file),
                "target_connection_id": exact_id,
                **settings,
            },
        )
        return conn.id


def an_item(app: App, exact_name: str) -> str:
    client = ExactClient.for_connection(app, exact_name)
    try:
        return str(client.list("Items")[0]["ID"])
    finally:
        client.close()


@dataclass
class Counted:
    """Invoices in the sandbox per YourRef."""

    by_ref: dict[str, int]

    @classmethod
    def of(cls, app: App, exact_name: str) -> Counted:
        client = ExactClient.for_connection(app, exact_name)
        try:
            rows = client.list("SalesInvoices")
        finally:
            client.close()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["YourRef"]] = counts.get(row["YourRef"], 0) + 1
        return cls(counts)
