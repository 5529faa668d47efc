"""Where each Exact entity set lives: service path, key, bulk and sync paths, deleted-record code, topic.

Paths per exact-online.md §3.1 and §4 (lowercase services; capitalised services for bulk and sync;
Exact's own odd casing `hrm/Costcenters`). EntityType codes for `sync/Deleted` per §4.3.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntitySet:
    name: str
    path: str  # relative to /api/v1/{division}/
    key: str
    bulk_path: str | None = None
    sync_path: str | None = None
    deleted_type: int | None = None  # EntityType in sync/Deleted
    writable: bool = True
    updatable: bool = True


ENTITY_SETS: dict[str, EntitySet] = {
    e.name: e
    for e in (
        EntitySet("Accounts", "crm/Accounts", "ID", "bulk/CRM/Accounts", "sync/CRM/Accounts", 2),
        EntitySet("Contacts", "crm/Contacts", "ID", "bulk/CRM/Contacts", "sync/CRM/Contacts", 5),
        EntitySet("Items", "logistics/Items", "ID", "bulk/Logistics/Items", "sync/Logistics/Items", 9),
        EntitySet(
            "SalesInvoices",
            "salesinvoice/SalesInvoices",
            "InvoiceID",
            "bulk/SalesInvoice/SalesInvoices",
            "sync/SalesInvoice/SalesInvoices",
            13,
        ),
        EntitySet(
            "SalesInvoiceLines", "salesinvoice/SalesInvoiceLines", "ID", "bulk/SalesInvoice/SalesInvoiceLines"
        ),
        EntitySet(
            "SalesOrders",
            "salesorder/SalesOrders",
            "OrderID",
            "bulk/SalesOrder/SalesOrders",
            "sync/SalesOrder/SalesOrderHeaders",
            32,
        ),
        EntitySet(
            "SalesOrderLines",
            "salesorder/SalesOrderLines",
            "ID",
            "bulk/SalesOrder/SalesOrderLines",
            "sync/SalesOrder/SalesOrderLines",
            33,
        ),
        EntitySet(
            "GLAccounts",
            "financial/GLAccounts",
            "ID",
            "bulk/Financial/GLAccounts",
            "sync/Financial/GLAccounts",
            7,
        ),
        EntitySet("CostCenters", "hrm/Costcenters", "ID"),
        EntitySet("CostUnits", "hrm/Costunits", "ID"),
        EntitySet("Journals", "financial/Journals", "ID"),
        EntitySet("VATCodes", "vat/VATCodes", "ID"),
        EntitySet("PaymentConditions", "cashflow/PaymentConditions", "ID", updatable=False),
        EntitySet(
            "GeneralJournalEntries", "generaljournalentry/GeneralJournalEntries", "EntryID", updatable=False
        ),
        EntitySet(
            "GeneralJournalEntryLines", "generaljournalentry/GeneralJournalEntryLines", "ID", updatable=False
        ),
        EntitySet("SalesEntries", "salesentry/SalesEntries", "EntryID"),
        EntitySet("WebhookSubscriptions", "webhooks/WebhookSubscriptions", "ID"),
        EntitySet("Divisions", "system/Divisions", "Code", writable=False, updatable=False),
    )
}

DELETED_PATH = "sync/Deleted"
ME_PATH = "current/Me"  # the one path without a division


def entity_set(name: str) -> EntitySet:
    try:
        return ENTITY_SETS[name]
    except KeyError:
        raise ValueError(
            f"unknown Exact entity set '{name}'; known: {', '.join(sorted(ENTITY_SETS))}"
        ) from None
