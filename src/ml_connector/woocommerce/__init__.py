"""WooCommerce: REST v3 client, webhook handling and a stateful sandbox store."""
