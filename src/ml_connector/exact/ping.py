"""`ml-connector ping NAME` for Exact: host, token, division, and read rights on what the flows use."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from ml_connector.app import App
from ml_connector.checks import Check
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.exact.connection import ConnectionSetupError, new_http_client, site_url
from ml_connector.exact.entities import ME_PATH, entity_set
from ml_connector.exact.errors import WrongDivisionError
from ml_connector.exact.regions import API_PATH
from ml_connector.exact.tokens import REFRESH_TOKEN_WARN_AGE, refresh_token_age
from ml_connector.http.errors import AuthError, RejectedError, RemoteError
from ml_connector.store.models import Connection, ConnectionStatus, OAuthToken

READ_ENTITIES = (
    "Accounts",
    "Contacts",
    "Items",
    "SalesInvoices",
    "SalesOrders",
    "GLAccounts",
    "VATCodes",
    "Journals",
    "PaymentConditions",
    "CostCenters",
    "CostUnits",
    "GeneralJournalEntries",
)


def _reauthorize(conn: Connection) -> str:
    return f"run `ml-connector connections authorize {conn.name}`"


def _host_check(base_url: str) -> Check:
    with new_http_client() as http:
        try:
            response = http.get(
                f"{base_url}{API_PATH}/{ME_PATH}"
            )  # unauthenticated: any answer proves reachability
        except httpx.TransportError as exc:
            return Check(
                "exact host",
                False,
                f"{base_url} not reachable ({type(exc).__name__})",
                "check the network, the connection's region or base URL, and any proxy",
            )
    return Check("exact host", True, f"{base_url} answers (HTTP {response.status_code})")


def _token_age_check(app: App, conn: Connection) -> Check:
    with app.db.session() as session:
        row = session.get(OAuthToken, conn.id)
        age = refresh_token_age(row, datetime.now(UTC)) if row is not None else None
    if row is None or age is None:
        return Check("refresh token", False, "no tokens stored", _reauthorize(conn))
    if age > REFRESH_TOKEN_WARN_AGE:
        return Check(
            "refresh token",
            False,
            f"last renewed {age.days} days ago; Exact kills it after 30 days unused",
            "run a sync now (any call renews it) or re-authorize",
        )
    return Check("refresh token", True, f"renewed {age.days} days ago")


def run_checks(app: App, conn: Connection) -> list[Check]:
    try:
        base_url = site_url(conn)
    except ConnectionSetupError as exc:
        return [Check("exact settings", False, str(exc), "set the region or base URL of the connection")]
    checks = [_host_check(base_url)]
    if not checks[0].ok:
        return checks
    if conn.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        checks.append(
            Check("connection status", False, conn.status_reason or "needs authorization", _reauthorize(conn))
        )
        return checks
    checks.append(_token_age_check(app, conn))
    try:
        client = ExactClient.for_connection(app, conn.name)
    except (ConnectionSetupError, LookupError) as exc:
        return [*checks, Check("exact settings", False, str(exc), _reauthorize(conn))]
    try:
        return checks + _api_checks(client, conn)
    finally:
        client.close()


def _api_checks(client: ExactClient, conn: Connection) -> list[Check]:
    checks: list[Check] = []
    try:
        client.tokens.access_token()
        me = client.me()
    except AuthError as exc:
        return [Check("access token", False, str(exc), _reauthorize(conn))]
    except RemoteError as exc:
        return [Check("access token", False, str(exc), "try again later; if it persists, re-authorize")]
    checks.append(Check("access token", True, f"valid for user {me.UserName or me.UserID}"))
    results: list[Check] = []
    for entity in READ_ENTITIES:
        spec = entity_set(entity)
        try:
            client.first(entity, odata.Query(select=(spec.key,), top=1))
        except WrongDivisionError as exc:
            return [
                *checks,
                Check(
                    "division access",
                    False,
                    str(exc),
                    f"authorize with a user who can open division {client.division}, or choose "
                    f"another with `ml-connector connections authorize {conn.name} --division N`",
                ),
            ]
        except RejectedError as exc:
            results.append(
                Check(
                    f"read {entity}",
                    False,
                    exc.message,
                    f"give the Exact user read rights on {entity} ({spec.path})",
                )
            )
        except RemoteError as exc:
            results.append(Check(f"read {entity}", False, str(exc), "try again later"))
        else:
            results.append(Check(f"read {entity}", True, spec.path))
    current = (
        f" (Exact's current division is {me.CurrentDivision})"
        if me.CurrentDivision != client.division
        else ""
    )
    checks.append(Check("division access", True, f"division {client.division}{current}"))
    day = client.governor.day
    if day is not None and day.remaining is not None:
        checks.append(
            Check(
                "daily rate budget",
                day.remaining > 0,
                f"{day.remaining} of {day.limit} calls left today",
                None if day.remaining > 0 else "wait for the reset at 00:00 UTC",
            )
        )
    return checks + results
