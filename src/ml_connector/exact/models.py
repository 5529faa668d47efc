"""Typed views of Exact entities: the fields the flows use plus those in the real samples.

Lean on purpose: unknown fields are kept (`extra="allow"`), every field is optional except keys,
and Exact's `/Date(ms)/` values (Amsterdam wall-clock time) become aware UTC datetimes. Padded codes
(`"02 "`, Account `Code`) are kept verbatim: they are what filters must match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ml_connector.exact.odata import parse_datetime


def _exact_datetime(value: Any) -> Any:
    return parse_datetime(value) if isinstance(value, str) else value


def _unwrap_results(value: Any) -> Any:
    # An expanded collection arrives as {"results": [...]}; a deferred one as {"__deferred": {...}}.
    if isinstance(value, dict):
        return value.get("results", [])
    return value


ExactDateTime = Annotated[datetime, BeforeValidator(_exact_datetime)]


class ExactModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    metadata: dict[str, Any] | None = Field(default=None, alias="__metadata", exclude=True)


class Account(ExactModel):
    ID: str
    Code: str | None = None
    Name: str | None = None
    SearchCode: str | None = None
    Status: str | None = None
    Email: str | None = None
    Phone: str | None = None
    AddressLine1: str | None = None
    AddressLine2: str | None = None
    Postcode: str | None = None
    City: str | None = None
    Country: str | None = None
    VATNumber: str | None = None
    Language: str | None = None
    SalesVATCode: str | None = None
    PaymentConditionSales: str | None = None
    Blocked: bool | None = None
    Created: ExactDateTime | None = None
    Modified: ExactDateTime | None = None


class Contact(ExactModel):
    ID: str
    Account: str | None = None
    FirstName: str | None = None
    LastName: str | None = None
    Email: str | None = None
    Phone: str | None = None


class Item(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None
    IsSalesItem: bool | None = None
    IsStockItem: bool | None = None
    SalesVatCode: str | None = None
    Unit: str | None = None
    ItemGroup: str | None = None
    GLRevenue: str | None = None
    Barcode: str | None = None
    StartDate: ExactDateTime | None = None
    EndDate: ExactDateTime | None = None
    Modified: ExactDateTime | None = None


class SalesInvoiceLine(ExactModel):
    ID: str | None = None
    InvoiceID: str | None = None
    LineNumber: int | None = None
    Item: str | None = None
    Description: str | None = None
    Quantity: float | None = None
    UnitPrice: float | None = None
    NetPrice: float | None = None
    Discount: float | None = None
    AmountFC: float | None = None
    VATAmountFC: float | None = None
    VATCode: str | None = None
    VATPercentage: float | None = None
    GLAccount: str | None = None
    CostCenter: str | None = None
    CostUnit: str | None = None


class SalesInvoice(ExactModel):
    InvoiceID: str
    InvoiceNumber: int | None = None
    OrderNumber: int | None = None
    YourRef: str | None = None
    Journal: str | None = None
    OrderedBy: str | None = None
    InvoiceTo: str | None = None
    DeliverTo: str | None = None
    Currency: str | None = None
    Description: str | None = None
    PaymentCondition: str | None = None
    Status: int | None = None
    Type: int | None = None
    AmountFC: float | None = None
    AmountDC: float | None = None
    VATAmountFC: float | None = None
    OrderDate: ExactDateTime | None = None
    InvoiceDate: ExactDateTime | None = None
    DueDate: ExactDateTime | None = None
    Modified: ExactDateTime | None = None
    SalesInvoiceLines: Annotated[list[SalesInvoiceLine], BeforeValidator(_unwrap_results)] = []


class SalesOrderLine(ExactModel):
    ID: str | None = None
    OrderID: str | None = None
    Item: str | None = None
    Description: str | None = None
    Quantity: float | None = None
    UnitPrice: float | None = None
    NetPrice: float | None = None
    Discount: float | None = None
    AmountFC: float | None = None
    VATCode: str | None = None
    CostCenter: str | None = None
    CostUnit: str | None = None


class SalesOrder(ExactModel):
    OrderID: str
    OrderNumber: int | None = None
    YourRef: str | None = None
    OrderedBy: str | None = None
    InvoiceTo: str | None = None
    DeliverTo: str | None = None
    Currency: str | None = None
    Description: str | None = None
    PaymentCondition: str | None = None
    Status: int | None = None
    AmountFC: float | None = None
    OrderDate: ExactDateTime | None = None
    DeliveryDate: ExactDateTime | None = None
    Modified: ExactDateTime | None = None
    SalesOrderLines: Annotated[list[SalesOrderLine], BeforeValidator(_unwrap_results)] = []


class GLAccount(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None
    SearchCode: str | None = None
    BalanceSide: str | None = None
    BalanceType: str | None = None
    Type: int | None = None
    VATCode: str | None = None


class CostCenter(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None


class CostUnit(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None


class Journal(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None
    Type: int | None = None
    Currency: str | None = None


class VATCode(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None
    Percentage: float | None = None
    Type: str | None = None
    VATTransactionType: str | None = None
    IsBlocked: bool | None = None


class PaymentCondition(ExactModel):
    ID: str
    Code: str | None = None
    Description: str | None = None
    PaymentDays: int | None = None


class GeneralJournalEntryLine(ExactModel):
    ID: str | None = None
    EntryID: str | None = None
    GLAccount: str | None = None
    AmountFC: float | None = None
    Description: str | None = None
    VATCode: str | None = None
    CostCenter: str | None = None
    CostUnit: str | None = None
    Date: ExactDateTime | None = None


class GeneralJournalEntry(ExactModel):
    EntryID: str
    EntryNumber: int | None = None
    JournalCode: str | None = None
    Currency: str | None = None
    FinancialYear: int | None = None
    FinancialPeriod: int | None = None
    Status: int | None = None
    GeneralJournalEntryLines: Annotated[list[GeneralJournalEntryLine], BeforeValidator(_unwrap_results)] = []


class WebhookSubscription(ExactModel):
    ID: str
    CallbackURL: str | None = None
    Topic: str | None = None
    Division: int | None = None
    ClientID: str | None = None
    Created: ExactDateTime | None = None


class Me(ExactModel):
    UserID: str
    CurrentDivision: int | None = None
    FullName: str | None = None
    UserName: str | None = None
    Email: str | None = None
    LanguageCode: str | None = None


class DeletedRecord(ExactModel):
    Timestamp: int
    EntityKey: str
    EntityType: int
    ID: str | None = None
    Division: int | None = None
    DeletedDate: ExactDateTime | None = None


MODELS: dict[str, type[ExactModel]] = {
    "Accounts": Account,
    "Contacts": Contact,
    "Items": Item,
    "SalesInvoices": SalesInvoice,
    "SalesInvoiceLines": SalesInvoiceLine,
    "SalesOrders": SalesOrder,
    "SalesOrderLines": SalesOrderLine,
    "GLAccounts": GLAccount,
    "CostCenters": CostCenter,
    "CostUnits": CostUnit,
    "Journals": Journal,
    "VATCodes": VATCode,
    "PaymentConditions": PaymentCondition,
    "GeneralJournalEntries": GeneralJournalEntry,
    "GeneralJournalEntryLines": GeneralJournalEntryLine,
    "WebhookSubscriptions": WebhookSubscription,
}
