"""One TLS context per trust setting, shared by the HTTP clients of this process.

httpx builds a context for every client, loading the CA bundle each time (about 20 ms); a context can be
shared between clients and threads. The cache is keyed by everything the context is built from: the
connection's CA bundle (and its modification time, so an updated bundle is loaded again) and the
SSL_CERT_FILE / SSL_CERT_DIR variables httpx reads.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache

import httpx


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The context verifying against `ca_bundle`, or httpx's default trust (certifi, or SSL_CERT_*)."""
    modified = os.stat(ca_bundle).st_mtime_ns if ca_bundle else None
    return _context(ca_bundle, modified, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=16)
def _context(
    ca_bundle: str | None, _modified: int | None, _cert_file: str | None, _cert_dir: str | None
) -> ssl.SSLContext:
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return httpx.create_ssl_context()
