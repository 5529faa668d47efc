"""Create connections to running sandboxes exactly as a user would: stored, encrypted, authorized."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx

from ml_connector.app import App
from ml_connector.exact.authorize import authorize_with_code, code_from_redirect
from ml_connector.store.connections import add_connection
from ml_connector.store.models import ConnectionKind


def connect_exact(app: App, name: str, info: dict[str, Any]) -> int:
    """Add an Exact connection for a sandbox's `info` line and authorize it through the OAuth flow.

    The sandbox's consent page approves at once, so the browser step is one GET whose redirect carries
    the code; the rest (code exchange, division discovery, encrypted token storage) is the product's own.
    """
    with app.db.session() as session:
        add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.EXACT,
            base_url=info["base_url"],
            settings={"client_id": info["client_id"], "redirect_uri": info["redirect_uri"]},
            credentials={"client_secret": info["client_secret"], "webhook_secret": info["webhook_secret"]},
        )
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"],
            "response_type": "code",
            "state": state,
        }
    )
    consent = httpx.get(f"{info['base_url']}/api/oauth2/auth?{query}", follow_redirects=False, timeout=10)
    location = consent.headers.get("location")
    if consent.status_code not in (302, 303) or not location:
        raise RuntimeError(f"the Exact sandbox did not redirect with a code (HTTP {consent.status_code})")
    return authorize_with_code(app, name, code_from_redirect(location, state))
