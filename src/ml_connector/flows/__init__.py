"""Pure mapping and decision layer between the shops and Exact Online.

Nothing here does I/O: functions take typed source records, connection settings and lookups of Exact
master data (passed in by the sync glue) and return Exact payload drafts or decisions. Modules at this
level are shop-neutral and shared by the WooCommerce and Adobe Commerce flows:

- `problems`: per-record mapping problems that name the record, the place and the fix;
- `money`: Decimal rounding to cents and cent-exact allocation;
- `fingerprint`: content hashes over the accounting-relevant fields of a record;
- `vat`: shop tax rate -> Exact VAT code mapping, its validation against Exact's VATCodes, reverse charge;
- `exact_documents`: SalesInvoice / credit note / Item drafts in Exact's field names, code -> ID resolution;
- `accounts`: customer master data -> Account drafts, the match policy, and two-way sync without ping-pong;
- `reconcile`: comparison of expected documents with Exact's invoices and credit notes, CSV/JSON output.

Shop-specific mapping lives in sub-packages (`woocommerce`, `adobe_commerce`, `gl_mapping`).
"""
