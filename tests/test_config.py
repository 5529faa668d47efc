"""Settings: file, environment, precedence and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_connector.config import ConfigError, load_settings


def test_defaults_put_everything_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'ml-connector.db'}"
    assert settings.effective_key_file == tmp_path / "secret.key"
    assert (settings.log_level, settings.web_host, settings.web_port) == ("INFO", "127.0.0.1", 8080)


def test_file_values_are_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ml-connector.toml"
    path.write_text('log_level = "debug"\nweb_port = 9000\ndatabase_url = "sqlite:///x.db"\n')
    monkeypatch.setenv("ML_CONNECTOR_WEB_PORT", "9100")
    settings = load_settings(path)
    assert settings.log_level == "DEBUG"
    assert settings.web_port == 9100
    assert settings.database_url == "sqlite:///x.db"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "custom.toml"
    path.write_text('log_format = "json"\n')
    monkeypatch.setenv("ML_CONNECTOR_CONFIG", str(path))
    assert load_settings().log_format == "json"


def test_default_config_file_lives_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_CONNECTOR_DATA_DIR", str(tmp_path))
    (tmp_path / "ml-connector.toml").write_text("web_port = 8181\n")
    assert load_settings().web_port == 8181


def test_corrupt_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("log_level = [\n")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        load_settings(path)


def test_invalid_value_names_the_file_the_key_and_what_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "ml-connector.toml"
    path.write_text('web_port = "eighty"\nlog_level = "loud"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert str(path) in message
    assert "key 'web_port'" in message and "valid integer" in message
    assert "key 'log_level'" in message and "'DEBUG'" in message


def test_unknown_key_lists_the_known_settings(tmp_path: Path) -> None:
    path = tmp_path / "ml-connector.toml"
    path.write_text("databse_url = 'x'\n")
    with pytest.raises(ConfigError, match=r"key 'databse_url' is not a setting .*database_url"):
        load_settings(path)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_bad_environment_value_names_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_CONNECTOR_WEB_PORT", "0")
    with pytest.raises(ConfigError, match=r"environment .*key 'web_port'"):
        load_settings()
