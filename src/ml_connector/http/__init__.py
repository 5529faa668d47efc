"""HTTP pieces shared by the Exact, WooCommerce and Adobe Commerce clients."""
