"""The sandbox's Azure Blob Storage: SAS URLs to an Azurite instance (or any Azure account), as the cloud hands
out, and reading back what was stored when an upload is registered.

SAS signing follows the service- and account-SAS string-to-sign of the storage versions used here
(2018-11-09 up to 2020-12-06 without, from 2020-12-06 with the encryption-scope line); the tests check it
against Microsoft's ``azure-storage-blob``. Plain ``hmac``/``base64``: the SDK is a test dependency only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp

log = logging.getLogger(__name__)

# Azurite's well-known development account (published in Microsoft's documentation; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SAS_VERSION = "2021-08-06"
OLD_SAS_VERSION = "2019-07-07"  # before 2019-12-12: one Put Blob takes at most 256 MiB
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=60)


@dataclass
class AzureBlobs:
    """Where the sandbox's uploads go on Azure: ``endpoint`` is the account's blob URL
    (``http://127.0.0.1:10000/devstoreaccount1`` for Azurite)."""

    endpoint: str
    account: str = DEV_ACCOUNT
    key: str = DEV_KEY
    container: str = "speckle-uploads"
    sas_version: str = SAS_VERSION
    permissions: str = "cw"  # what an upload link allows: create and write ("r": a read-only link, a test's fault)
    blob_type_header: bool = True  # hand out additionalRequestHeaders x-ms-blob-type: BlockBlob
    link_endpoint: str | None = None  # where upload links point, if not at ``endpoint`` (a test's proxy in front)

    def blob_url(self, name: str, *, link: bool = False) -> str:
        endpoint = (self.link_endpoint or self.endpoint) if link else self.endpoint
        return f"{endpoint.rstrip('/')}/{self.container}/{quote(name)}"

    def sas_url(self, name: str, *, permissions: str | None = None, expiry: dt.datetime | None = None,
                version: str | None = None, link: bool = True) -> str:
        """A service SAS for one blob (``sr=b``), as ``generateUploadUrl`` hands out on an Azure-backed cloud."""
        expiry = expiry or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        query = self.blob_sas(name, permissions or self.permissions, expiry, version)
        return f"{self.blob_url(name, link=link)}?{query}"

    def blob_sas(self, name: str, permissions: str, expiry: dt.datetime, version: str | None = None) -> str:
        version = version or self.sas_version
        expires = _iso(expiry)
        fields = [permissions, "", expires, f"/blob/{self.account}/{self.container}/{name}", "", "", "", version,
                  "b", ""]
        if version >= "2020-12-06":
            fields.append("")  # signed encryption scope
        fields += ["", "", "", "", ""]  # rscc, rscd, rsce, rscl, rsct
        query = {"se": expires, "sp": permissions, "sv": version, "sr": "b", "sig": self._sign("\n".join(fields))}
        return urlencode(query)

    def account_sas(self, permissions: str = "rwdlac", expiry: dt.datetime | None = None) -> str:
        """An account SAS (blob service, every resource type): what the sandbox uses to make its container."""
        expires = _iso(expiry or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        version = SAS_VERSION
        string_to_sign = "\n".join([self.account, permissions, "b", "sco", "", expires, "", "", version, ""]) + "\n"
        return urlencode({"sv": version, "ss": "b", "srt": "sco", "sp": permissions, "se": expires,
                          "sig": self._sign(string_to_sign)})

    def _sign(self, string_to_sign: str) -> str:
        digest = hmac.new(base64.b64decode(self.key), string_to_sign.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    # -- talking to the store ------------------------------------------------------------------
    async def ensure_container(self) -> None:
        url = f"{self.endpoint.rstrip('/')}/{self.container}?restype=container&{self.account_sas()}"
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http, http.put(url) as response:
            if response.status not in (201, 409):  # 409: ContainerAlreadyExists
                raise RuntimeError(f"cannot create container {self.container}: HTTP {response.status} "
                                   f"{(await response.text())[:300]}")

    async def fetch(self, name: str, target: Path) -> tuple[str, int] | None:
        """Download a stored blob to ``target``: its ETag and size, or None when there is none."""
        url = self.sas_url(name, permissions="r", version=SAS_VERSION, link=False)
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http, http.get(url) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                log.warning("sandbox: reading blob %s answered HTTP %s", name, response.status)
                return None
            size = 0
            with target.open("wb") as handle:
                async for chunk in response.content.iter_chunked(1024 * 1024):
                    handle.write(chunk)
                    size += len(chunk)
            return response.headers.get("ETag", ""), size


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
