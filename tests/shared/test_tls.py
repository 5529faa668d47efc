from __future__ import annotations

import os
import shutil
from pathlib import Path

import certifi
import pytest

from ml_connector.http.tls import tls_context


def test_clients_share_one_context_per_trust_setting():
    assert tls_context() is tls_context()


def test_a_connection_ca_bundle_gets_its_own_context_and_an_updated_bundle_is_loaded_again(tmp_path: Path):
    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    first = tls_context(str(bundle))
    assert first is not tls_context()
    assert tls_context(str(bundle)) is first
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert tls_context(str(bundle)) is not first


def test_ssl_cert_file_still_chooses_the_default_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    default = tls_context()
    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert tls_context() is not default
