"""`ping` checks of a shop connection's sync set-up: its Exact target and its settings against Exact."""

from __future__ import annotations

from ml_connector.app import App
from ml_connector.checks import Check
from ml_connector.engine.flows import flow_for
from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce.settings import check_settings
from ml_connector.pipelines.woocommerce import SyncSettingsError, WooToExact
from ml_connector.store.models import Connection, ConnectionKind


def sync_checks(app: App, conn: Connection) -> list[Check]:
    """Whether the shop's sync settings are complete and agree with Exact's master data (VAT codes,
    items, GL accounts), read fresh from Exact. Empty for connections without sync settings."""
    if conn.kind != ConnectionKind.WOOCOMMERCE or not (conn.settings or {}).get("sync"):
        return []
    try:
        flow = flow_for(app, conn.id)
    except (SyncSettingsError, MappingError, LookupError, ValueError) as exc:
        return [Check("sync settings", False, str(exc), "correct settings.sync of the connection")]
    assert isinstance(flow, WooToExact)
    try:
        flow.refresh_master_data()
        problems = check_settings(flow.settings, flow.view().lookups())
    finally:
        flow.close()
    if not problems:
        return [Check("sync settings", True, "VAT rules, items and GL accounts exist in Exact")]
    return [Check(f"sync setting {p.where}", False, p.message, p.fix) for p in problems]
