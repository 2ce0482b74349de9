"""Credentials: password hashing and token issue/verification (ADR 0004). No I/O here."""
