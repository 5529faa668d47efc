"""The token manager: one valid access token per connection, refreshed by exactly one caller at a time.

Rules (exact-online.md §1.5-1.7, design-notes.md §5):
- refresh only in the token's last 30 s, or after a 401; never within 570 s of the previous token call;
- every refresh returns a new refresh token and kills the old one: the new pair is committed in the
  same transaction that held the lock, before the access token is handed out;
- refreshes are serialized across threads (a lock) and processes (the OAuthToken row: SELECT .. FOR
  UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite); the row is re-read after taking the lock, so a
  waiter uses the pair another process just stored instead of spending its dead refresh token;
- a dead chain (reused, expired, invalid_grant) marks the connection `needs_reauthorization`;
- a guard of 200 token calls per day; a warning when the refresh token is older than 25 days.
Fast path: a cached token is returned without touching the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.exact.errors import SYSTEM, NeedsReauthorizationError, TokenCallRefusedError
from ml_connector.exact.oauth import OAuthClient, TokenEndpointError, TokenPair
from ml_connector.http.errors import AuthError, TransientError
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.secrets import fingerprint
from ml_connector.store.connections import set_status
from ml_connector.store.db import Database
from ml_connector.store.models import Connection, ConnectionStatus, OAuthToken
from ml_connector.vault import Vault

log = structlog.get_logger(__name__)

REFRESH_WINDOW = timedelta(seconds=30)  # Exact accepts a refresh only in the token's last 30 s
# Exact counts 570 s from when IT issued the previous token, which is after we sent that request; we count
# from when its answer arrived, plus a little for clock skew between us and Exact.
MIN_TOKEN_INTERVAL = timedelta(seconds=570)
CLOCK_SKEW_MARGIN = timedelta(seconds=2)
REFRESH_TOKEN_WARN_AGE = timedelta(days=25)  # Exact kills refresh tokens unused for 30 days
DAILY_TOKEN_CALL_CAP = 200
TOO_EARLY_WAIT = 30.0  # seconds before asking again after "access_token not expired"


@dataclass(frozen=True)
class AccessToken:
    value: SecretStr
    expires_at: datetime

    def fresh(self, now: datetime) -> bool:
        return now < self.expires_at - REFRESH_WINDOW


def store_pair(row: OAuthToken, vault: Vault, tokens: TokenPair, sent_at: datetime) -> None:
    """Write a newly issued pair into the row (the caller's transaction commits it).

    Lifetimes count from when the request was sent: the earliest moment Exact can have issued the pair.
    """
    row.access_token_ciphertext = vault.encrypt(tokens.access_token.get_secret_value())
    row.refresh_token_ciphertext = vault.encrypt(tokens.refresh_token.get_secret_value())
    row.key_id = vault.primary_key_id
    row.access_expires_at = sent_at + timedelta(seconds=tokens.expires_in)
    row.refresh_issued_at = sent_at
    row.version = (row.version or 0) + 1


def count_token_call(row: OAuthToken, answered_at: datetime) -> None:
    """Record a token call that reached Exact; the 570 s rule counts from its answer (latest issue time)."""
    day = answered_at.date().isoformat()
    row.token_calls_today = (row.token_calls_today if row.token_calls_day == day else 0) + 1
    row.token_calls_day = day
    row.last_token_call_at = answered_at


def next_call_allowed_at(row: OAuthToken) -> datetime | None:
    if row.last_token_call_at is None:
        return None
    return row.last_token_call_at + MIN_TOKEN_INTERVAL + CLOCK_SKEW_MARGIN


def calls_today(row: OAuthToken, now: datetime) -> int:
    return row.token_calls_today if row.token_calls_day == now.date().isoformat() else 0


def refresh_token_age(row: OAuthToken, now: datetime) -> timedelta | None:
    return now - row.refresh_issued_at if row.refresh_issued_at else None


def lock_token_row(session: Session, connection_id: int) -> OAuthToken | None:
    # FOR UPDATE locks the row on PostgreSQL; on SQLite the session's BEGIN IMMEDIATE holds the lock.
    return session.scalar(
        select(OAuthToken).where(OAuthToken.connection_id == connection_id).with_for_update()
    )


class TokenManager:
    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        connection_id: int,
        connection_name: str,
        oauth: OAuthClient,
        clock: Clock | None = None,
        daily_token_call_cap: int = DAILY_TOKEN_CALL_CAP,
    ) -> None:
        self._db = db
        self._vault = vault
        self._connection_id = connection_id
        self._name = connection_name
        self._oauth = oauth
        self._clock = clock or SystemClock()
        self._cap = daily_token_call_cap
        self._lock = threading.Lock()
        self._cached: AccessToken | None = None
        # Until then a token in its last 30 s stays in use: a new one may not be requested yet.
        self._hold_until: datetime | None = None
        self.refreshes = 0  # token calls made by this manager (diagnostics and tests)

    def access_token(self) -> SecretStr:
        cached, hold_until, now = self._cached, self._hold_until, self._now()
        if cached is not None and (cached.fresh(now) or (hold_until is not None and now < hold_until)):
            return cached.value
        with self._lock:
            return self._obtain(rejected=None)

    def after_unauthorized(self, rejected: SecretStr) -> SecretStr:
        """A call with `rejected` got 401: use a newer stored token, or refresh now (a 401 allows it)."""
        with self._lock:
            return self._obtain(rejected=rejected)

    # -------------------------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return utc_datetime(self._clock)

    def _decode(self, row: OAuthToken) -> AccessToken | None:
        if row.access_token_ciphertext is None or row.access_expires_at is None:
            return None
        value = self._vault.decrypt(row.access_token_ciphertext, f"access token of connection '{self._name}'")
        return AccessToken(value, row.access_expires_at)

    def _usable(self, token: AccessToken | None, rejected: SecretStr | None, now: datetime) -> bool:
        if token is None:
            return False
        if rejected is not None:
            # After a 401 any other token is worth a try, as long as it has not expired.
            return token.value.get_secret_value() != rejected.get_secret_value() and now < token.expires_at
        return token.fresh(now)

    def _obtain(self, rejected: SecretStr | None) -> SecretStr:
        now = self._now()
        if self._usable(self._cached, rejected, now):
            assert self._cached is not None
            return self._cached.value
        with self._db.session() as session:  # unlocked look first: another process may have refreshed already
            row = session.get(OAuthToken, self._connection_id)
            stored = self._decode(row) if row is not None else None
        if self._usable(stored, rejected, now):
            assert stored is not None
            self._cached = stored
            return stored.value
        return self._refresh(rejected)

    def _refresh(self, rejected: SecretStr | None) -> SecretStr:
        failure: Exception | None = None
        issued: AccessToken | None = None
        with self._db.locked_session() as session:
            row = lock_token_row(session, self._connection_id)
            conn = session.get(Connection, self._connection_id)
            if row is None or row.refresh_token_ciphertext is None or conn is None:
                raise NeedsReauthorizationError(
                    f"connection '{self._name}' has no Exact tokens; run `ml-connector connections authorize "
                    f"{self._name}`",
                    system=SYSTEM,
                )
            if conn.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
                raise NeedsReauthorizationError(
                    f"connection '{self._name}' needs to be authorized again ({conn.status_reason}); run "
                    f"`ml-connector connections authorize {self._name}`",
                    system=SYSTEM,
                )
            now = self._now()
            stored = self._decode(row)
            if self._usable(stored, rejected, now):  # refreshed by someone else while we waited for the lock
                assert stored is not None
                self._cached = stored
                return stored.value
            allowed_at = next_call_allowed_at(row)
            if allowed_at is not None and stored is not None:
                # Once the token has expired by our own (early) reckoning, Exact's 570 s have passed too:
                # the answer to the previous token call took less than our 30 s timeout.
                allowed_at = min(allowed_at, stored.expires_at)
            if allowed_at is not None and now < allowed_at:
                if rejected is None and stored is not None:
                    self._cached, self._hold_until = stored, allowed_at
                    return stored.value
                raise self._too_soon(allowed_at, now)
            self._check_daily_cap(row, now)
            age = refresh_token_age(row, now)
            if age is not None and age > REFRESH_TOKEN_WARN_AGE:
                log.warning("exact.refresh_token_old", connection=self._name, age_days=age.days)
            refresh_token = self._vault.decrypt(
                row.refresh_token_ciphertext, f"refresh token of connection '{self._name}'"
            )
            sent_at = now
            try:
                tokens = self._oauth.refresh(refresh_token)
            except httpx.TransportError as exc:
                # Nothing recorded: the call may not have reached Exact; if it did, the next try reports it.
                raise TransientError(
                    f"Exact's token endpoint is not reachable ({type(exc).__name__})", system=SYSTEM
                ) from exc
            except TokenEndpointError as exc:
                now = self._now()
                count_token_call(row, now)
                self.refreshes += 1
                if exc.tokens is not None:  # a refused refresh may still carry a new pair: keep it
                    store_pair(row, self._vault, exc.tokens, sent_at)
                    issued = AccessToken(
                        exc.tokens.access_token, sent_at + timedelta(seconds=exc.tokens.expires_in)
                    )
                else:
                    failure = self._classify(exc, session, conn, stored)
                    if failure is None and stored is not None:
                        # Exact holds the token valid (even when our clock says expired: skew); ask
                        # again after TOO_EARLY_WAIT at the soonest, a 401 meanwhile allows it at once
                        hold = max(stored.expires_at, now + timedelta(seconds=TOO_EARLY_WAIT))
                        self._cached, self._hold_until = stored, hold
                        return stored.value
            else:
                count_token_call(row, self._now())
                store_pair(row, self._vault, tokens, sent_at)
                issued = AccessToken(tokens.access_token, sent_at + timedelta(seconds=tokens.expires_in))
                self.refreshes += 1
                log.info(
                    "exact.token_refreshed",
                    connection=self._name,
                    version=row.version,
                    refresh_token=fingerprint(tokens.refresh_token),
                )
        # The block has committed: only now may the new access token be used (its refresh token is safe).
        if failure is not None:
            raise failure  # the counters and the connection status were committed with it
        assert issued is not None
        self._cached, self._hold_until = issued, None
        return issued.value

    def _too_soon(self, allowed_at: datetime, now: datetime) -> TokenCallRefusedError:
        wait = (allowed_at - now).total_seconds()
        return TokenCallRefusedError(
            f"connection '{self._name}' needs a new Exact token, but Exact allows one token call per 570 s: "
            f"the next is possible in {wait:.0f} s; retrying later",
            system=SYSTEM,
            retry_after=wait,
        )

    def _check_daily_cap(self, row: OAuthToken, now: datetime) -> None:
        if calls_today(row, now) >= self._cap:
            raise TokenCallRefusedError(
                f"connection '{self._name}' made {self._cap} token calls today (Exact's daily cap); "
                "calls resume after 00:00 UTC. Check for another program using the same Exact app and user.",
                system=SYSTEM,
                retry_after=(
                    datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo) - now
                ).total_seconds(),
            )

    def _classify(
        self,
        exc: TokenEndpointError,
        session: Session,
        conn: Connection,
        stored: AccessToken | None,
    ) -> Exception | None:
        """What a refused refresh means; None when the current access token simply stays in use."""
        if exc.too_early:
            if (
                stored is not None
            ):  # "access_token not expired": by Exact's clock, which is the one that counts
                return None
            return TokenCallRefusedError(
                f"Exact refused a new token for connection '{self._name}' as too early; retrying in "
                f"{TOO_EARLY_WAIT:.0f} s",
                system=SYSTEM,
                retry_after=TOO_EARLY_WAIT,
            )
        if exc.chain_dead:
            reason = (
                f"Exact refused the stored refresh token ({exc.description or exc.error}); "
                f"authorize again with `ml-connector connections authorize {conn.name}`"
            )
            set_status(session, conn, ConnectionStatus.NEEDS_REAUTHORIZATION, reason)
            log.error("exact.needs_reauthorization", connection=conn.name, error=exc.error)
            return NeedsReauthorizationError(reason, system=SYSTEM, status=exc.status)
        return AuthError(
            f"Exact's token endpoint refused connection '{conn.name}': {exc}",
            system=SYSTEM,
            status=exc.status,
        )
