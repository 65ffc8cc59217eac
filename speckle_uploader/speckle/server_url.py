"""Server addresses as people paste them: ``app.speckle.systems``, ``127.0.0.1:3000``, ``…/graphql``, or a
project or model URL copied from the browser. One place that turns them into the server's base URL."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

CLOUD_URL = "https://app.speckle.systems"

# Paths of Speckle's web app and API that are not part of a server's base address.
_APP_SEGMENTS = ("projects", "streams", "graphql", "api", "auth", "settings", "workspaces", "models")


@dataclass(frozen=True)
class ServerAddress:
    """A server's base URL, with the project and model a pasted browser URL pointed at (if any)."""

    url: str
    project_id: str | None = None
    model_id: str | None = None


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_server_address(text: str) -> ServerAddress:
    """Raises ValueError with a sentence for what is not a server address."""
    text = text.strip()
    if not text:
        raise ValueError("No server address given.")
    if "://" not in text:
        host = urlsplit("//" + text).hostname or ""
        # This computer has no certificate to show: plain http is what a local server speaks.
        text = ("http://" if is_loopback_host(host) else "https://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{text}” is not a server address (expected https://host).")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    base: list[str] = []
    for segment in segments:
        if segment.lower() in _APP_SEGMENTS:
            break
        base.append(segment)
    rest = segments[len(base):]
    project = model = None
    if len(rest) >= 2 and rest[0].lower() in ("projects", "streams"):
        project = rest[1]
        if len(rest) >= 4 and rest[2].lower() in ("models", "branches"):
            model = rest[3].split("@", 1)[0].split(",", 1)[0] or None
    path = "/" + "/".join(base) if base else ""
    return ServerAddress(f"{parts.scheme}://{parts.netloc}{path}", project, model)


def normalise_server_url(url: str) -> str:
    """``app.speckle.systems/`` -> ``https://app.speckle.systems``; keeps an explicit scheme and port."""
    return parse_server_address(url).url


def is_plain_http_remote(server_url: str) -> bool:
    """True for ``http://`` to anything but this computer: the token would cross the network in clear."""
    parts = urlsplit(server_url)
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def parse_proxy(text: str) -> str:
    """The proxy's URL (``""`` for none: the system's settings apply); a bare ``host:port`` means http.
    Raises ValueError with a sentence that never repeats the text (a token pasted into the wrong field
    must not end up on screen or in a log)."""
    text = text.strip()
    if not text:
        return ""
    url = text if "://" in text else "http://" + text
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if "://" not in text and port is None:  # a bare word is not a proxy (a pasted token looks like one)
        port = -1
    if (parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname or port == -1 or " " in text
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ValueError("The proxy is not an address like http://proxy.example.com:8080 "
                         "(leave it empty to use the system's settings).")
    return url.rstrip("/")
