"""Posts webhook deliveries with aiohttp, refusing internal addresses unless allowed."""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from application.ports import WebhookRefused
from domain.webhooks import host_is_internal, is_internal_address

log = logging.getLogger(__name__)


class PublicOnlyResolver(AbstractResolver):
    """The default resolver, refusing a host when any of its addresses is internal. aiohttp
    connects to exactly the addresses returned here, so the address checked is the address
    used: no second lookup that a rebinding DNS server could answer differently."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if is_internal_address(result["host"]):
                raise WebhookRefused(f"{host} resolves to an internal address")
        return results

    async def close(self) -> None:
        await self._inner.close()


class HttpWebhookSender:
    """Implements ``application.ports.WebhookSender``.

    Internal addresses (the metadata service, the VPC, loopback, carrier-grade NAT...) are
    refused unless ``allow_private`` (development and tests): IP literals before connecting,
    host names by the resolver the connection itself uses. Redirects are not followed: a
    receiver cannot bounce a delivery to an internal address. Failures are reported in two
    words ("could not connect", "timed out"), the same whatever went wrong on the network, so
    the delivery log is no port scanner; the detail goes to the debug log.
    """

    def __init__(self, allow_private: bool = False, timeout_seconds: float = 10) -> None:
        self._allow_private = allow_private
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        host = urlsplit(url).hostname or ""
        if not self._allow_private and host_is_internal(host):
            raise WebhookRefused(f"{host} is an internal address")
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return response.status
        except WebhookRefused:
            raise
        except TimeoutError as exc:
            log.debug("webhook to %s timed out: %r", host, exc)
            raise TimeoutError("timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            log.debug("webhook to %s failed: %r", host, exc)
            raise ConnectionError("could not connect") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            options: dict[str, Any] = {}
            if not self._allow_private:
                options["resolver"] = PublicOnlyResolver()
            connector = aiohttp.TCPConnector(**options)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
