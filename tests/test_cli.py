"""The CLI skeleton as a user drives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_connector import __version__
from tests.cli_runner import run_cli


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ML_CONNECTOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "--version")
    assert result.code == 0 and __version__ in result.out


def test_init_creates_config_key_and_database(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    result = run_cli(capsys, "init")
    assert result.code == 0, result.err
    assert (data_dir / "ml-connector.toml").exists()
    assert (data_dir / "secret.key").exists()
    assert (data_dir / "ml-connector.db").exists()
    assert "secret key file" in result.out


def test_connection_lifecycle_with_json(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    added = run_cli(
        capsys,
        "connections",
        "add",
        "exact-nl",
        "--kind",
        "exact",
        "--region",
        "nl",
        "--setting",
        "client_id=abc-123",
        "--credential",
        "client_secret=s3cr3t-value",
        "--json",
    )
    assert added.code == 0, added.err
    assert json.loads(added.out)["credentials"] == ["client_secret"]

    listed = json.loads(run_cli(capsys, "connections", "list", "--json").out)
    assert [(c["name"], c["kind"], c["region"], c["settings"]) for c in listed] == [
        ("exact-nl", "exact", "NL", {"client_id": "abc-123"})
    ]
    shown = run_cli(capsys, "connections", "show", "exact-nl")
    assert "client_secret" in shown.out and "s3cr3t-value" not in shown.out

    assert run_cli(capsys, "connections", "remove", "exact-nl", "--yes").code == 0
    assert json.loads(run_cli(capsys, "connections", "list", "--json").out) == []


def test_credential_without_value_is_read_from_the_environment(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_CONNECTOR_CREDENTIAL_CONSUMER_SECRET", "cs_from_env_value")
    result = run_cli(
        capsys,
        "connections",
        "add",
        "shop",
        "--kind",
        "woocommerce",
        "--base-url",
        "https://s.example",
        "--credential",
        "consumer_secret",
    )
    assert result.code == 0, result.err
    assert "1 credential(s) stored encrypted" in result.out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["connections", "add", "x", "--kind", "bogus"], "'bogus' is not one of"),
        (["connections", "add", "x", "--kind", "exact", "--region", "XX"], "unknown Exact region 'XX'"),
        (["connections", "add", "x", "--kind", "exact", "--setting", "novalue"], "expected KEY=VALUE"),
        (["connections", "frobnicate"], "No such command"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], data_dir: Path, args: list[str], expected: str
) -> None:
    result = run_cli(capsys, *args)
    assert result.code == 2
    assert expected in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unknown_connection_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    result = run_cli(capsys, "connections", "show", "ghost")
    assert result.code == 1
    assert result.err.strip() == "error: no connection named 'ghost' (see `ml-connector connections list`)"


def test_corrupt_config_is_one_line_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("web_port = = 1\n")
    result = run_cli(capsys, "--config", str(path), "connections", "list")
    assert result.code == 2
    assert str(path) in result.err and "not valid TOML" in result.err


def test_keys_rotate_keeps_credentials_readable(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    run_cli(
        capsys,
        "connections",
        "add",
        "shop",
        "--kind",
        "woocommerce",
        "--credential",
        "consumer_secret=cs_x1y2z3",
    )
    rotated = run_cli(capsys, "keys", "rotate", "--retire-old")
    assert rotated.code == 0, rotated.err
    assert "Re-encrypted 1 value(s)" in rotated.out
    assert len((data_dir / "secret.key").read_text().split()) == 1
    assert run_cli(capsys, "connections", "show", "shop").code == 0


def test_wrong_key_is_reported_not_overwritten(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(
        capsys,
        "connections",
        "add",
        "shop",
        "--kind",
        "woocommerce",
        "--credential",
        "consumer_secret=cs_keepme",
    )
    key_before = (data_dir / "secret.key").read_bytes()
    monkeypatch.setenv("ML_CONNECTOR_SECRET_KEY", "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=")
    result = run_cli(capsys, "keys", "rotate")
    assert result.code == 2
    assert "the secret key does not match" in result.err and "nothing was changed" in result.err
    monkeypatch.delenv("ML_CONNECTOR_SECRET_KEY")
    assert (data_dir / "secret.key").read_bytes() == key_before
    assert run_cli(capsys, "keys", "rotate").code == 0


def test_sandbox_command_serves_and_prints_its_ready_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import httpx

    from ml_connector.sandbox_kit.serve import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_connector", "sandbox", "exact", "--port", str(port), "--no-rate-limits"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "ML_CONNECTOR_DATA_DIR": str(tmp_path)},
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["base_url"] == f"http://127.0.0.1:{port}"
        assert {"client_id", "client_secret", "redirect_uri", "division", "webhook_secret"} <= set(ready)
        limits = httpx.get(f"{ready['base_url']}/_sandbox/rate-limits", timeout=10).json()
        assert limits["enabled"] is False
    finally:
        process.terminate()
        process.wait(timeout=20)
