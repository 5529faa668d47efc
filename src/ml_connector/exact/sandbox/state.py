"""The sandbox's whole in-memory state: app registration, user, divisions, tokens, limits, webhooks.

One re-entrant lock guards the tables; every write runs inside `write()`, which collects the changes and
hands the webhook notifications to the dispatcher after the lock is released.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ml_connector.sandbox_kit.clock import Clock
from ml_connector.secrets import secret

from .documents import Books, Change
from .formats import ExactError, event_time
from .limits import LimitSettings, RateLimiter
from .oauth import AppRegistration, OAuthServer
from .records import Actor, entity_uri
from .schema import NOT_STORED, entities
from .seed import seed_division
from .store import Division, Table
from .webhooks import Notification, WebhookDispatcher

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    user_id: str
    full_name: str
    user_name: str
    email: str


class SandboxState:
    def __init__(
        self,
        *,
        seed: int,
        clock: Clock,
        app: AppRegistration,
        limits: LimitSettings,
        webhook_retry_base: float = 0.5,
    ) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.clock = clock
        self.app = app
        self.lock = threading.RLock()
        self.user = User(_uuid(rng), "Sandra Sandbox", "sandra@sandbox.example", "sandra@sandbox.example")
        # Exact's web UI is used by a person too: edits made there carry another user.
        self.web_user = User(
            _uuid(rng), "Willem Webgebruiker", "willem@sandbox.example", "willem@sandbox.example"
        )
        numbers = rng.sample(range(100000, 999999), 4)
        self.current_division, *self.other_divisions, self.forbidden_division = numbers
        self.divisions: dict[int, Division] = {}
        names = ("Sandbox Webshop B.V.", "Sandbox Holding B.V.", "Sandbox Retail B.V.", "Someone Else B.V.")
        for number, name in zip(numbers, names, strict=True):
            tables = {n: Table(s) for n, s in entities().items() if n not in NOT_STORED}
            self.divisions[number] = Division(number, name, tables)
        self.accessible = frozenset(numbers[:-1])
        self.oauth = OAuthServer(app, self.user.user_id, clock)
        self.limiter = RateLimiter(clock, limits)
        self.webhooks = WebhookDispatcher(app.webhook_secret, retry_base=webhook_retry_base)
        self.base_url = "http://127.0.0.1"
        self.maintenance = False  # when set, API calls get Exact's HTML maintenance page with status 200
        for number in numbers:
            division_rng = random.Random(f"{seed}:{number}")
            with self.lock:
                seed_division(Books(self.divisions[number], self.actor(self.web_user)), division_rng)

    def seen_at(self, base_url: str) -> None:
        """The address clients reach the sandbox at: used in __metadata, __next and webhook endpoints."""
        self.base_url = base_url.rstrip("/")

    def actor(self, user: User | None = None) -> Actor:
        user = user or self.user
        return Actor(user.user_id, user.full_name, self.clock.time())

    def division(self, number: int) -> Division:
        """A division the API user may access; others answer 403 WrongDivision like Exact."""
        if number not in self.accessible:
            raise ExactError(403, "Forbidden - WrongDivision")
        return self.divisions[number]

    def write(self, number: int, fn: Callable[[Books], T], user: User | None = None) -> T:
        """Run a write under the lock, then notify webhook subscribers of what changed."""
        with self.lock:
            division = self.divisions[number]
            books = Books(division, self.actor(user))
            sequences = dict(division.sequences)
            try:
                result = fn(books)
            except ExactError:
                division.sequences = sequences  # a refused write uses up no numbers (no gaps in invoices)
                raise
            notifications = self._notifications(division, books.changes)
        self.webhooks.send(notifications)
        return result

    def _notifications(self, division: Division, changes: list[Change]) -> list[Notification]:
        if not changes:
            return []
        subscriptions = division.table("WebhookSubscriptions")
        seen: set[tuple[str, str, str]] = set()
        result = []
        now = event_time(self.clock.time())
        for change in changes:
            spec = entities()[change.entity]
            topic = spec.webhook_topic
            if topic is None or (topic, change.key, change.action) in seen:
                continue
            seen.add((topic, change.key, change.action))
            for key in subscriptions.lookup("Topic", topic) or ():
                subscription = subscriptions.rows[key]
                content: dict[str, Any] = {
                    "Topic": topic,
                    "ClientId": self.app.client_id,
                    "Division": division.number,
                    "Action": change.action,
                    "Key": change.key,
                    "ExactOnlineEndpoint": entity_uri(self.base_url, division.number, spec, change.key),
                    "EventCreatedOn": now,
                }
                result.append(Notification(subscription["CallbackURL"], content))
        return result

    def stats(self) -> dict[str, Any]:
        with self.lock:
            divisions = {
                str(number): {
                    "description": division.description,
                    "accessible": number in self.accessible,
                    "current": number == self.current_division,
                    "api_calls": division.api_calls,
                    "entities": division.counts(),
                    "deleted": len(division.deleted),
                    "rowversion": division.rowversion,
                }
                for number, division in self.divisions.items()
            }
        return {
            "divisions": divisions,
            "token_calls_today": self.oauth.token_calls_today(),
            "token_outcomes": dict(self.oauth.outcomes),
            "tokens_issued": self.oauth.issued,
            "live_refresh_tokens": self.oauth.live_refresh_tokens(),
            "rate_limited": self.limiter.refused,
            "webhooks": dict(self.webhooks.stats),
            "clock": self.clock.time(),
        }

    def me(self) -> dict[str, Any]:
        """The current/Me record (CurrentDivision is the division the user last opened in Exact)."""
        return {
            "UserID": self.user.user_id,
            "CurrentDivision": self.current_division,
            "AccountingDivision": self.current_division,
            "DivisionCustomer": None,
            "FullName": self.user.full_name,
            "FirstName": self.user.full_name.split()[0],
            "LastName": self.user.full_name.split()[-1],
            "UserName": self.user.user_name,
            "Email": self.user.email,
            "LanguageCode": "nl-NL",
            "Language": "NL",
            "Legislation": 1,
            "PictureUrl": f"{self.base_url}/docs/images/placeholder_contact_myeol.png",
            "ServerTime": event_time(self.clock.time()),
            "ServerUtcOffset": 1.0,
        }

    def division_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "Code": number,
                "Description": self.divisions[number].description,
                "Current": number == self.current_division,
                "Country": "NL ",
                "Currency": "EUR",
                "Status": 1,
                "Main": number == self.current_division,
                "HID": index + 1,
                "DivisionMoveDate": None,
            }
            for index, number in enumerate(sorted(self.accessible))
        ]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def registration(seed: int) -> AppRegistration:
    """Deterministic app credentials per seed (the sandbox's 'App Center')."""
    rng = random.Random(f"app:{seed}")
    return AppRegistration(
        client_id=_uuid(rng),
        client_secret=secret(f"sandbox-secret-{rng.getrandbits(96):024x}"),
        redirect_uri="http://127.0.0.1:8765/callback",
        webhook_secret=secret(f"sandbox-webhook-{rng.getrandbits(96):024x}"),
    )


__all__ = ["SandboxState", "User", "registration"]
