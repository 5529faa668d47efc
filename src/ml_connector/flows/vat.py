"""VAT: shop tax rates -> Exact VAT codes, validated against Exact's VATCodes; reverse charge.

The mapping is required: a tax rate without a rule stops the document with a problem that names the rate
and the Exact codes that would fit (CommerceBird and Combidesk make the same mapping mandatory,
reference woocommerce.md §6.1). The shop's tax amounts are carried as they are; this module only picks
the code.

Rules match, most specific first: the shop's own rate identifier (WooCommerce tax rate id, Magento tax
rate code), then country + percentage, then percentage alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ml_connector.flows.problems import Problem

# EU member states by ISO 3166 code (Greece uses the VAT prefix EL, accepted too). The UK left on
# 2020-01-31; Northern Ireland (XI) is only EU territory for goods and is not treated as EU here.
EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GR", "HR", "HU",
     "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)  # fmt: skip
HUNDRED = Decimal(100)


def normalise_code(code: str) -> str:
    """Exact pads codes with spaces ("02 "); compare and configure them trimmed."""
    return code.strip()


@dataclass(frozen=True, slots=True)
class VatCode:
    """One Exact VAT code as cached from vat/VATCodes."""

    code: str
    description: str = ""
    percentage: Decimal | None = None  # a fraction as Exact gives it: 0.21
    blocked: bool = False

    @property
    def percent(self) -> Decimal | None:
        return None if self.percentage is None else (self.percentage * HUNDRED).normalize()


def vat_codes_from_exact(records: Iterable[Mapping[str, Any]]) -> dict[str, VatCode]:
    """Exact VATCodes records (Code, Description, Percentage, IsBlocked) keyed by trimmed code."""
    codes: dict[str, VatCode] = {}
    for record in records:
        code = normalise_code(str(record["Code"]))
        percentage = record.get("Percentage")
        codes[code] = VatCode(
            code=code,
            description=str(record.get("Description") or ""),
            percentage=None if percentage is None else Decimal(str(percentage)),
            blocked=bool(record.get("IsBlocked")),
        )
    return codes


class VatRule(BaseModel):
    """One mapping rule. At least `rate` or `percent` must be given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vat_code: str = Field(min_length=1, description='the Exact VAT code, e.g. "2"')
    rate: str | None = Field(default=None, description='the shop\'s tax rate id, e.g. "1" (WooCommerce)')
    percent: Decimal | None = Field(default=None, ge=0, le=100, description="the rate in percent, e.g. 21")
    country: str | None = Field(default=None, min_length=2, max_length=2, description="ISO country, e.g. NL")

    @field_validator("rate", mode="before")
    @classmethod
    def _rate_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("vat_code")
    @classmethod
    def _trim_code(cls, value: str) -> str:
        return normalise_code(value)

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @model_validator(mode="after")
    def _needs_a_key(self) -> VatRule:
        if self.rate is None and self.percent is None:
            raise ValueError(f"rule for VAT code '{self.vat_code}' matches nothing: give `rate` or `percent`")
        return self

    def describe(self) -> str:
        keys = [f"rate {self.rate}"] if self.rate is not None else []
        if self.percent is not None:
            keys.append(f"{self.percent.normalize()}%")
        if self.country:
            keys.append(self.country)
        return f"rule ({', '.join(keys)}) -> '{self.vat_code}'"


class VatSettings(BaseModel):
    """The VAT part of a connection's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[VatRule] = Field(min_length=1, description="shop tax rate -> Exact VAT code rules")
    reverse_charge_vat_code: str | None = Field(
        default=None, description="Exact code for intra-EU B2B sales with a VAT number (0%, reverse charge)"
    )
    no_tax_vat_code: str | None = Field(
        default=None, description="Exact code for lines the shop taxed with no rate at all (0% / exempt)"
    )
    shop_country: str = Field(default="NL", min_length=2, max_length=2, description="the shop's own country")

    @field_validator("reverse_charge_vat_code", "no_tax_vat_code")
    @classmethod
    def _trim_optional(cls, value: str | None) -> str | None:
        return None if value is None else normalise_code(value) or None

    @field_validator("shop_country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


@dataclass(frozen=True, slots=True)
class TaxRateInfo:
    """A shop tax rate as far as the mapping needs it."""

    rate: str
    label: str = ""
    percent: Decimal | None = None
    country: str | None = None

    def describe(self) -> str:
        parts = [f"tax rate {self.rate}"]
        details = [part for part in (self.label, self._percent_text(), self.country) if part]
        return f"{parts[0]} ({', '.join(details)})" if details else parts[0]

    def _percent_text(self) -> str:
        return "" if self.percent is None else f"{self.percent.normalize()}%"


class VatMapping:
    """Rules compiled into dictionaries once per connection: each lookup is O(1)."""

    __slots__ = ("_by_country_percent", "_by_percent", "_by_rate", "settings")

    def __init__(self, settings: VatSettings) -> None:
        self.settings = settings
        self._by_rate: dict[str, str] = {}
        self._by_country_percent: dict[tuple[str, Decimal], str] = {}
        self._by_percent: dict[Decimal, str] = {}
        for rule in settings.rules:
            if rule.rate is not None:
                self._by_rate.setdefault(rule.rate, rule.vat_code)
            elif rule.percent is not None and rule.country:
                self._by_country_percent.setdefault((rule.country, rule.percent.normalize()), rule.vat_code)
            elif rule.percent is not None:
                self._by_percent.setdefault(rule.percent.normalize(), rule.vat_code)

    def code_for(self, rate: TaxRateInfo) -> str | None:
        code = self._by_rate.get(rate.rate)
        if code is not None or rate.percent is None:
            return code
        percent = rate.percent.normalize()
        if rate.country:
            code = self._by_country_percent.get((rate.country.upper(), percent))
            if code is not None:
                return code
        return self._by_percent.get(percent)

    def uses_reverse_charge(self, customer_country: str | None, vat_number: str | None) -> bool:
        """Intra-EU B2B: a VAT number, an EU customer country other than the shop's, and a configured code."""
        if not self.settings.reverse_charge_vat_code or not vat_number or not customer_country:
            return False
        return is_intra_eu_b2b(customer_country, vat_number, self.settings.shop_country)


def is_intra_eu_b2b(customer_country: str, vat_number: str | None, shop_country: str) -> bool:
    country = customer_country.strip().upper()
    return (
        bool(vat_number and vat_number.strip())
        and country in EU_COUNTRIES
        and country != shop_country.upper()
    )


def candidates_text(percent: Decimal | None, available: Mapping[str, VatCode]) -> str:
    """Exact codes with the given percentage, for a fix hint."""
    if percent is None:
        return ""
    fitting = sorted(
        code.code for code in available.values() if not code.blocked and code.percent == percent.normalize()
    )
    return f" (Exact VAT codes with {percent.normalize()}%: {', '.join(fitting)})" if fitting else ""


def check_code(
    code: str, available: Mapping[str, VatCode], record: str, where: str, setting: str
) -> Problem | None:
    """A problem when an Exact VAT code is unknown or blocked, else None."""
    known = available.get(code)
    if known is None:
        return Problem(
            record,
            where,
            f"Exact has no VAT code '{code}'",
            f"correct {setting} to one of Exact's VAT codes "
            f"({', '.join(sorted(available)) or 'none cached'}) or refresh the master data",
            kind="vat_mapping",
        )
    if known.blocked:
        return Problem(
            record,
            where,
            f"Exact VAT code '{code}' ({known.description}) is blocked",
            f"unblock it in Exact or point {setting} at an active code",
            kind="vat_mapping",
        )
    return None


def validate_vat_settings(settings: VatSettings, available: Mapping[str, VatCode]) -> list[Problem]:
    """Check every configured code against Exact's VATCodes before anything is posted."""
    record = "connection settings"
    problems: list[Problem] = []
    for index, rule in enumerate(settings.rules):
        setting = f"vat.rules[{index}] {rule.describe()}"
        problem = check_code(rule.vat_code, available, record, setting, f"vat.rules[{index}].vat_code")
        if problem:
            problems.append(problem)
            continue
        exact_percent = available[rule.vat_code].percent
        if (
            rule.percent is not None
            and exact_percent is not None
            and exact_percent != rule.percent.normalize()
        ):
            problems.append(
                Problem(
                    record,
                    setting,
                    f"the rule is for {rule.percent.normalize()}% but Exact's code '{rule.vat_code}' is "
                    f"{exact_percent}%",
                    f"map it to a {rule.percent.normalize()}% code{candidates_text(rule.percent, available)}",
                    kind="vat_mapping",
                )
            )
    for name in ("reverse_charge_vat_code", "no_tax_vat_code"):
        code = getattr(settings, name)
        if code is None:
            continue
        problem = check_code(code, available, record, f"vat.{name}", f"vat.{name}")
        if problem:
            problems.append(problem)
        elif (available[code].percent or Decimal(0)) != 0:
            problems.append(
                Problem(
                    record,
                    f"vat.{name}",
                    f"Exact's code '{code}' is {available[code].percent}%, not 0%",
                    f"use a 0% code{candidates_text(Decimal(0), available)}",
                    kind="vat_mapping",
                )
            )
    return problems
