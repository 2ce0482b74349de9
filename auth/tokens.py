"""Access JWTs and opaque refresh tokens (ADR 0004).

Access tokens are short-lived HS256 JWTs with the algorithm pinned on verification and the claims
``sub``, ``sid`` (the login it belongs to), ``exp``, ``iat``, ``jti``, ``iss`` and
``typ="access"`` required. Refresh tokens are random opaque strings; only their SHA-256 digest
is stored, so a database leak yields nothing usable.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

import jwt

from domain.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "boardroom"
ACCESS_TYPE = "access"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    token_id: str
    expires_at: int
    session_id: UUID  # the login (refresh-token family) this token was issued for


class AccessTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: UUID, session_id: UUID, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "iss": ISSUER,
            "typ": ACCESS_TYPE,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: object) -> AccessClaims:
        """Decode and check ``token``; any failure is ``Unauthorized`` with a reason."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise Unauthorized("An access token is required.", {"reason": "missing"})
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "sid", "exp", "iat", "jti", "iss", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired.", {"reason": "expired"}) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is invalid.", {"reason": "invalid"}) from exc
        if claims.get("typ") != ACCESS_TYPE:
            raise Unauthorized("The token is not an access token.", {"reason": "invalid"})
        try:
            user_id = UUID(str(claims["sub"]))
            session_id = UUID(str(claims["sid"]))
        except ValueError as exc:
            raise Unauthorized("The access token is invalid.", {"reason": "invalid"}) from exc
        return AccessClaims(
            user_id=user_id,
            token_id=str(claims["jti"]),
            expires_at=claims["exp"],
            session_id=session_id,
        )


def new_refresh_token() -> str:
    """An opaque, unguessable refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> bytes:
    """What is stored and looked up: tokens are high-entropy, so a fast hash suffices."""
    return hashlib.sha256(token.encode()).digest()


DEVICE_TYPE = "device"
DEVICE_TTL_SECONDS = 365 * 24 * 3600


class DeviceTokens:
    """Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a
    browser or app that has logged in to an account before proves it at the next login, and
    keeps its own small failure allowance when strangers exhaust the account's (ADR 0022)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(self, user_id: UUID, email: str, device_id: UUID | None = None) -> str:
        issued = int(time.time())
        claims = {
            "sub": str(user_id),
            "eml": email.lower(),
            "did": str(device_id or uuid.uuid4()),
            "iat": issued,
            "exp": issued + DEVICE_TTL_SECONDS,
            "iss": ISSUER,
            "typ": DEVICE_TYPE,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def device_for(self, token: object, email: str) -> UUID | None:
        """The device id when ``token`` is a valid device token for ``email``; else None."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            return None
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "eml", "did", "exp", "iss", "typ"]},
            )
            if claims.get("typ") != DEVICE_TYPE or claims.get("eml") != email.lower():
                return None
            return UUID(str(claims["did"]))
        except (jwt.PyJWTError, ValueError):
            return None
