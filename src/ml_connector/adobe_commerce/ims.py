"""Adobe IMS server-to-server tokens for Adobe Commerce as a Cloud Service (SaaS).

`grant_type=client_credentials` with the `commerce.accs` scope returns a bearer token of about 24 h and no
refresh token. The token is kept in the vault (OAuthToken row of the connection, access token only) so that
every process shares it, renewed one hour before it expires (at 23 h for a 24 h token) or after a 401.
Renewal happens under the row lock with a re-read inside it, so concurrent workers fetch one token, not N.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ml_connector.adobe_commerce.config import IMS_SCOPE
from ml_connector.adobe_commerce.errors import (
    SYSTEM,
    AdobeAuthError,
    error_for_response,
    error_for_transport,
    magento_message,
)
from ml_connector.http.errors import TransientError
from ml_connector.http.retry import retry_after_seconds
from ml_connector.http.tls import tls_context
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.secrets import secret
from ml_connector.store.db import Database
from ml_connector.store.models import OAuthToken
from ml_connector.vault import Vault

RENEW_BEFORE_EXPIRY = timedelta(hours=1)


class ImsTokenSource:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        connection_id: int,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._connection_id = connection_id
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._transport = transport  # tests route IMS calls to a sandbox; production uses the network
        self._clock = clock or SystemClock()

    def token(self) -> SecretStr:
        """A token valid for at least an hour more; fetched from IMS only when the stored one is too old."""
        with self._db.session() as session:
            current = self._usable(self._row(session))
        if current is not None:
            return current
        return self._renew(unless_newer_than=None)

    def invalidate(self, rejected: SecretStr) -> SecretStr:
        """Called after a 401 with `rejected`: fetch a new token unless another worker already did."""
        return self._renew(unless_newer_than=rejected)

    def _row(self, session: Session, lock: bool = False) -> OAuthToken | None:
        query = select(OAuthToken).where(OAuthToken.connection_id == self._connection_id)
        if lock and not self._db.is_sqlite:
            query = query.with_for_update()
        return session.scalar(query)

    def _decrypt(self, row: OAuthToken) -> SecretStr:
        assert row.access_token_ciphertext is not None
        return self._vault.decrypt(
            row.access_token_ciphertext, f"IMS token of connection {self._connection_id}"
        )

    def _usable(self, row: OAuthToken | None) -> SecretStr | None:
        if row is None or row.access_token_ciphertext is None or row.access_expires_at is None:
            return None
        if row.access_expires_at - utc_datetime(self._clock) <= RENEW_BEFORE_EXPIRY:
            return None
        return self._decrypt(row)

    def _ensure_row(self) -> None:
        """The row is the lock: create it first, or SELECT .. FOR UPDATE finds nothing to lock (PostgreSQL).

        A write-locked session on SQLite: a read transaction upgraded to a write fails at once when another
        writer is active, whatever the busy timeout."""
        try:
            with self._db.locked_session() as session:
                if self._row(session) is None:
                    session.add(OAuthToken(connection_id=self._connection_id, version=0, token_calls_today=0))
        except IntegrityError:
            pass  # another worker created it at the same moment

    def _renew(self, unless_newer_than: SecretStr | None) -> SecretStr:
        self._ensure_row()
        with self._db.locked_session() as session:
            row = self._row(session, lock=True)
            assert row is not None  # created above; rows go only with their connection
            current = self._usable(row)
            if current is not None and (
                unless_newer_than is None
                or current.get_secret_value() != unless_newer_than.get_secret_value()
            ):
                return current  # someone else renewed while we waited for the lock
            token, expires_in = self._fetch()
            now = utc_datetime(self._clock)
            row.access_token_ciphertext = self._vault.encrypt(token.get_secret_value())
            row.refresh_token_ciphertext = None
            row.key_id = self._vault.primary_key_id
            row.access_expires_at = now + timedelta(seconds=expires_in)
            row.last_token_call_at = now
            today = now.date().isoformat()
            row.token_calls_today = (row.token_calls_today or 0) + 1 if row.token_calls_day == today else 1
            row.token_calls_day = today
            row.version = (row.version or 0) + 1
            return token

    def _fetch(self) -> tuple[SecretStr, int]:
        endpoint = f"POST {self._token_url}"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "scope": IMS_SCOPE,
        }
        try:
            # A token call happens about once a day: a short-lived client is simpler than sharing one.
            with httpx.Client(
                transport=self._transport, verify=tls_context(), timeout=httpx.Timeout(30, connect=10)
            ) as http:
                response = http.post(self._token_url, data=form)
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, "GET", endpoint) from None  # a token call is safe to repeat
        if response.status_code in (400, 401):
            raise AdobeAuthError(
                f"Adobe IMS refused the client credentials: "
                f"{error_for_response(response, endpoint).message}; "
                "check client_id and ims_client_secret in the Adobe Developer Console project",
                system=SYSTEM,
                endpoint=endpoint,
                status=response.status_code,
            )
        if response.status_code == 429 or response.status_code >= 500:
            # Nothing was granted: asking again later is safe (a token call is not a write to undo).
            raise TransientError(
                f"Adobe IMS is unavailable: {magento_message(response)}",
                retry_after=retry_after_seconds(response),
                system=SYSTEM,
                endpoint=endpoint,
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_for_response(response, endpoint)
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AdobeAuthError(
                "Adobe IMS answered without an access_token", system=SYSTEM, endpoint=endpoint
            )
        return secret(token), int(body.get("expires_in", 86399))
