"""Which new passwords are refused, after NIST SP 800-63B (5.1.1.2): no composition rules, but
nothing that is commonly used, found in breaches, repetitive or sequential, or made of the
account's own details.

The judge is zxcvbn (Dropbox's estimator, in its maintained Python port): it knows the most
common passwords of public breaches, dictionary words, names, keyboard walks, repeats,
sequences and dates, and estimates the guesses needed. A password is refused below score 3
(about 10^8 guesses: with argon2id that is years of an attacker's time per account).
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_SCORE = 3
JUDGED_CHARACTERS = 72  # zxcvbn's own bound; a longer passphrase is judged by its start


def password_weakness(password: str, account_details: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, for the person choosing it; None when it is accepted.
    ``account_details`` (the e-mail address, the name) must not make it guessable."""
    result = zxcvbn(password[:JUDGED_CHARACTERS], user_inputs=[d for d in account_details if d])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hint = feedback["warning"] or "It would be guessed quickly."
    advice = " ".join(feedback["suggestions"])
    return f"This password is too easy to guess. {hint} {advice}".strip()
