"""Access JWTs and opaque refresh tokens (ADR 0004).

Access tokens are short-lived HS256 JWTs with the algorithm pinned on verification and the claims
``sub``, ``sid`` (the login it belongs to), ``exp``, ``iat``, ``jti``, ``iss`` and
``typ="access"`` required, signed by the current key of ``SigningKeys`` and named by its
``kid``, so the key can be rotated while earlier tokens stay valid. Refresh tokens are random
opaque strings; only their SHA-256 digest is stored, so a database leak yields nothing usable.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from collections import Counter
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


MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 80


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign tokens, or None. Long is not enough: a character
    repeated 40 times or a short phrase repeated is guessed at once, so the secret must also
    carry ``MIN_SECRET_BITS`` bits by its own character frequencies: a random 32-character hex
    string carries about 115 by that estimate (never below 89 in 200,000 draws),
    ``secrets.token_urlsafe(48)`` about 340, 32 characters from four letters at most 64."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"it must be at least {MIN_SECRET_LENGTH} characters long"
    for period in range(1, len(secret) // 2 + 1):
        if len(secret) % period == 0 and secret[:period] * (len(secret) // period) == secret:
            return "it is a short sequence repeated"
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if per_char * len(secret) < MIN_SECRET_BITS:
        return "it is too predictable (too few distinct characters for its length)"
    return None


@dataclass(frozen=True)
class SigningKeys:
    """The key that signs tokens, and older (or upcoming) keys whose tokens are still accepted,
    so the key can be rotated without refusing the tokens already handed out. Each token names
    its key by a fingerprint in the ``kid`` header; a key is never put in a token."""

    current: str
    accepted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in (self.current, *self.accepted):
            if len(key) < MIN_SECRET_LENGTH:
                raise ValueError(f"a JWT key must be at least {MIN_SECRET_LENGTH} characters")

    @staticmethod
    def key_id(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def current_id(self) -> str:
        return self.key_id(self.current)

    def candidates(self, token: str) -> list[str]:
        """The keys that may have signed ``token``: the one its ``kid`` names, or every key for
        a token without one; none for an unknown ``kid``."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return []
        keys = (self.current, *self.accepted)
        if kid is None:
            return list(keys)
        return [key for key in keys if self.key_id(key) == kid]


def _keys(keys: str | SigningKeys) -> SigningKeys:
    return keys if isinstance(keys, SigningKeys) else SigningKeys(keys)


def _decode(token: str, keys: SigningKeys, required: list[str]) -> dict[str, object]:
    """Verify ``token`` with the key it names (HS256 only, issuer checked, claims required)."""
    candidates = keys.candidates(token)
    if not candidates:
        raise jwt.InvalidTokenError("unknown signing key")
    for key in candidates[:-1]:
        try:
            return _decode_with(token, key, required)
        except jwt.InvalidSignatureError:
            continue
    return _decode_with(token, candidates[-1], required)


def _decode_with(token: str, key: str, required: list[str]) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": required}
    )
    return claims


class AccessTokens:
    def __init__(self, keys: str | SigningKeys, ttl_seconds: int) -> None:
        self._keys = _keys(keys)
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
        return jwt.encode(
            claims, self._keys.current, algorithm=ALGORITHM, headers={"kid": self._keys.current_id}
        )

    def verify(self, token: object) -> AccessClaims:
        """Decode and check ``token``; any failure is ``Unauthorized`` with a reason."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise Unauthorized("An access token is required.", {"reason": "missing"})
        try:
            claims = _decode(token, self._keys, ["sub", "sid", "exp", "iat", "jti", "iss", "typ"])
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
        expires_at = claims["exp"]
        if not isinstance(expires_at, int):
            raise Unauthorized("The access token is invalid.", {"reason": "invalid"})
        return AccessClaims(
            user_id=user_id,
            token_id=str(claims["jti"]),
            expires_at=expires_at,
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

    def __init__(self, keys: str | SigningKeys) -> None:
        self._keys = _keys(keys)

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
        return jwt.encode(
            claims, self._keys.current, algorithm=ALGORITHM, headers={"kid": self._keys.current_id}
        )

    def device_for(self, token: object, email: str) -> UUID | None:
        """The device id when ``token`` is a valid device token for ``email``; else None."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            return None
        try:
            claims = _decode(token, self._keys, ["sub", "eml", "did", "exp", "iss", "typ"])
            if claims.get("typ") != DEVICE_TYPE or claims.get("eml") != email.lower():
                return None
            return UUID(str(claims["did"]))
        except (jwt.PyJWTError, ValueError):
            return None
