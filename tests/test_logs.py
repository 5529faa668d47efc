"""Log output never carries a registered secret, through structlog or the standard library."""

from __future__ import annotations

import logging

import pytest
import structlog

from ml_connector.logs import configure
from ml_connector.secrets import MASK, secret


def test_structlog_and_stdlib_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    token = secret("refresh-token-LOGPROBE-42").get_secret_value()
    configure("DEBUG", "json")
    structlog.get_logger().info("refreshed", token=token, note=f"old={token}")
    logging.getLogger("httpcore").warning("sending %s", token)
    captured = capsys.readouterr().err
    assert "refreshed" in captured and "sending" in captured
    assert token not in captured
    assert captured.count(MASK) == 3
