"""Pieces every sandbox (Exact, WooCommerce, Adobe Commerce) shares: clock, fault injection, serving."""
