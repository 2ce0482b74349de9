"""argon2id password hashing at or above the OWASP floor (m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    memory_kib: int = OWASP_MIN_MEMORY_KIB
    time_cost: int = OWASP_MIN_TIME_COST
    parallelism: int = 1

    def __post_init__(self) -> None:
        if self.memory_kib < OWASP_MIN_MEMORY_KIB or self.time_cost < OWASP_MIN_TIME_COST:
            raise ValueError("argon2id parameters below the OWASP floor (m=19 MiB, t=2, p=1)")


class Passwords:
    """Hash and verify passwords. Both calls are CPU-bound: run them off the event loop."""

    def __init__(self, policy: PasswordPolicy | None = None) -> None:
        p = policy or PasswordPolicy()
        self._hasher = PasswordHasher(
            time_cost=p.time_cost,
            memory_cost=p.memory_kib,
            parallelism=p.parallelism,
            type=Type.ID,
        )
        # Verifying against this when the account does not exist keeps the timing of a failed
        # login the same whether or not the e-mail address is registered.
        self._decoy_hash = self._hasher.hash("boardroom-decoy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; a missing hash still costs one verification."""
        try:
            return self._hasher.verify(password_hash or self._decoy_hash, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
