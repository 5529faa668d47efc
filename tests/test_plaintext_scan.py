"""Known secrets written through the product never appear in plaintext: database bytes, logs, help, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SECRETS = {
    "consumer_key": "ck_PLAINTEXT_PROBE_7f3a9c1e",
    "consumer_secret": "cs_PLAINTEXT_PROBE_b2d4e6f8",
    "webhook_secret": "wh_PLAINTEXT_PROBE_0a1b2c3d",
    "client_secret": "ex_PLAINTEXT_PROBE_9e8d7c6b",
}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ml_connector", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_no_plaintext_secret_anywhere(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "ML_CONNECTOR_DATA_DIR": str(data_dir), "ML_CONNECTOR_LOG_LEVEL": "DEBUG"}
    runs = [
        _cli(
            env,
            "connections",
            "add",
            "shop",
            "--kind",
            "woocommerce",
            "--base-url",
            "https://shop.example",
            *[
                f"--credential={name}={SECRETS[name]}"
                for name in ("consumer_key", "consumer_secret", "webhook_secret")
            ],
        ),
        _cli(
            env,
            "connections",
            "add",
            "books",
            "--kind",
            "exact",
            "--region",
            "NL",
            f"--credential=client_secret={SECRETS['client_secret']}",
        ),
        _cli(env, "connections", "list", "--json"),
        _cli(env, "connections", "show", "shop", "--json"),
        _cli(env, "connections", "show", "books"),
        _cli(env, "keys", "rotate"),
        # an error path: the same credential name twice is refused and echoed back in no form
        _cli(
            env,
            "connections",
            "add",
            "shop",
            "--kind",
            "woocommerce",
            f"--credential=consumer_secret={SECRETS['consumer_secret']}",
        ),
        _cli(env, "--help"),
        _cli(env, "connections", "add", "--help"),
    ]
    assert [r.returncode for r in runs[:6]] == [0] * 6, [r.stderr for r in runs]
    assert runs[6].returncode == 1 and "already exists" in runs[6].stderr

    database_bytes = b"".join(p.read_bytes() for p in data_dir.glob("ml-connector.db*"))
    assert b"https://shop.example" in database_bytes  # the scan really reads what was written
    output = "".join(r.stdout + r.stderr for r in runs)
    for name, value in SECRETS.items():
        assert value.encode() not in database_bytes, f"{name} in the database"
        assert value not in output, f"{name} in the output"
