"""Secret values: a masked type plus a process-wide redactor for logs and error text.

Every secret that passes through the vault is registered here, so that log processors and the
CLI's error printer can replace any occurrence of it, wherever it ends up in a message.
"""

from __future__ import annotations

import hashlib
import threading

from pydantic import SecretStr

MASK = "**********"
_MIN_REDACTED_LENGTH = 6  # shorter values would mask ordinary words


class _Redactor:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._longest_first: tuple[str, ...] = ()  # so that a secret containing another is masked whole

    def register(self, value: str) -> None:
        if len(value) < _MIN_REDACTED_LENGTH or value in self._values:
            return
        with self._lock:
            self._values = self._values | {value}
            self._longest_first = tuple(sorted(self._values, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for value in self._longest_first:
            if value in text:
                text = text.replace(value, MASK)
        return text


redactor = _Redactor()


def secret(value: str) -> SecretStr:
    """Wrap a plaintext secret: masked in repr/str and registered for redaction."""
    redactor.register(value)
    return SecretStr(value)


def fingerprint(value: str | SecretStr) -> str:
    """A short, non-reversible tag to tell secrets apart in logs (sha256 prefix)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return hashlib.sha256(raw.encode()).hexdigest()[:8]
