"""A stateful Adobe Commerce (Magento 2.4) for tests and the demo.

    sandbox = create_app(seed=1, mode="paas", orders=50)
    with ThreadedServer(sandbox.asgi) as server:
        info = sandbox.info(server.base_url)      # base_url, credentials, webhook public key
        sandbox.store.place_order([("SIM-001", 2)])

PaaS mode serves /rest[/<store>]/V1/... with Magento's OAuth1 checks (integration-as-bearer off unless
toggled); SaaS mode serves /<tenant>/V1/... behind IMS bearer tokens from its own /ims/token/v3.
Toggles and hooks are set over /_sandbox/settings and /_sandbox/hooks, faults over /_sandbox/faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp

from ml_connector.adobe_commerce.sandbox.api import SandboxApi, build_asgi
from ml_connector.adobe_commerce.sandbox.auth import ImsIssuer, ImsProject, Integration, OAuth1Validator
from ml_connector.adobe_commerce.sandbox.hooks import IoEventsEmitter, KeyPair, WebhookEmitter
from ml_connector.adobe_commerce.sandbox.store import SandboxStore
from ml_connector.sandbox_kit.clock import Clock, SystemClock
from ml_connector.sandbox_kit.faults import FaultInjector, FaultMiddleware
from ml_connector.sandbox_kit.serve import serve_foreground

TENANT = "sandboxtenant01"

__all__ = ["AdobeSandbox", "create_app", "serve"]


@dataclass
class AdobeSandbox:
    asgi: ASGIApp
    store: SandboxStore
    api: SandboxApi
    faults: FaultInjector
    integration: Integration
    ims_project: ImsProject
    webhook_keys: KeyPair
    mode: str

    def info(self, base_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "base_url": base_url,
            "mode": self.mode,
            "webhook_public_key_pem": self.webhook_keys.public_pem,
        }
        if self.mode == "saas":
            out.update(
                tenant=TENANT,
                store_code="default",
                client_id=self.ims_project.client_id,
                client_secret=self.ims_project.client_secret,
                org_id=self.ims_project.org_id,
                ims_token_url=f"{base_url}/ims/token/v3",
            )
        else:
            i = self.integration
            out.update(
                store_code="default",
                consumer_key=i.consumer_key,
                consumer_secret=i.consumer_secret,
                access_token=i.access_token,
                access_token_secret=i.access_token_secret,
            )
        return out


def create_app(
    *,
    seed: int = 0,
    mode: str = "paas",
    orders: int = 50,
    clock: Clock | None = None,
    faults: FaultInjector | None = None,
) -> AdobeSandbox:
    if mode not in ("paas", "saas"):
        raise ValueError(f"unknown sandbox mode {mode!r}: use 'paas' or 'saas'")
    clock = clock or SystemClock()
    faults = faults or FaultInjector(seed)
    keys = KeyPair()
    project = ImsProject()
    store = SandboxStore(clock, WebhookEmitter(keys), IoEventsEmitter(clock, project.client_id), seed)
    store.seed_orders(orders)
    integration = Integration()
    api = SandboxApi(store, mode, OAuth1Validator(integration, clock), ImsIssuer(project, clock), TENANT)
    sandbox = AdobeSandbox(
        asgi=FaultMiddleware(build_asgi(api, lambda base: sandbox.info(base)), faults),
        store=store,
        api=api,
        faults=faults,
        integration=integration,
        ims_project=project,
        webhook_keys=keys,
        mode=mode,
    )
    return sandbox


def serve(port: int, seed: int = 0, mode: str = "paas") -> None:
    sandbox = create_app(seed=seed, mode=mode)
    serve_foreground(sandbox.asgi, port, sandbox.info)
