"""Store-wide switches that make the sandbox behave like a particular real store or host."""

from __future__ import annotations

from dataclasses import dataclass


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass
class StoreSettings:
    wc_version: str = "7.9.0"
    wp_version: str = "6.1.9"
    # The real store ignores Basic and query-string credentials over plain HTTP. A loopback sandbox serves
    # plain HTTP, so by default it treats requests as HTTPS for them; False reproduces a plain-HTTP store.
    basic_over_http: bool = True
    # Simulates hosts that drop the Authorization header before PHP sees it ("works in Postman, 401 in code").
    strip_authorization: bool = False
    # Plain permalinks: /wp-json/ does not route (only ?rest_route=/... does).
    pretty_permalinks: bool = True
    # Seconds before a queued webhook delivery runs (the real store waits for WP-Cron/Action Scheduler).
    webhook_delay: float = 0.0
    # Filter woocommerce_max_webhook_delivery_failures: the webhook is disabled when failures > this.
    max_webhook_failures: int = 5

    @property
    def supports_modified_filters(self) -> bool:
        """`modified_after`/`modified_before` arrived in WooCommerce 5.8; older stores ignore them."""
        return version_tuple(self.wc_version) >= (5, 8)
