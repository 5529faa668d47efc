"""Turning request bodies into typed rows, and rows into Exact's JSON (with `__metadata`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from .formats import ExactError, bad_request, date_ms, exact_date, iso_to_exact_date
from .schema import EntitySpec, entities

_INTEGER_EDM = {"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"}


@dataclass(frozen=True)
class Actor:
    """Who writes and when: the API user, or a person working in Exact's web UI (sandbox admin edits)."""

    user_id: str
    full_name: str
    now: float  # epoch seconds


def _conversion_error(name: str, edm: str) -> ExactError:
    return bad_request(
        "Error processing request stream. Error encountered in converting the value from request payload "
        f"for property '{name}' to type '{edm}', which is the property's type."
    )


def coerce(name: str, edm: str, value: Any) -> Any:
    """A posted JSON value as the row stores it (the form Exact answers with)."""
    if value is None:
        return None
    if edm == "Edm.String" or edm == "Edm.Binary":
        if isinstance(value, str):
            return value
    elif edm == "Edm.Guid":
        if isinstance(value, str):
            try:
                return str(uuid.UUID(value))
            except ValueError:
                pass
    elif edm in _INTEGER_EDM:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
    elif edm == "Edm.Double":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif edm == "Edm.Boolean":
        if isinstance(value, bool):
            return value
    elif edm == "Edm.DateTime" and isinstance(value, str):
        if date_ms(value) is not None:
            return value
        converted = iso_to_exact_date(value)
        if converted is not None:
            return converted
    raise _conversion_error(name, edm)


def parse_body(spec: EntitySpec, body: Any, method: str) -> dict[str, Any]:
    """Validate property names and types of a POST/PUT body; GET-only properties are ignored as Exact does."""
    if not isinstance(body, dict):
        raise bad_request(
            "Error processing request stream. The request should be a valid top-level resource object."
        )
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name == "__metadata":
            continue
        field = spec.by_name.get(name)
        if field is None:
            raise bad_request(
                f"Error processing request stream. The property name '{name}' specified for type "
                f"'{spec.type_name}' is not valid."
            )
        if field.read_only:
            continue
        if field.is_collection:
            if method != "POST" or not isinstance(value, list):
                raise bad_request(f"'{name}' must be a JSON array of line objects, posted with the header.")
            values[name] = value
            continue
        values[name] = coerce(name, field.edm, value)
    return values


@cache
def _blank_template(entity: str) -> dict[str, Any]:
    defaults = {"Edm.Boolean": False, "Edm.Byte": 0}
    return {field.name: defaults.get(field.edm) for field in entities()[entity].scalar_fields}


def blank_row(spec: EntitySpec, division: int) -> dict[str, Any]:
    """Every property present: flags False, bytes 0, the rest null (as Exact answers new records)."""
    row = dict(_blank_template(spec.name))
    if "Division" in row:
        row["Division"] = division
    return row


def stamp_created(row: dict[str, Any], actor: Actor) -> None:
    created = exact_date(actor.now)
    for name, value in (
        ("Created", created),
        ("Creator", actor.user_id),
        ("CreatorFullName", actor.full_name),
    ):
        if name in row:
            row[name] = value
    stamp_modified(row, actor)


def stamp_modified(row: dict[str, Any], actor: Actor) -> None:
    for name, value in (
        ("Modified", exact_date(actor.now)),
        ("Modifier", actor.user_id),
        ("ModifierFullName", actor.full_name),
    ):
        if name in row:
            row[name] = value


def entity_uri(base: str, division: int | None, spec: EntitySpec, key: Any) -> str:
    literal = f"guid'{key}'" if spec.edm(spec.key) == "Edm.Guid" else str(key)
    prefix = f"{base}/api/v1/{division}/" if division is not None else f"{base}/api/v1/"
    return f"{prefix}{spec.service_path}({literal})"


def metadata(
    base: str, division: int | None, spec: EntitySpec, key: Any, type_name: str | None = None
) -> dict[str, str]:
    return {"uri": entity_uri(base, division, spec, key), "type": type_name or spec.type_name}
