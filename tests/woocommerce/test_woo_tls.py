"""Real TLS on loopback: an untrusted certificate is refused with a fix, a ca_bundle makes it trusted."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ml_connector.http.backoff import Backoff
from ml_connector.sandbox_kit.serve import free_port
from ml_connector.secrets import secret
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.woocommerce.auth import build_auth
from ml_connector.woocommerce.client import WooClient, WooTLSError
from ml_connector.woocommerce.ping import run_checks
from ml_connector.woocommerce.sandbox import create_app


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def https_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, Path]]:
    cert_file, key_file = _certificate(tmp_path_factory.mktemp("tls"))
    sandbox = create_app(seed=1, orders=5)
    port = free_port()
    config = uvicorn.Config(
        sandbox.asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "HTTPS sandbox did not start"
        time.sleep(0.01)
    info = sandbox.info(f"https://127.0.0.1:{port}")
    yield info["base_url"], info["consumer_key"], info["consumer_secret"], cert_file
    server.should_exit = True
    thread.join(timeout=10)
    sandbox.close()


def test_untrusted_certificate_is_refused_with_the_fix(https_store: tuple[str, str, str, Path]) -> None:
    base_url, key, consumer_secret, _cert = https_store
    client = WooClient(
        base_url,
        build_auth("basic", key, secret(consumer_secret)),
        auth_mode="basic",
        backoff=Backoff(max_attempts=1),
    )
    with pytest.raises(WooTLSError, match="ca_bundle"):
        client.get("orders")


def test_ca_bundle_makes_the_store_trusted(https_store: tuple[str, str, str, Path]) -> None:
    base_url, key, consumer_secret, cert = https_store
    with WooClient(
        base_url, build_auth("basic", key, secret(consumer_secret)), auth_mode="basic", ca_bundle=str(cert)
    ) as client:
        assert len(list(client.orders())) == 5


def test_ping_reports_the_untrusted_certificate(https_store: tuple[str, str, str, Path]) -> None:
    base_url, key, consumer_secret, _cert = https_store

    def factory(**_kw: Any) -> WooClient:
        auth = build_auth("basic", key, secret(consumer_secret))
        return WooClient(base_url, auth, auth_mode="basic", backoff=Backoff(max_attempts=1))

    conn = Connection(name="tls", kind=ConnectionKind.WOOCOMMERCE, base_url=base_url, settings={})
    checks = {c.name: c for c in run_checks(None, conn, client_factory=factory)}  # type: ignore[arg-type]
    assert checks["reachable"].ok
    assert not checks["tls"].ok
    assert "ca_bundle" in (checks["tls"].fix or "")
    assert "auth" not in checks
