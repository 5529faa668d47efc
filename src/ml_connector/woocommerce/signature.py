"""WooCommerce's webhook signature: base64(HMAC-SHA256(raw body, HTML-entity-decoded secret)).

Core `WC_Webhook::generate_signature` keys the HMAC with `wp_specialchars_decode($secret, ENT_QUOTES)`
and signs the exact body string it sends, so a receiver must use the raw request bytes, never a
re-serialisation of the parsed JSON (PHP escapes `/` and non-ASCII, which Python would not).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from pydantic import SecretStr

# wp_specialchars_decode(..., ENT_QUOTES) (WordPress formatting.php): strip zero padding from the numeric
# entities it knows, then translate in ONE pass (PHP strtr), so "&amp;lt;" becomes "&lt;", not "<".
_ZERO_PADDING = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_TRANSLATION = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_ENTITY = re.compile("|".join(re.escape(entity) for entity in sorted(_TRANSLATION, key=len, reverse=True)))


def decode_secret(secret: str) -> str:
    """The HMAC key WooCommerce derives from a stored webhook secret."""
    if "&" not in secret:
        return secret
    for pattern, replacement in _ZERO_PADDING:
        secret = pattern.sub(replacement, secret)
    return _ENTITY.sub(lambda match: _TRANSLATION[match.group(0)], secret)


def sign(body: bytes, secret: SecretStr | str) -> str:
    """The `X-WC-Webhook-Signature` value WooCommerce sends for `body`."""
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    digest = hmac.new(decode_secret(raw).encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str | None, secret: SecretStr | str) -> bool:
    """True when `signature` is WooCommerce's signature of `body` (constant-time comparison)."""
    if not signature:
        return False
    return hmac.compare_digest(
        sign(body, secret).encode("ascii"), signature.strip().encode("ascii", "replace")
    )
