"""Vault: encryption format, clear errors on a wrong key, key file creation and rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from ml_connector.secrets import MASK, redactor
from ml_connector.store.connections import add_connection, get_connection, get_credential
from ml_connector.store.db import Database
from ml_connector.store.models import ConnectionKind, Credential, Mapping, OAuthToken
from ml_connector.store.rotation import rotate_keys
from ml_connector.vault import KeySource, Vault, VaultError


def test_round_trip_and_format(vault: Vault) -> None:
    stored = vault.encrypt("refresh-token-value")
    assert stored.startswith(f"v1:{vault.primary_key_id}:")
    value = vault.decrypt(stored, "a token")
    assert value.get_secret_value() == "refresh-token-value"
    assert "refresh-token-value" not in repr(value) and "refresh-token-value" not in str(value)


def test_wrong_key_is_a_clear_error_naming_the_credential(vault: Vault) -> None:
    stored = vault.encrypt("consumer-secret-value")
    other = Vault([Fernet.generate_key()], KeySource("ML_CONNECTOR_SECRET_KEY", None))
    with pytest.raises(VaultError) as caught:
        other.decrypt(stored, "credential 'consumer_secret' of connection 'shop'")
    message = str(caught.value)
    assert "cannot decrypt credential 'consumer_secret' of connection 'shop'" in message
    assert "the secret key does not match" in message
    assert vault.primary_key_id in message  # says which key it needs


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    messages: list[str] = []
    key_file = tmp_path / "data" / "secret.key"
    first = Vault.load(None, key_file, announce=messages.append)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(messages) == 1 and str(key_file) in messages[0]
    second = Vault.load(None, key_file, announce=messages.append)
    assert second.primary_key_id == first.primary_key_id
    assert len(messages) == 1


def test_environment_keys_take_precedence_and_bad_ones_are_explained(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    vault = Vault.load(SecretStr(key), tmp_path / "unused.key")
    assert vault.source.path is None
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(VaultError, match="not a Fernet key"):
        Vault.load(SecretStr("not-a-key"), tmp_path / "unused.key")


def test_decrypted_secrets_are_redacted_from_text(vault: Vault) -> None:
    vault.decrypt(vault.encrypt("webhook-secret-123"), "x")
    assert redactor.redact("signing with webhook-secret-123 now") == f"signing with {MASK} now"


def _seed_secrets(db: Database, vault: Vault) -> None:
    with db.session() as session:
        conn = add_connection(
            session,
            vault,
            name="shop",
            kind=ConnectionKind.WOOCOMMERCE,
            credentials={"consumer_secret": "cs_abc123"},
        )
        session.add(
            OAuthToken(
                connection_id=conn.id,
                access_token_ciphertext=vault.encrypt("access-abc"),
                refresh_token_ciphertext=vault.encrypt("refresh-abc"),
                key_id=vault.primary_key_id,
            )
        )
        session.add(
            Mapping(
                connection_id=conn.id,
                version=1,
                document_ciphertext=vault.encrypt("rules: []"),
                key_id=vault.primary_key_id,
                author="test",
            )
        )


def test_rotation_re_encrypts_everything_and_keeps_it_readable(db: Database, tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    vault = Vault.load(None, key_file)
    _seed_secrets(db, vault)
    old_id = vault.primary_key_id

    result = rotate_keys(db, vault, retire_old=True)

    assert result.reencrypted == 4 and result.retired_keys == 1 and result.new_key_id != old_id
    rotated = Vault.load(None, key_file)
    assert rotated.keys == [rotated.keys[0]] and rotated.primary_key_id == result.new_key_id
    with db.session() as session:
        conn = get_connection(session, "shop")
        assert get_credential(session, rotated, conn, "consumer_secret").get_secret_value() == "cs_abc123"
        token = session.scalars(select(OAuthToken)).one()
        assert rotated.decrypt(token.refresh_token_ciphertext or "", "t").get_secret_value() == "refresh-abc"
        assert {c.key_id for c in session.scalars(select(Credential))} == {result.new_key_id}
    with pytest.raises(VaultError):  # the old key alone no longer reads the rotated rows
        vault.decrypt(token.refresh_token_ciphertext or "", "t")


def test_failed_rotation_changes_nothing(db: Database, tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    vault = Vault.load(None, key_file)
    _seed_secrets(db, vault)
    stranger = Vault([Fernet.generate_key()], KeySource("x", None))
    with db.session() as session:
        conn = get_connection(session, "shop")
        session.add(
            Credential(
                connection_id=conn.id,
                name="alien",
                value_ciphertext=stranger.encrypt("zz-alien"),
                key_id=stranger.primary_key_id,
            )
        )
    before_keys = key_file.read_bytes()
    with db.session() as session:
        before_rows = sorted(session.scalars(select(Credential.value_ciphertext)).all())

    with pytest.raises(VaultError, match="nothing was changed"):
        rotate_keys(db, vault)

    assert key_file.read_bytes() == before_keys
    with db.session() as session:
        assert sorted(session.scalars(select(Credential.value_ciphertext)).all()) == before_rows
