"""WooCommerce -> Exact Online: the WooCommerce-specific mapping and decisions (pure functions).

- `settings`: the connection settings of this flow (pydantic), validated once per connection;
- `refs`: deterministic external references (`YourRef`) for orders and refunds;
- `selection`: which orders to post, skip or flag as changed after posting; new refunds;
- `vat_numbers`: the customer's VAT number from the meta keys of the common VAT plugins;
- `invoices`: order -> SalesInvoice draft, refund -> credit note draft, items to create;
- `customers`: WooCommerce customers and guests <-> Exact Accounts;
- `reconcile`: the documents Exact should hold for a period's orders and refunds.
"""
