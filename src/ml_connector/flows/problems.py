"""Mapping problems: what is wrong with which record, where, and how to fix it.

A document with problems is never posted; the sync glue parks it with the rendered message, and a replay
after the fix maps it again. Problems are collected per document so the merchant sees them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    record: str  # e.g. "WooCommerce order 23"
    where: str  # e.g. "line 2 'RealWoo T-shirt - L'"; "" for the record as a whole
    message: str
    fix: str
    kind: str = "mapping"  # machine-readable class, e.g. "missing_item", "vat_mapping"

    def __str__(self) -> str:
        place = f"{self.record}, {self.where}" if self.where else self.record
        return f"{place}: {self.message}. Fix: {self.fix}"


class MappingError(ValueError):
    """Raised when a record cannot be mapped; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(problem.kind for problem in self.problems)


def _field_description(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The `description` of the field at `loc`, walking nested models (list indexes are skipped)."""
    current: Any = model
    description = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return description
        field = fields[part]
        description = field.description
        annotation = field.annotation
        inner = [arg for arg in get_args(annotation) if isinstance(arg, type)] or [annotation]
        current = next((arg for arg in inner if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
    return description


def problems_from_validation(error: ValidationError, model: type[BaseModel], record: str) -> list[Problem]:
    """Pydantic errors as problems that name the setting and the fix (from the field's description)."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        setting = ".".join(str(part) for part in loc) or "(whole settings)"
        description = _field_description(model, loc)
        fix = f"set {setting} to {description}" if description else f"correct {setting}"
        problems.append(Problem(record, setting, str(item["msg"]), fix, kind="settings"))
    return problems
