"""The TLS context of the HTTP client: certificates loaded at the first TLS connection.

httpx builds its TLS context when the client is made, loading every CA certificate of the
bundle (SSL_CERT_FILE, SSL_CERT_DIR or certifi's): tens of milliseconds of CPU, paid even by
a command that only talks to http:// gateways and nodes (a local node, a cluster's
gateway). LazyTLSContext stands in for it: the first TLS connection builds httpx's own
context (``httpx.create_ssl_context()``, the same verification policy) and every TLS
connection goes through that, so nothing is ever verified with fewer certificates.
Entry point: LazyTLSContext.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable

__all__ = ["LazyTLSContext"]


class LazyTLSContext(ssl.SSLContext):
    """An ssl.SSLContext whose handshakes use httpx's default context, made on first use.

    httpcore calls set_alpn_protocols() then wrap_socket() (wrap_bio() through a proxy) on
    the context it is given; those are forwarded to the real context.
    """

    def __new__(cls) -> LazyTLSContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._real: ssl.SSLContext | None = None
        self._alpn: list[str] | None = None

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._real is None:
                import httpx

                self._real = httpx.create_ssl_context()
            if self._alpn is not None:
                self._real.set_alpn_protocols(self._alpn)
            return self._real

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        self._alpn = list(alpn_protocols)

    def wrap_socket(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        return self._context().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        return self._context().wrap_bio(*args, **kwargs)
