"""WooCommerce / WordPress REST error bodies: `{"code", "message", "data": {"status"}}`."""

from __future__ import annotations

from typing import Any


class WooError(Exception):
    def __init__(self, code: str, message: str, status: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.extra}}


def auth_error(message: str) -> WooError:
    return WooError("woocommerce_rest_authentication_error", message, 401)


def invalid_params(problems: dict[str, tuple[str, str]]) -> WooError:
    """WordPress's 400 for failed argument validation; `problems` maps param -> (detail code, message)."""
    return WooError(
        "rest_invalid_param",
        f"Invalid parameter(s): {', '.join(problems)}",
        400,
        {
            "params": {name: message for name, (_code, message) in problems.items()},
            "details": {
                name: {"code": code, "message": message, "data": None}
                for name, (code, message) in problems.items()
            },
        },
    )


NO_ROUTE = WooError("rest_no_route", "No route was found matching the URL and request method.", 404)

# Permission-check failures for a request without a valid key (401: no user is logged in).
_NOT_ALLOWED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
}


def not_allowed(action: str) -> WooError:
    code, message = _NOT_ALLOWED[action]
    return WooError(code, message, 401)
