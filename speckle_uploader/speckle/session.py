"""Signing in: one call that checks the token and learns what the server can do."""

from __future__ import annotations

from dataclasses import dataclass

from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.models import ServerInfo, User


@dataclass
class Session:
    client: SpeckleClient
    server: ServerInfo
    user: User

    async def aclose(self) -> None:
        await self.client.aclose()


async def sign_in(server_url: str, token: str) -> Session:
    """Check the token (``activeUser``) and detect the server's upload API; raises typed errors."""
    client = SpeckleClient(server_url, token)
    try:
        user = await client.active_user()
        server = await client.server_info()
    except BaseException:
        await client.aclose()
        raise
    return Session(client, server, user)
