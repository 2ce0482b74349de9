"""Posts webhook deliveries with aiohttp, refusing internal addresses unless allowed."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import aiohttp

from application.ports import WebhookRefused
from domain.webhooks import is_private_address


class HttpWebhookSender:
    """Implements ``application.ports.WebhookSender``.

    The host is resolved before each post and refused when any address is internal (the
    metadata service, the VPC, loopback), unless ``allow_private`` (development and tests).
    Redirects are not followed: a receiver cannot bounce a delivery to an internal address.
    """

    def __init__(self, allow_private: bool = False, timeout_seconds: float = 10) -> None:
        self._allow_private = allow_private
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if not self._allow_private:
            await self._refuse_internal(url)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(
            url, data=body, headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            return response.status

    async def _refuse_internal(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        for info in infos:
            address = str(info[4][0])
            if is_private_address(address):
                raise WebhookRefused(f"{host} resolves to the internal address {address}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
