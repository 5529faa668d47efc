"""Credential encryption at rest with MultiFernet and key rotation.

Ciphertexts are stored as `v1:<key id>:<fernet token>`. The key id (a digest prefix of the key)
lets an error say which key a credential needs, and lets `keys rotate` find rows still on old keys.
Keys come from `ML_CONNECTOR_SECRET_KEY` (comma separated, newest first) or a key file (one key a
line, newest first) created with mode 0600 on first use.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from ml_connector.secrets import redactor, secret

FORMAT_VERSION = "v1"


class VaultError(Exception):
    """Credentials cannot be encrypted or decrypted; the message says what to do."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


@dataclass(frozen=True)
class KeySource:
    """Where the keys came from, for messages and for rotation."""

    description: str
    path: Path | None  # None when the keys come from the environment


def _parse_keys(raw: str, origin: str) -> list[bytes]:
    keys = [line.strip().encode() for line in raw.replace(",", "\n").splitlines() if line.strip()]
    if not keys:
        raise VaultError(f"{origin} holds no key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError as exc:
            raise VaultError(
                f"{origin} holds a value that is not a Fernet key (32 url-safe base64 bytes); "
                "generate one with `ml-connector keys generate`"
            ) from exc
    return keys


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Write keys atomically with mode 0600 (the temporary file is private from its creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"\n".join(keys) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Vault:
    def __init__(self, keys: list[bytes], source: KeySource) -> None:
        if not keys:
            raise VaultError("no encryption key configured")
        for key in keys:
            redactor.register(key.decode())
        self.keys = keys
        self.source = source
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._known_ids = {key_id(k) for k in keys}

    @classmethod
    def load(
        cls,
        env_value: SecretStr | None,
        key_file: Path,
        announce: Callable[[str], None] | None = None,
    ) -> Vault:
        """Keys from the environment if set, else from the key file (created on first use)."""
        if env_value is not None:
            keys = _parse_keys(env_value.get_secret_value(), "ML_CONNECTOR_SECRET_KEY")
            return cls(keys, KeySource("ML_CONNECTOR_SECRET_KEY", None))
        if not key_file.exists():
            write_key_file(key_file, [Fernet.generate_key()])
            if announce:
                announce(
                    f"Created a new secret key file {key_file} (mode 0600). Back it up: without it "
                    "the stored credentials cannot be decrypted."
                )
        try:
            raw = key_file.read_text()
        except OSError as exc:
            raise VaultError(f"cannot read the secret key file {key_file}: {exc.strerror}") from exc
        return cls(_parse_keys(raw, f"secret key file {key_file}"), KeySource(str(key_file), key_file))

    @property
    def primary_key_id(self) -> str:
        return key_id(self.keys[0])

    def encrypt(self, plaintext: str) -> str:
        redactor.register(plaintext)
        token = self._fernet.encrypt(plaintext.encode()).decode()
        return f"{FORMAT_VERSION}:{self.primary_key_id}:{token}"

    def decrypt(self, stored: str, what: str) -> SecretStr:
        """Decrypt `stored`; `what` names the credential for the error message."""
        _, kid, token = self._split(stored, what)
        try:
            plaintext = self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise self._mismatch(what, kid) from None
        return secret(plaintext)

    def rotate_token(self, stored: str, what: str) -> str:
        """Re-encrypt a stored value under the primary key."""
        _, kid, token = self._split(stored, what)
        try:
            new_token = self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise self._mismatch(what, kid) from None
        return f"{FORMAT_VERSION}:{self.primary_key_id}:{new_token}"

    def _mismatch(self, what: str, kid: str) -> VaultError:
        hint = "" if kid in self._known_ids else f" (it was encrypted with key id {kid}, which is not loaded)"
        return VaultError(
            f"cannot decrypt {what}: the secret key does not match{hint}; "
            f"check ML_CONNECTOR_SECRET_KEY or the key file ({self.source.description})"
        )

    def with_new_primary(self) -> Vault:
        return Vault([Fernet.generate_key(), *self.keys], self.source)

    @staticmethod
    def _split(stored: str, what: str) -> tuple[str, str, str]:
        parts = stored.split(":", 2)
        if len(parts) != 3 or parts[0] != FORMAT_VERSION:
            raise VaultError(f"{what} is not in the vault's format ({FORMAT_VERSION}:<key id>:<token>)")
        return parts[0], parts[1], parts[2]
