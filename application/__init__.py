"""Application services: authorize, change state in one transaction, publish after commit.

This is the only layer that publishes events, and it does so only once the transaction that
recorded them has committed (the Zulip rule, ADR 0001).
"""
