"""Registration, login, refresh-token rotation and logout (ADR 0004)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from application import integration_events
from application.invitations import accept_pending
from application.ports import SessionNotifier
from auth.passwords import Passwords
from auth.tokens import (
    AccessClaims,
    AccessTokens,
    DeviceTokens,
    new_refresh_token,
    refresh_token_digest,
)
from domain.commands import ChangePassword, Login, Logout, Refresh, Register
from domain.errors import Conflict, RateLimited, Unauthorized
from domain.integration import SecurityEventType
from domain.models import User
from persistence import login_failures, refresh_tokens, users
from persistence.db import Connection
from persistence.errors import DuplicateKey


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    session_id: UUID
    access_token: str
    refresh_token: str
    expires_in: int
    device_token: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body = {
            "user": self.user.as_dict(),
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.device_token is not None:
            body["device_token"] = self.device_token
        return body


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """Failed logins allowed per hour and address: from unknown devices together, and from
    each device that logged in to the account before (ADR 0022)."""

    per_address: int = 100
    per_device: int = 10
    window: timedelta = timedelta(hours=1)


log = logging.getLogger(__name__)

_BAD_LOGIN = "E-mail address or password is wrong."
_THROTTLED = "Too many failed logins for this address; try again later."


class AuthService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        passwords: Passwords,
        access_tokens: AccessTokens,
        refresh_ttl: timedelta,
        sessions: SessionNotifier,
        devices: DeviceTokens,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._pool = pool
        self._passwords = passwords
        self._access = access_tokens
        self._refresh_ttl = refresh_ttl
        self._sessions = sessions
        self._devices = devices
        self._throttle = throttle or LoginThrottle()

    async def register(self, cmd: Register) -> Session:
        password_hash = await asyncio.to_thread(self._passwords.hash, cmd.password)
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                user = await users.insert(
                    conn, uuid.uuid4(), str(cmd.email), cmd.display_name, password_hash
                )
            except DuplicateKey as exc:
                raise Conflict(
                    "An account with this e-mail address already exists.",
                    {"field": "email"},
                ) from exc
            await accept_pending(conn, user)
            await integration_events.security_event(
                conn,
                SecurityEventType.USER_REGISTERED,
                actor_id=user.id,
                workspace_id=None,
                data={"user_id": str(user.id), "email": user.email},
            )
            return await self._start_session(conn, user, family_id=uuid.uuid4())

    async def login(self, cmd: Login) -> Session:
        """Throttled per address before the password is even checked, so a throttled answer
        says nothing about the password, and unknown addresses are throttled alike."""
        email_key = str(cmd.email).lower()
        device = self._devices.device_for(cmd.device_token, email_key)
        attempt = await self._count_attempt(email_key, device)
        async with self._pool.acquire() as conn:
            found = await users.credentials_by_email(conn, str(cmd.email))
        user, password_hash = found if found else (None, None)
        ok = await asyncio.to_thread(self._passwords.verify, password_hash, cmd.password)
        if not ok or user is None:
            async with self._pool.acquire() as conn, conn.transaction():
                await integration_events.security_event(
                    conn,
                    SecurityEventType.LOGIN_FAILED,
                    actor_id=user.id if user else None,
                    workspace_id=None,
                    data={
                        "email": email_key,
                        "known_account": user is not None,
                        "trusted_device": device is not None,
                    },
                    outcome="failure",
                )
            raise Unauthorized(_BAD_LOGIN, {"reason": "bad_credentials"})
        async with self._pool.acquire() as conn, conn.transaction():
            await login_failures.forget(conn, attempt)
            await accept_pending(conn, user)
            session = await self._start_session(conn, user, family_id=uuid.uuid4(), device=device)
            await integration_events.security_event(
                conn,
                SecurityEventType.LOGIN_SUCCEEDED,
                actor_id=user.id,
                workspace_id=None,
                data={"session_id": str(session.session_id), "trusted_device": device is not None},
            )
            return session

    async def _count_attempt(self, email_key: str, device: UUID | None) -> UUID:
        """Count this password attempt as a failure before the password is checked, and refuse
        it when the address (or this device) is over its budget. Counting and checking happen
        under a lock per address, so the limit holds however many attempts arrive at once, on
        however many instances; a successful attempt is forgotten afterwards."""
        async with self._pool.acquire() as conn, conn.transaction():
            await login_failures.lock(conn, email_key)
            failures = await login_failures.recent(conn, email_key, device, self._throttle.window)
            self._check_throttle(failures, device)
            return await login_failures.record(conn, email_key, device, self._throttle.window)

    def _check_throttle(self, failures: login_failures.Failures, device: UUID | None) -> None:
        if device is None and failures.untrusted >= self._throttle.per_address:
            raise RateLimited(_THROTTLED, retry_after=max(1.0, failures.untrusted_clears_in))
        if device is not None and failures.this_device >= self._throttle.per_device:
            raise RateLimited(_THROTTLED, retry_after=max(1.0, failures.device_clears_in))

    async def refresh(self, cmd: Refresh) -> Session:
        """Rotate: spend the presented token and issue a new one in the same family.

        Presenting a token that was already spent means it was copied: the whole family is
        revoked, so both the thief and the owner must log in again.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await refresh_tokens.lock_by_digest(
                conn, refresh_token_digest(cmd.refresh_token)
            )
            if stored is None or stored.revoked_at is not None:
                raise Unauthorized("The refresh token is not valid.", {"reason": "invalid"})
            if stored.used_at is not None:
                await refresh_tokens.revoke_family(conn, stored.family_id)
                await integration_events.security_event(
                    conn,
                    SecurityEventType.REFRESH_TOKEN_REUSED,
                    actor_id=stored.user_id,
                    workspace_id=None,
                    data={"session_id": str(stored.family_id)},
                    outcome="failure",
                )
                # Commit the revocation before answering: raising would roll it back.
                reused = True
            else:
                reused = False
                if stored.expires_at <= datetime.now(UTC):
                    raise Unauthorized("The refresh token has expired.", {"reason": "expired"})
                await refresh_tokens.mark_used(conn, stored.id)
                user = await users.get(conn, stored.user_id)
                if user is None:
                    raise Unauthorized("The account no longer exists.", {"reason": "invalid"})
                session = await self._start_session(
                    conn, user, family_id=stored.family_id, with_device_token=False
                )
        if reused:
            await self._end(stored.user_id, stored.family_id, "refresh_token_reused")
            raise Unauthorized(
                "This refresh token was already used; every session of its login is now revoked.",
                {"reason": "reused"},
            )
        return session

    async def logout(self, cmd: Logout) -> None:
        """Revoke the login the token belongs to. Unknown tokens are ignored (idempotent)."""
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await refresh_tokens.lock_by_digest(
                conn, refresh_token_digest(cmd.refresh_token)
            )
            if stored is not None:
                await refresh_tokens.revoke_family(conn, stored.family_id)
                await integration_events.security_event(
                    conn,
                    SecurityEventType.LOGGED_OUT,
                    actor_id=stored.user_id,
                    workspace_id=None,
                    data={"session_id": str(stored.family_id)},
                )
        if stored is not None:
            await self._end(stored.user_id, stored.family_id, "logout")

    async def change_password(self, user_id: UUID, cmd: ChangePassword) -> Session:
        """Check the current password, store the new one, end every login of the account (its
        sockets on every instance too) and start a new one for the caller."""
        async with self._pool.acquire() as conn:
            user = await users.get(conn, user_id)
            current_hash = await users.lock_password_hash(conn, user_id) if user else None
        if user is None or current_hash is None:
            raise Unauthorized("The account no longer exists.", {"reason": "invalid"})
        # The current password is guessed against the same budget as logins of the address:
        # an access token must not turn this route into an unthrottled password oracle.
        attempt = await self._count_attempt(user.email.lower(), None)
        ok = await asyncio.to_thread(self._passwords.verify, current_hash, cmd.current_password)
        if not ok:
            raise Unauthorized(
                "The current password is wrong.",
                {"reason": "bad_credentials", "field": "current_password"},
            )
        new_hash = await asyncio.to_thread(self._passwords.hash, cmd.new_password)
        async with self._pool.acquire() as conn, conn.transaction():
            await login_failures.forget(conn, attempt)
            if await users.lock_password_hash(conn, user_id) != current_hash:
                raise Conflict("The password was changed meanwhile; sign in again.", None)
            await users.set_password_hash(conn, user_id, new_hash)
            ended = await refresh_tokens.revoke_user(conn, user_id)
            session = await self._start_session(conn, user, family_id=uuid.uuid4())
            await integration_events.security_event(
                conn,
                SecurityEventType.PASSWORD_CHANGED,
                actor_id=user_id,
                workspace_id=None,
                data={"sessions_ended": len(ended), "session_id": str(session.session_id)},
            )
        await self._end(user_id, None, "password_changed")
        return session

    async def _end(self, user_id: UUID, session_id: UUID | None, reason: str) -> None:
        """After commit: disconnect the login's live sockets. A failure is logged, not raised:
        the login is revoked in the database, which already refuses its next connection."""
        try:
            await self._sessions.ended(user_id, session_id, reason)
        except Exception:
            log.exception("could not end the live sockets of session %s", session_id)

    async def display_name(self, user_id: UUID) -> str:
        async with self._pool.acquire() as conn:
            user = await users.get(conn, user_id)
        return user.display_name if user else "(deleted account)"

    async def authenticate(self, access_token: object) -> AccessClaims:
        """The claims of a valid access token whose login is still live; else ``Unauthorized``.

        Checking the login (refresh-token family) makes logout and reuse detection effective at
        once for new connections, instead of when the 15-minute token expires.
        """
        claims = self._access.verify(access_token)
        async with self._pool.acquire() as conn:
            if not await refresh_tokens.family_active(conn, claims.session_id):
                raise Unauthorized("This login has ended; log in again.", {"reason": "revoked"})
        return claims

    async def live_logins(self, session_ids: set[UUID]) -> set[UUID]:
        """Which of these logins (refresh-token families) have not ended."""
        async with self._pool.acquire() as conn:
            return {s for s in session_ids if await refresh_tokens.family_active(conn, s)}

    async def _start_session(
        self,
        conn: Connection,
        user: User,
        family_id: UUID,
        device: UUID | None = None,
        with_device_token: bool = True,
    ) -> Session:
        """A new refresh token in ``family_id`` and an access token; logins and registrations
        also get a device token (the same device id when the device was known)."""
        token = new_refresh_token()
        expires = datetime.now(UTC) + self._refresh_ttl
        await refresh_tokens.insert(conn, user.id, family_id, refresh_token_digest(token), expires)
        access = self._access.issue(user.id, family_id)
        device_token = (
            self._devices.issue(user.id, user.email, device) if with_device_token else None
        )
        return Session(user, family_id, access, token, self._access.ttl_seconds, device_token)
