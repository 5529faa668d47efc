"""Where an Adobe Commerce connection's API lives and how it authenticates, read from the stored Connection.

Connection fields: `base_url`, `store_code`. Settings (non-secret, `Connection.settings`):
  deployment        "paas" (default: PaaS, Commerce Cloud, on-prem) or "saas" (Commerce as a Cloud Service)
  signature_method  "HMAC-SHA256" (default) or "HMAC-SHA1"                        (PaaS, OAuth1)
  auth_mode         "oauth1" (default) or "bearer": the integration access token as a bearer token,
                    which Magento >= 2.4.4 refuses unless oauth/consumer/enable_integration_as_bearer is on
  tenant            SaaS tenant id (the path segment after the host), unless base_url already ends with it
  ims_token_url     SaaS, default https://ims-na1.adobelogin.com/ims/token/v3
  org_id, client_id SaaS: Adobe Developer Console project credentials (the client id doubles as x-api-key)
  webhook_public_key_pem  the merchant's Commerce Webhooks public key (PEM)
  io_events_client_id     I/O Events: the recipient_client_id deliveries must carry (default: client_id)
  io_events_public_key_pem  I/O Events: a fixed verification key instead of Adobe's published ones
  io_events_key_base_url    I/O Events: where the published keys live (default https://static.adobeioevents.com)
Credentials (vault): PaaS consumer_key, consumer_secret, access_token, access_token_secret;
  SaaS ims_client_secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from ml_connector.http.oauth1 import SignatureMethod

Deployment = Literal["paas", "saas"]
AuthMode = Literal["oauth1", "bearer", "ims"]
DEFAULT_IMS_TOKEN_URL = "https://ims-na1.adobelogin.com/ims/token/v3"
IMS_SCOPE = (
    "openid,AdobeID,email,profile,additional_info.roles,additional_info.projectedProductContext,commerce.accs"
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class AdobeConfigError(ValueError):
    """The connection's settings cannot work; the message names the connection, the setting and the fix."""


@dataclass(frozen=True)
class AdobeConfig:
    name: str
    base_url: str
    deployment: Deployment = "paas"
    store_code: str | None = None
    tenant: str | None = None
    auth_mode: AuthMode = "oauth1"
    signature_method: SignatureMethod = "HMAC-SHA256"
    ims_token_url: str = DEFAULT_IMS_TOKEN_URL
    org_id: str | None = None
    client_id: str | None = None

    @classmethod
    def from_connection(
        cls, name: str, base_url: str | None, store_code: str | None, settings: dict[str, Any]
    ) -> AdobeConfig:
        def fail(what: str) -> AdobeConfigError:
            return AdobeConfigError(f"Adobe Commerce connection '{name}': {what}")

        if not base_url:
            raise fail("base_url is missing; set the shop's URL, e.g. https://shop.example.com")
        parts = urlsplit(base_url)
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
            raise fail(
                f"base_url {base_url} must use https (OAuth1 secrets and tokens must not cross plain HTTP)"
            )
        deployment = settings.get("deployment", "paas")
        if deployment not in ("paas", "saas"):
            raise fail(f"setting deployment={deployment!r} is unknown; use 'paas' or 'saas'")
        method = settings.get("signature_method", "HMAC-SHA256")
        if method not in ("HMAC-SHA256", "HMAC-SHA1"):
            raise fail(
                f"setting signature_method={method!r} is unsupported; use HMAC-SHA256 (default) or HMAC-SHA1"
            )
        if deployment == "saas":
            mode: AuthMode = "ims"
            for key in ("org_id", "client_id"):
                if not settings.get(key):
                    raise fail(f"setting {key} is missing; copy it from the Adobe Developer Console project")
        else:
            mode = settings.get("auth_mode", "oauth1")
            if mode not in ("oauth1", "bearer"):
                raise fail(f"setting auth_mode={mode!r} is unknown; use 'oauth1' (recommended) or 'bearer'")
        return cls(
            name=name,
            base_url=base_url.rstrip("/"),
            deployment=deployment,
            store_code=store_code or None,
            tenant=settings.get("tenant") or None,
            auth_mode=mode,
            signature_method=method,
            ims_token_url=settings.get("ims_token_url") or DEFAULT_IMS_TOKEN_URL,
            org_id=settings.get("org_id"),
            client_id=settings.get("client_id"),
        )

    @property
    def api_root(self) -> str:
        """URL that `/V1/...` paths are appended to.

        PaaS: https://host/rest/<store_code> (or /rest for the default store). SaaS has no /rest and no store
        code in the path: https://<server>.api.commerce.adobe.com/<tenant>, the store goes in a Store header.
        """
        if self.deployment == "saas":
            if self.tenant and not self.base_url.endswith(f"/{self.tenant}"):
                return f"{self.base_url}/{self.tenant}"
            return self.base_url
        return f"{self.base_url}/rest/{self.store_code}" if self.store_code else f"{self.base_url}/rest"

    def default_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.deployment == "saas" and self.store_code:
            headers["Store"] = self.store_code
        return headers
