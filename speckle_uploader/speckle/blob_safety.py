"""What the app lets a Speckle server make it do with blob storage: where the PUT may go and what it carries.

The upload URL and its extra headers come from the Speckle server, which is untrusted like every server:

- the PUT goes out on a client of its own, without a cookie jar, so cookies the Speckle server sets never
  reach blob storage, and with no header but the app's own and the server's ``additionalRequestHeaders``,
  from which connection-level and credential headers (``Host``, ``Authorization``, ``Cookie``,
  ``Content-Length``, ...) are dropped;
- the URL must be ``http``/``https``, must not name a link-local or cloud-metadata address (literally, or
  through a name that resolves to one: checked where the connection is made, so a name cannot change its
  answer between the check and the connect), and must not downgrade an ``https`` Speckle server to plain
  ``http`` unless that server is on this computer or the user allowed plain HTTP for it;
- a header value with a line break fails at once.

Through a proxy (the user's or the system's) the proxy resolves the name: there only the literal checks apply.

Each refusal is one sentence and never retried (:class:`UnsafeBlobRequestError`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request

import httpcore
import httpx

from speckle_uploader.speckle.errors import UnsafeBlobRequestError

log = logging.getLogger(__name__)

# Never taken from the server's additionalRequestHeaders: credentials, and what the HTTP client must decide.
FORBIDDEN_HEADERS = frozenset({
    "host", "authorization", "proxy-authorization", "cookie", "cookie2", "content-length", "transfer-encoding",
    "connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer", "expect",
})
METADATA_HOSTS = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal",
})
_REFUSED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "169.254.0.0/16",  # IPv4 link-local: AWS, Azure, GCP, Oracle metadata at 169.254.169.254
    "fe80::/10",  # IPv6 link-local
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
))
_BAD_CHARACTERS = frozenset("\r\n\x00")

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class BlobRules:
    """Who handed out the URL: the Speckle server's address, and whether the user allowed plain HTTP for it."""

    server_url: str | None = None
    allow_plain_http: bool = False


def refused_address(address: str) -> bool:
    """A link-local or metadata address, or the unspecified one (which reaches this computer)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_unspecified or ip.is_link_local or any(ip in net for net in _REFUSED_NETWORKS)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def vet_url(url: str, rules: BlobRules) -> None:
    """Refuse an upload URL the app will not PUT to (see the module docstring)."""
    if any(ch in url for ch in _BAD_CHARACTERS) or any(ord(ch) < 0x20 for ch in url):
        raise UnsafeBlobRequestError("The server handed out an upload address with control characters; "
                                     "the file was not sent.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme or "no"
        raise UnsafeBlobRequestError(f"The server handed out an upload address with {shown} scheme "
                                     f"({shown}:), not http or https; the file was not sent.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeBlobRequestError("The server handed out an upload address without a host; the file was not sent.")
    if host in METADATA_HOSTS or refused_address(host):
        raise UnsafeBlobRequestError(f"The server handed out an upload address on {host}, a link-local or cloud "
                                     "metadata address that blob storage never uses; the file was not sent.")
    if scheme == "http" and rules.server_url and not rules.allow_plain_http:
        server = urlsplit(rules.server_url)
        if server.scheme.lower() == "https" and not _is_loopback(server.hostname or ""):
            raise UnsafeBlobRequestError(
                f"{server.hostname} is reached over HTTPS but handed out a plain-HTTP upload address "
                f"({host}); the file was not sent unencrypted. Allow plain HTTP for this server to send it anyway."
            )


def vet_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The server's extra headers the PUT may carry: credential and connection headers dropped (and logged);
    a name or value with a line break refused."""
    chosen: dict[str, str] = {}
    for name, value in (extra or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise UnsafeBlobRequestError("The server asked for an upload header that is not text; the file was not "
                                         "sent.")
        if any(ch in _BAD_CHARACTERS for ch in f"{name}{value}") or not name.strip() or ":" in name:
            raise UnsafeBlobRequestError(f"The server asked for an upload header {name.strip()[:40]!r} with a line "
                                         "break or an invalid name; the file was not sent.")
        if name.strip().lower() in FORBIDDEN_HEADERS:
            log.warning("ignored the upload header %r the server asked for (the app never sends it)", name)
            continue
        chosen[name.strip()] = value
    return chosen


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing and sends nothing."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Request) -> None:
        return None

    def add_cookie_header(self, request: Request) -> None:
        return None


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses link-local and metadata addresses, then connects to a vetted address
    (TLS still checks the certificate against the host name)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, resolve: Resolver = _resolve) -> None:
        self._inner = inner
        self._resolve = resolve

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore)
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused = [a for a in addresses if refused_address(a)]
        if refused:
            raise UnsafeBlobRequestError(f"The upload address {host} leads to {refused[0]}, a link-local or cloud "
                                         "metadata address that blob storage never uses; the file was not sent.")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in dict.fromkeys(addresses):
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("blob storage is never reached through a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class VettingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool on a :class:`VettingBackend`."""

    def __init__(self, *, resolve: Resolver = _resolve, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        inner = getattr(pool, "_network_backend", None)
        if not isinstance(inner, httpcore.AsyncNetworkBackend):  # pragma: no cover - an httpcore we do not know
            raise RuntimeError("httpcore changed: cannot vet the addresses blob uploads connect to")
        pool._network_backend = VettingBackend(inner, resolve)


def blob_client(*, verify: ssl.SSLContext | bool = True, proxy: str | None = None,
                user_agent: str = "speckle-uploader", resolve: Resolver = _resolve) -> httpx.AsyncClient:
    """The client for blob storage only: no cookie jar, no redirects, vetted addresses, the app's User-Agent."""
    return httpx.AsyncClient(
        transport=VettingTransport(verify=verify, resolve=resolve), proxy=proxy, verify=verify,
        cookies=NoCookies(), headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        follow_redirects=False,
    )
