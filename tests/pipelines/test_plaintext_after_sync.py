"""After a real sync (OAuth tokens issued and rotated, shop keys and webhook secrets used, DEBUG logs), no
secret is anywhere in plaintext: not in the database files, not in the log output."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ml_connector.app import App
from ml_connector.logs import configure
from tests.pipelines.driving import drain, quick_runtime


def test_no_secret_in_the_database_or_the_logs_after_a_sync(
    app: App, shop: dict[str, Any], exact_sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, info = exact_sandbox
    configure("DEBUG", "json")
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # request lines too: query-string auth would show
    drain(app, quick_runtime(app))
    logs = capsys.readouterr()

    oauth = sandbox.state.oauth
    secrets = {
        "exact client secret": info["client_secret"],
        "exact webhook secret": info["webhook_secret"],
        "woocommerce consumer key": shop["woo"]["consumer_key"],
        "woocommerce consumer secret": shop["woo"]["consumer_secret"],
        **{f"exact access token {i}": t for i, t in enumerate(oauth._access_tokens)},
        **{f"exact refresh token {i}": t for i, t in enumerate(oauth._chains)},
    }
    assert len(secrets) >= 6 and oauth.issued >= 1
    data_dir = Path(app.settings.data_dir)
    stored = b"".join(p.read_bytes() for p in data_dir.glob("ml-connector.db*"))
    assert b"WC-SHOP1-" in stored  # the scan reads what the sync wrote
    output = logs.out + logs.err
    assert output  # DEBUG logging produced lines to scan
    for name, value in secrets.items():
        assert value.encode() not in stored, f"{name} is in the database in plaintext"
        assert value not in output, f"{name} is in the log output"
