"""Adobe's published Swagger 2.0 specs, converted to OpenAPI 3.0 for openapi-core (which reads only 3.x).

Swagger 2.0 has no `nullable`, yet Magento sends null for unset fields (the real order sample does), so
every typed schema is made nullable. Only the operations the client uses are kept, with the definitions
they reach. Every definition gets `additionalProperties: false`, so a sandbox field the spec does not
document fails validation too (the real samples pass this strict form).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.shared_data import SHARED

SAMPLES = SHARED / "adobe-samples"
ADMIN_SPEC = SAMPLES / "admin-schema-2.4.9.yaml"
ACCS_SPEC = SAMPLES / "accs-schema.yaml"
OPERATIONS = [
    "/V1/orders",
    "/V1/orders/{id}",
    "/V1/invoices",
    "/V1/invoices/{id}",
    "/V1/creditmemos",
    "/V1/creditmemo/{id}",
    "/V1/customers/search",
    "/V1/products",
    "/V1/categories/list",
    "/V1/store/storeConfigs",
]


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v) for k, v in node.items() if k != "xml"}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace("#/definitions/", "#/components/schemas/")
        elif isinstance(out.get("type"), str):
            out["nullable"] = True  # Magento emits null for unset fields; Swagger 2.0 cannot say so
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "object" and "properties" in schema:
        schema = {**schema, "additionalProperties": False}
    return schema


def load(path: Path) -> OpenAPI:
    swagger = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    paths: dict[str, Any] = {}
    used: set[str] = set()
    for name in OPERATIONS:
        operation = swagger["paths"][name]["get"]
        _refs(operation, used)
        parameters = [
            {
                "name": p["name"],
                "in": p["in"],
                "required": p.get("required", p["in"] == "path"),
                "schema": {k: p[k] for k in ("type", "items") if k in p},
            }
            for p in operation.get("parameters", [])
        ]
        responses = {
            code: {
                "description": r.get("description", ""),
                "content": {"application/json": {"schema": _rewrite(r["schema"])}},
            }
            for code, r in operation["responses"].items()
        }
        paths[name] = {
            "get": {"operationId": operation["operationId"], "parameters": parameters, "responses": responses}
        }
    todo, schemas = list(used), {}
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        definition = swagger["definitions"][name]
        schemas[name] = _strict(_rewrite(definition))
        more: set[str] = set()
        _refs(definition, more)
        todo += [m for m in more if m not in schemas]
    document = {
        "openapi": "3.0.3",
        "info": {"title": swagger["info"]["title"], "version": swagger["info"]["version"]},
        "servers": [{"url": "http://sandbox"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return OpenAPI.from_dict(document)


def validate(spec: OpenAPI, path: str, status: int, body: Any, path_pattern: str | None = None) -> None:
    """Raise when `body` (the answer to GET `path`) is not what the spec documents for `status`."""
    request = MockRequest("http://sandbox", "get", path, path_pattern=path_pattern)
    response = MockResponse(json.dumps(body).encode(), status_code=status)
    errors = list(spec.iter_response_errors(request, response))
    if errors:
        details = [str(e) for err in errors for e in getattr(err, "schema_errors", [err])][:10]
        raise AssertionError(f"GET {path} -> {status} does not match the spec: {details}")
