"""Signing in: one call that checks the token and learns what the server can do."""

from __future__ import annotations

from dataclasses import dataclass, field

from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.errors import InvalidTokenError
from speckle_uploader.speckle.file_rules import accepted_extensions
from speckle_uploader.speckle.http import SpeckleHttp
from speckle_uploader.speckle.models import ServerInfo, User
from speckle_uploader.speckle.subscriptions import SubscriptionClient
from speckle_uploader.text import clean_token, mask_secret


@dataclass
class Session:
    client: SpeckleClient
    server: ServerInfo
    user: User
    live: SubscriptionClient | None = None
    # File types this server is known to import; a refusal by the server removes one for the session.
    accepted_extensions: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.accepted_extensions:
            self.accepted_extensions = accepted_extensions(self.server.kind)

    async def aclose(self) -> None:
        if self.live is not None:
            await self.live.aclose()
        await self.client.aclose()


async def sign_in(server_url: str, token: str, *, proxy: str | None = None, live: bool = True,
                  allow_plain_http_blobs: bool = False) -> Session:
    """Check the token (``activeUser``) and detect the server's upload API; raises typed errors.

    The token is checked over HTTP first: a websocket would accept a bad one and stay silent. Whitespace
    pasted with it (a no-break space too) is dropped; any other character that is not ASCII is refused.
    ``allow_plain_http_blobs``: the user lets this https server hand out plain-HTTP upload addresses."""
    try:
        token = clean_token(token)
    except ValueError as exc:
        raise InvalidTokenError(str(exc), code="TOKEN_NOT_ASCII") from None
    if not token:
        raise InvalidTokenError("No token given.")
    mask_secret(token)
    http = SpeckleHttp(server_url, token, proxy=proxy, allow_plain_http_blobs=allow_plain_http_blobs)
    client = SpeckleClient(server_url, token, http=http)
    try:
        user = await client.active_user()
        server = await client.server_info()
    except BaseException:
        await client.aclose()
        raise
    subscriptions = SubscriptionClient(client.server_url, token, proxy=proxy) if live else None
    return Session(client, server, user, subscriptions)
