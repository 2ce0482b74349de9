"""Outgoing webhooks: signing, retry schedule and which addresses may be called (ADR 0021).

Receivers verify ``X-Boardroom-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<X-Boardroom-Timestamp>.<raw body>"`` with the webhook's secret, and reject timestamps
older than a few minutes (a captured delivery cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

SIGNATURE_HEADER = "X-Boardroom-Signature"
TIMESTAMP_HEADER = "X-Boardroom-Timestamp"
EVENT_HEADER = "X-Boardroom-Event"
DELIVERY_HEADER = "X-Boardroom-Delivery"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float = 3600.0) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base, 2x, 4x ... capped."""
    return float(min(base_seconds * 2 ** max(attempts - 1, 0), cap_seconds))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_internal_address(address: str) -> bool:
    """Whether a webhook must not reach ``address``: anything not globally routable
    (``ipaddress``'s ``is_global``: loopback, RFC 1918, link-local and cloud metadata, carrier-
    grade NAT 100.64.0.0/10, documentation, benchmarking, reserved...), multicast, and IPv6
    forms that carry an IPv4 address (IPv4-mapped, NAT64 ``64:ff9b::/96``: judged by that IPv4
    address) or tunnel to any one (6to4 ``2002::/16``, Teredo ``2001::/32``: always refused).
    Not an IP address at all: False (a host name is resolved and its addresses judged)."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.sixtofour is not None or ip.teredo is not None:
            return True
        if ip.ipv4_mapped is not None:
            return is_internal_address(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return is_internal_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return not ip.is_global or ip.is_multicast


def host_is_internal(host: str) -> bool:
    """What can be refused without a DNS lookup: IP literals of internal ranges, localhost."""
    name = host.strip("[]").lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost") or is_internal_address(name)
