"""The centre's HTTP client to its boxes: logs in with the centre's own account, fetches clips.

One session per box, made on first use and made again when the box answers 401 (expired, or the
box restarted with its sessions revoked). Responses are streamed, so a long clip passes through
without being held in memory.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from custodywatch.central_config import BoxLink

CONNECT_TIMEOUT_S = 5.0
# What a clip response may carry through the centre (range requests included).
PASSED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "content-disposition",
                  "last-modified", "etag")


class BoxUnreachable(Exception):
    """The box did not answer, or refused the centre's account (the message names the box)."""


@dataclass(frozen=True)
class BoxResponse:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]
    response: httpx.Response

    async def close(self) -> None:
        await self.response.aclose()


class BoxClient:
    def __init__(self, link: BoxLink):
        self.link = link
        self._client = httpx.AsyncClient(
            base_url=link.url, verify=link.ca_file or True,
            timeout=httpx.Timeout(link.timeout_s, connect=CONNECT_TIMEOUT_S))
        self._token: str | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return f"{self.link.site}/{self.link.box}"

    async def get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> BoxResponse:
        """GET `path` on the box as the centre's account; 401 once means log in again and retry."""
        for attempt in range(2):
            token = await self._session(renew=attempt > 0)
            request = self._client.build_request("GET", path, params=params,
                                                 headers={**headers, "Authorization": f"Bearer {token}"})
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise BoxUnreachable(f"box {self.name} at {self.link.url}: "
                                     f"{type(exc).__name__}: {exc}") from None
            if response.status_code == httpx.codes.UNAUTHORIZED and attempt == 0:
                await response.aclose()
                continue
            kept = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
            return BoxResponse(response.status_code, kept, response.aiter_raw(), response)
        raise BoxUnreachable(f"box {self.name} refuses the centre's account {self.link.username!r}")

    async def _session(self, renew: bool) -> str:
        async with self._lock:
            if self._token is None or renew:
                try:
                    response = await self._client.post("/api/auth/login", json={
                        "username": self.link.username, "password": self.link.password})
                except httpx.HTTPError as exc:
                    raise BoxUnreachable(f"box {self.name} at {self.link.url}: "
                                         f"{type(exc).__name__}: {exc}") from None
                if response.status_code != httpx.codes.OK:
                    raise BoxUnreachable(f"box {self.name} refused the login of the centre's account "
                                         f"{self.link.username!r} (HTTP {response.status_code})")
                self._token = str(response.json()["access_token"])
            return self._token

    async def aclose(self) -> None:
        await self._client.aclose()


class BoxDirectory:
    """The boxes a centre knows, by site and box id."""

    def __init__(self, links: list[BoxLink]):
        self._clients = {(link.site, link.box): BoxClient(link) for link in links}

    def client(self, site: str, box: str) -> BoxClient | None:
        return self._clients.get((site, box))

    def links(self) -> list[BoxLink]:
        return [c.link for c in self._clients.values()]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
