"""A stateful simulator of Exact Online (moto style), for tests, the demo and benchmarks.

`create_app()` builds a seeded sandbox; `serve()` runs it on 127.0.0.1 and prints one JSON line
(`base_url`, `client_id`, `client_secret`, `redirect_uri`, `division`, `webhook_secret`) when ready.

What it enforces (sources: exact-online.md and exact-samples/ in the project's reference pack):
- OAuth: `GET /api/oauth2/auth` auto-approves and redirects with `code` (and `state`); `POST
  /api/oauth2/token` with single-use 3-minute codes, 600 s access tokens, rotating single-use refresh
  tokens (reuse: 401 "Old refresh token used."), refresh-token expiry after 30 days, no refresh within
  570 s of the previous token (400 + `Reason: TooEarlyToRefreshTokens`), 200 token calls per day.
  Redirect URIs: the registered one or any loopback `http://127.0.0.1:<port>/...`.
- REST under `/api/v1/{division}/...` and `/api/v1/current/Me`: bearer token, `Accept:
  application/json` (406 otherwise), divisions the user may not use answer 403 "Forbidden - WrongDivision".
  Entities: crm/Accounts, crm/Contacts, logistics/Items, salesinvoice/SalesInvoices (+Lines,
  PrintedSalesInvoices), salesorder/SalesOrders (+Lines), salesentry/SalesEntries (+Lines),
  generaljournalentry/GeneralJournalEntries (+Lines), financial/GLAccounts, financial/Journals,
  hrm/Costcenters, hrm/Costunits, vat/VATCodes, cashflow/PaymentConditions,
  financialtransaction/TransactionLines (booked by processing invoices and posting entries),
  webhooks/WebhookSubscriptions, system/Divisions; bulk/... (1000 rows, `$select` required) and
  sync/... (`Timestamp gt N`, 1000 rows), sync/Deleted.
- OData: `$filter` (eq ne gt ge lt le and or not, parentheses, startswith, endswith, substringof, trim,
  tolower, toupper, length; guid/datetime/long literals), `$select`, `$expand` (lines), `$orderby`,
  `$top`, `$skip`, `$inlinecount=allpages`, `/$count`; 60 rows per page with an absolute `__next`.
- Limits: `X-RateLimit-*` headers, 60/minute and 5000/day per division by default, 429 with only the
  exhausted window's headers; 10 errors (400/401/403/404) per endpoint per hour block it for an hour.
- Webhooks: validation POST on subscribe, signed notifications on create/update/delete.
- Faults: `sandbox_kit.faults` rules, set by option or over `/_sandbox/faults`.

Choices where Exact's behaviour is not documented (kept explicit so they can be corrected):
- string comparison in `$filter` is case-insensitive and ignores trailing spaces (SQL Server);
- a key lookup returns the document lines inline (as the samples show), a collection only with `$expand`;
- `__count` is a string (OData v2 JSON); InvoiceNumber is assigned when the invoice is processed;
- mandatory-field and reference errors use Exact's error envelope with the sandbox's own wording;
- 200 token calls a day answer 400 `access_denied`; the error-block status defaults to 429;
- each authorization keeps its own refresh-token chain (Exact may keep one per user and app).

Helpers (not part of Exact, never rate limited):
- `GET  /_sandbox/info`: client id, redirect URI, current, accessible and forbidden divisions.
- `GET  /_sandbox/stats`: per division record counts, API calls, rowversion; token calls today and
  token outcomes; 429 count; webhook delivery counters; the sandbox clock.
- `POST /_sandbox/clock` `{"advance": seconds}`: move the sandbox clock on (GET reads it).
- `GET|POST /_sandbox/rate-limits`: read or change `enabled`, `minutely_limit`, `daily_limit`,
  `error_limit`, `error_block_seconds`, `error_block_status`.
- `GET  /_sandbox/ledger/{division}`: booked totals per GL account, cost center and cost unit.
- `GET|POST /_sandbox/maintenance` `{"enabled": true}`: API calls answer 200 with an HTML maintenance
  page, as Exact sometimes does (clients must check the Content-Type).
- `POST /_sandbox/webhooks/wait` `{"timeout": seconds}`: wait until queued notifications are delivered.
- `PUT|DELETE /_sandbox/edit/{division}/{Entity}/{key}`: change or delete a record as a user in
  Exact's web UI would (webhooks fire, Timestamp moves), e.g. `/_sandbox/edit/123456/Accounts/<guid>`.
- `POST /_sandbox/create/{division}/{Entity}`: create a record as such a user.
- `GET|POST|DELETE /_sandbox/faults`: fault rules (sandbox_kit).
"""

from __future__ import annotations

from typing import Any

from ml_connector.sandbox_kit.serve import serve_foreground

from .app import ExactSandbox, create_app


def serve(port: int, seed: int = 0, **options: Any) -> None:
    """Serve a sandbox on 127.0.0.1:`port` until interrupted; options go to `create_app`."""
    sandbox = create_app(seed=seed, **options)
    try:
        serve_foreground(sandbox.asgi, port, sandbox.info)
    finally:
        sandbox.close()


__all__ = ["ExactSandbox", "create_app", "serve"]
