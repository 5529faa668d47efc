"""`ml-connector mapping explain NAME --order 100000123`: which rule placed each line of an Adobe order.

Reads the order by its increment id and the shop context (categories, store views) the sync uses, then
renders the current mapping's explanation (`flows.adobe_commerce.render_order_explanation`).
"""

from __future__ import annotations

from contextlib import closing

from ml_connector.adobe_commerce.client import ORDERS, PRODUCTS, AdobeClient
from ml_connector.adobe_commerce.search import Filter, SearchCriteria
from ml_connector.app import App
from ml_connector.flows.adobe_commerce import ShopContext, render_order_explanation
from ml_connector.pipelines.adobe_settings import parse_sync_settings
from ml_connector.pipelines.gl_mappings import load_mapping
from ml_connector.store.connections import get_connection


class OrderNotFound(LookupError):
    pass


def explain_adobe_order(app: App, name: str, increment_id: str) -> str:
    with app.db.session() as session:
        conn = get_connection(session, name)
        _target, settings = parse_sync_settings(conn.settings, name)
        mapping = load_mapping(session, app.vault, conn)
    with closing(AdobeClient.for_connection(app, name)) as adobe:
        criteria = SearchCriteria().where(Filter("increment_id", increment_id)).page(1)
        page = adobe.search(ORDERS, criteria)
        if not page.items:
            raise OrderNotFound(
                f"Adobe Commerce connection '{name}' has no order with increment id {increment_id} "
                "(the number the admin shows, e.g. 000000123)"
            )
        shop = ShopContext.build(
            products=adobe.iterate(PRODUCTS, page_size=300),
            stores=adobe.store_configs(),
            vat=settings.vat_mapping(),
        )
    heading = f"mapping v{mapping.version.version} ({mapping.version.author})"
    return f"{heading}\n{render_order_explanation(mapping.doc, page.items[0], shop)}"
