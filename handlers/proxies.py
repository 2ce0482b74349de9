"""The client's address behind a load balancer (ADR 0040).

Behind a proxy every request comes from the proxy's address, so limits per client address
(handlers.address_limits) and the origin recorded with each change would see one client.
Proxies append the address they received a request from to ``X-Forwarded-For``; only the
entries appended by proxies we run can be believed, since a client can send any header. So,
when the peer is a trusted proxy, the client is the right-most address of the header that is
not itself a trusted proxy. Every later handler then reads ``request.remote`` as the client's
address, the Socket.IO handshake included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/16", "127.0.0.1"]`` as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: tuple[Network, ...]
) -> bool:
    return ip is not None and any(ip in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str, networks: tuple[Network, ...]
) -> str | None:
    """The client's address: the peer itself unless it is a trusted proxy; then the right-most
    ``X-Forwarded-For`` entry that is not one (the left-most, if every entry is)."""
    if peer is None or not networks or not _trusted(_address(peer), networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if not _trusted(ip, networks):
            return hop if ip is not None else peer
    return hops[0] if hops else peer


def trusted_proxy_middleware(networks: tuple[Network, ...]) -> Any:
    @web.middleware
    async def resolve_client(request: web.Request, handler: Any) -> web.StreamResponse:
        address = client_address(
            request.remote, request.headers.get("X-Forwarded-For", ""), networks
        )
        if address is not None and address != request.remote:
            request = request.clone(remote=address)
        response: web.StreamResponse = await handler(request)
        return response

    return resolve_client
