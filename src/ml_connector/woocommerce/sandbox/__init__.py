"""A stateful WooCommerce 7.9 store simulator (REST v3, OAuth1/Basic auth, webhooks), moto-style."""

from .app import WooSandbox, create_app, serve
from .settings import StoreSettings

__all__ = ["StoreSettings", "WooSandbox", "create_app", "serve"]
