"""Entity definitions the sandbox serves: paths, keys, methods and typed fields.

The 19 documented entities come from `entities.json` (a compact copy of the reference field lists, taken
from Exact's REST reference pages). A few endpoints the flows need but that file does not cover
(financial TransactionLines, PrintedSalesInvoices, system/Divisions) are declared here from the picqer
client's copies of the same reference pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class FieldSpec:
    name: str
    edm: str  # "Edm.String", "Edm.Guid", ... or "Collection(X)" for embedded lines
    read_only: bool
    is_collection: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_collection", self.edm.startswith("Collection("))


@dataclass(frozen=True)
class EntitySpec:
    name: str  # entity set, e.g. "Accounts"
    service_path: str  # e.g. "crm/Accounts"
    key: str
    methods: frozenset[str]
    type_name: str  # __metadata type, e.g. "Exact.Web.Api.Models.Account"
    mandatory_on_post: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    webhook_topic: str | None = None
    by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)
    scalar_fields: tuple[FieldSpec, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({f.name: f for f in self.fields})
        object.__setattr__(self, "scalar_fields", tuple(f for f in self.fields if not f.is_collection))

    def edm(self, name: str) -> str | None:
        spec = self.by_name.get(name)
        return spec.edm if spec else None


# Singular model names for __metadata.type (Exact: "Exact.Web.Api.Models.<Singular>").
_SINGULAR = {
    "Accounts": "Account",
    "Contacts": "Contact",
    "Items": "Item",
    "SalesInvoices": "SalesInvoice",
    "SalesInvoiceLines": "SalesInvoiceLine",
    "SalesOrders": "SalesOrder",
    "SalesOrderLines": "SalesOrderLine",
    "GLAccounts": "GLAccount",
    "CostCenters": "Costcenter",
    "CostUnits": "Costunit",
    "Journals": "Journal",
    "VATCodes": "VATCode",
    "PaymentConditions": "PaymentCondition",
    "GeneralJournalEntries": "GeneralJournalEntry",
    "GeneralJournalEntryLines": "GeneralJournalEntryLine",
    "SalesEntries": "SalesEntry",
    "SalesEntryLines": "SalesEntryLine",
    "WebhookSubscriptions": "WebhookSubscription",
    "TransactionLines": "TransactionLine",
    "PrintedSalesInvoices": "PrintedSalesInvoice",
    "Divisions": "Division",
}


def singular(entity: str) -> str:
    return _SINGULAR[entity]


def _fields(spec: str) -> tuple[FieldSpec, ...]:
    """Parse 'Name:Type[:ro]' items separated by whitespace (compact form for the extra entities)."""
    result = []
    for item in spec.split():
        name, edm, *flags = item.split(":")
        result.append(FieldSpec(name, f"Edm.{edm}", read_only="ro" in flags))
    return tuple(result)


# financialtransaction/TransactionLines: picqer TransactionLine.php (a copy of Exact's reference). GET only.
_TRANSACTION_LINES = _fields(
    "ID:Guid Account:Guid AccountCode:String AccountName:String AmountDC:Double AmountFC:Double "
    "AmountVATBaseFC:Double AmountVATFC:Double CostCenter:String CostCenterDescription:String "
    "CostUnit:String CostUnitDescription:String Created:DateTime Creator:Guid CreatorFullName:String "
    "Currency:String Date:DateTime Description:String Division:Int32 DocumentNumber:Int32 DueDate:DateTime "
    "EntryID:Guid EntryNumber:Int32 ExchangeRate:Double FinancialPeriod:Int16 FinancialYear:Int16 "
    "GLAccount:Guid GLAccountCode:String GLAccountDescription:String InvoiceNumber:Int32 Item:Guid "
    "ItemCode:String ItemDescription:String JournalCode:String JournalDescription:String LineNumber:Int32 "
    "LineType:Int16 Modified:DateTime Modifier:Guid ModifierFullName:String Notes:String OrderNumber:Int32 "
    "PaymentReference:String Quantity:Double Status:Int16 Type:Int32 VATCode:String "
    "VATCodeDescription:String VATPercentage:Double VATType:String YourRef:String"
)
# salesinvoice/PrintedSalesInvoices: picqer PrintedSalesInvoice.php. POST only: processes an open invoice.
_PRINTED_SALES_INVOICES = _fields(
    "InvoiceID:Guid Division:Int32:ro Document:Guid:ro DocumentCreationError:String:ro "
    "DocumentCreationSuccess:String:ro DocumentLayout:Guid EmailCreationError:String:ro "
    "EmailCreationSuccess:String:ro EmailLayout:Guid ExtraText:String InvoiceDate:DateTime "
    "PostboxMessageCreationError:String:ro PostboxMessageCreationSuccess:String:ro PostboxSender:Guid "
    "ReportingPeriod:Int32 ReportingYear:Int32 SendEmailToCustomer:Boolean SenderEmailAddress:String "
    "SendInvoiceToCustomerPostbox:Boolean SendOutputBasedOnAccount:Boolean"
)
# system/Divisions: the divisions the user can access (picqer SystemDivision.php, reduced).
_DIVISIONS = _fields(
    "Code:Int32 Country:String Currency:String Current:Boolean Customer:Guid CustomerCode:String "
    "CustomerName:String Description:String DivisionMoveDate:DateTime HID:Int64 Main:Boolean Status:Int32"
)

_EXTRA = (
    ("TransactionLines", "financialtransaction/TransactionLines", "ID", ("GET",), _TRANSACTION_LINES),
    (
        "PrintedSalesInvoices",
        "salesinvoice/PrintedSalesInvoices",
        "InvoiceID",
        ("POST",),
        _PRINTED_SALES_INVOICES,
    ),
    ("Divisions", "system/Divisions", "Code", ("GET",), _DIVISIONS),
)


def _from_json(name: str, raw: dict[str, Any]) -> EntitySpec:
    fields = tuple(FieldSpec(n, t, ro) for n, t, ro in raw["fields"])
    type_name = "Exact.Web.Api.System.Me" if name == "Me" else f"Exact.Web.Api.Models.{singular(name)}"
    return EntitySpec(
        name=name,
        service_path=raw["service_path"],
        key=raw["key"],
        methods=frozenset(raw["methods"]),
        type_name=type_name,
        mandatory_on_post=tuple(raw["mandatory_on_post"]),
        fields=fields,
        webhook_topic=name if raw["webhooks"] and not name.endswith("Lines") else None,
    )


@cache
def entities() -> dict[str, EntitySpec]:
    """All entity specs by entity-set name."""
    text = resources.files(__package__).joinpath("entities.json").read_text(encoding="utf-8")
    raw = json.loads(text)["entities"]
    specs = {name: _from_json(name, entry) for name, entry in raw.items()}
    for name, path, key, methods, fields in _EXTRA:
        specs[name] = EntitySpec(
            name=name,
            service_path=path,
            key=key,
            methods=frozenset(methods),
            type_name=f"Exact.Web.Api.Models.{singular(name)}",
            mandatory_on_post=("InvoiceID",) if name == "PrintedSalesInvoices" else (),
            fields=fields,
        )
    return specs


@cache
def by_service_path() -> dict[str, EntitySpec]:
    """Entity specs by lower-cased service path (Exact matches paths case-insensitively)."""
    return {spec.service_path.lower(): spec for spec in entities().values()}


# Bulk and sync endpoints (exact-online.md §4), mapped onto the entity whose rows they serve.
BULK_PATHS = {
    "bulk/crm/accounts": "Accounts",
    "bulk/crm/contacts": "Contacts",
    "bulk/financial/glaccounts": "GLAccounts",
    "bulk/financial/transactionlines": "TransactionLines",
    "bulk/logistics/items": "Items",
    "bulk/salesinvoice/salesinvoices": "SalesInvoices",
    "bulk/salesinvoice/salesinvoicelines": "SalesInvoiceLines",
    "bulk/salesorder/salesorders": "SalesOrders",
    "bulk/salesorder/salesorderlines": "SalesOrderLines",
}
SYNC_PATHS = {
    "sync/crm/accounts": "Accounts",
    "sync/crm/contacts": "Contacts",
    "sync/financial/glaccounts": "GLAccounts",
    "sync/financial/transactionlines": "TransactionLines",
    "sync/logistics/items": "Items",
    "sync/salesinvoice/salesinvoices": "SalesInvoices",  # header and lines in one stream
    "sync/salesorder/salesorderheaders": "SalesOrders",
    "sync/salesorder/salesorderlines": "SalesOrderLines",
}
DELETED_PATH = "sync/deleted"

# EntityType codes in sync/Deleted (exact-online.md §4.3).
DELETED_ENTITY_TYPES = {
    "TransactionLines": 1,
    "Accounts": 2,
    "Contacts": 5,
    "GLAccounts": 7,
    "Items": 9,
    "SalesInvoices": 13,
    "SalesOrders": 32,
    "SalesOrderLines": 33,
}

# Header entity -> (lines entity, embedded property, foreign key on the line).
LINES = {
    "SalesInvoices": ("SalesInvoiceLines", "SalesInvoiceLines", "InvoiceID"),
    "SalesOrders": ("SalesOrderLines", "SalesOrderLines", "OrderID"),
    "GeneralJournalEntries": ("GeneralJournalEntryLines", "GeneralJournalEntryLines", "EntryID"),
    "SalesEntries": ("SalesEntryLines", "SalesEntryLines", "EntryID"),
}
LINE_PARENT = {lines: header for header, (lines, _, _) in LINES.items()}
# Entities answered from other state than a table: the user, the division list, the print action.
NOT_STORED = frozenset({"Me", "Divisions", "PrintedSalesInvoices"})
