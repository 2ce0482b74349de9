"""Routes that check credentials spend the client address's budget first (ADR 0040)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from auth.address_budget import AddressBudget
from domain.errors import RateLimited

ADDRESS_BUDGET: web.AppKey[AddressBudget] = web.AppKey("address_budget", AddressBudget)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def address_limited(handler: Handler) -> Handler:
    """``handler`` refused ``rate_limited`` (HTTP 429, ``Retry-After``) once the client's
    address has spent its credential checks of this minute."""

    async def limited(request: web.Request) -> web.StreamResponse:
        wait = await request.app[ADDRESS_BUDGET].spend(request.remote or "unknown")
        if wait is not None:
            raise RateLimited(
                "Too many sign-in attempts from this network address; retry later.",
                retry_after=float(max(1, math.ceil(wait))),
            )
        return await handler(request)

    return limited
