"""Authentication as Magento and Adobe IMS do it.

OAuth1 follows Magento\\Framework\\Oauth\\Oauth::validateAccessTokenRequest, in its order and with its
messages: version, required parameters, token length (32), signature method (HMAC-SHA1 and HMAC-SHA256),
timestamp and nonce (replay -> "The nonce is already being used ..."), token, signature. Magento itself only
refuses timestamps more than 600 s in the future and forgets nonces when its cleanup cron runs; the sandbox
also refuses timestamps older than `stale_after` (default 2 h, the nonce retention), so a replay cannot
slip through after the nonce is forgotten.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from authlib.oauth1.rfc5849.signature import generate_signature_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.wrapper import OAuth1Request

from ml_connector.http.oauth1 import hmac_sha256_signature
from ml_connector.sandbox_kit.clock import Clock

TIME_DEVIATION = 600  # Magento\Integration\Model\Oauth\Nonce\Generator::TIME_DEVIATION
REQUIRED = (
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_token",
)
SIGNERS = {"HMAC-SHA1": hmac_sha1_signature, "HMAC-SHA256": hmac_sha256_signature}
IMS_TOKEN_SECONDS = 86399


class AuthFailure(Exception):
    def __init__(
        self, status: int, message: str, parameters: list[str] | dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters


def _token() -> str:
    return secrets.token_hex(16)  # 32 characters, like Magento's oauth tokens


@dataclass
class Integration:
    consumer_id: int = 1
    consumer_key: str = field(default_factory=_token)
    consumer_secret: str = field(default_factory=_token)
    access_token: str = field(default_factory=_token)
    access_token_secret: str = field(default_factory=_token)


class OAuth1Validator:
    def __init__(self, integration: Integration, clock: Clock, stale_after: float = 7200.0) -> None:
        self.integration = integration
        self.clock = clock
        self.stale_after = stale_after
        self._nonces: dict[str, float] = {}

    def validate(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        try:
            request = OAuth1Request(method, url, body=None, headers={"Authorization": authorization})
        except ValueError:
            raise AuthFailure(401, "The consumer isn't authorized to access %resources.") from None
        params = dict(request.oauth_params)
        if "oauth_version" in params and params["oauth_version"] != "1.0":
            raise AuthFailure(400, 'The "%1" Oauth version isn\'t supported.', [params["oauth_version"]])
        missing = [name for name in REQUIRED if name not in params]
        if missing:
            raise AuthFailure(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": missing[0]}
            )
        if len(params["oauth_token"]) != 32:
            raise AuthFailure(400, "The token length is invalid. Check the length and try again.")
        method_name = params["oauth_signature_method"]
        if method_name not in SIGNERS:
            raise AuthFailure(400, "Signature method %1 is not supported", [method_name])
        ident = self.integration
        if not hmac.compare_digest(params["oauth_consumer_key"], ident.consumer_key):
            raise AuthFailure(401, "A consumer having the specified key does not exist")
        self._check_nonce(params["oauth_nonce"], params["oauth_timestamp"])
        if not hmac.compare_digest(params["oauth_token"], ident.access_token):
            raise AuthFailure(401, "The token isn't associated with the specified consumer.")
        base_string = generate_signature_base_string(request)
        expected = SIGNERS[method_name](base_string, ident.consumer_secret, ident.access_token_secret)
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise AuthFailure(401, "The signature is invalid. Verify and try again.")

    def _check_nonce(self, nonce: str, timestamp: str) -> None:
        now = self.clock.time()
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if stamp <= 0 or stamp > now + TIME_DEVIATION or stamp < now - self.stale_after:
            raise AuthFailure(400, "Incorrect timestamp value in the oauth_timestamp parameter")
        self._nonces = {n: t for n, t in self._nonces.items() if t >= now - self.stale_after}
        if nonce in self._nonces:
            raise AuthFailure(
                401,
                "The nonce is already being used by the consumer with ID %1",
                [str(self.integration.consumer_id)],
            )
        self._nonces[nonce] = stamp


@dataclass
class ImsProject:
    """An Adobe Developer Console project with OAuth server-to-server credentials."""

    client_id: str = field(default_factory=_token)
    client_secret: str = field(default_factory=lambda: "p8e-" + secrets.token_hex(16))
    org_id: str = field(default_factory=lambda: secrets.token_hex(12).upper() + "@AdobeOrg")


class ImsIssuer:
    def __init__(self, project: ImsProject, clock: Clock) -> None:
        self.project = project
        self.clock = clock
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.issued = 0

    def issue(self, form: Mapping[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "unsupported grant_type"}
        if form.get("client_id") != self.project.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.project.client_secret
        ):
            return 401, {"error": "invalid_client", "error_description": "invalid client_id or client_secret"}
        if "commerce.accs" not in str(form.get("scope", "")).split(","):
            return 400, {"error": "invalid_scope", "error_description": "scope commerce.accs is required"}
        token = "eyJ" + secrets.token_urlsafe(48)
        self.tokens[token] = self.clock.time() + IMS_TOKEN_SECONDS
        self.issued += 1
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": IMS_TOKEN_SECONDS}

    def check(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        token = lowered.get("authorization", "").removeprefix("Bearer ").strip()
        expiry = self.tokens.get(token)
        if expiry is None or expiry <= self.clock.time():
            raise AuthFailure(401, "Oauth token is not valid")
        if lowered.get("x-api-key") != self.project.client_id:
            raise AuthFailure(403, "Api Key is invalid")
        if lowered.get("x-gw-ims-org-id") != self.project.org_id:
            raise AuthFailure(403, "The organization is not entitled to this service")

    def revoke_all(self) -> None:
        self.tokens.clear()
