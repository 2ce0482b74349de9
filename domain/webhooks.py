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


def is_private_address(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), multicast, reserved or unspecified."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def host_is_internal(host: str) -> bool:
    """What can be refused without a DNS lookup: IP literals of internal ranges, localhost."""
    name = host.strip("[]").lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost") or is_private_address(name)
