"""Boardroom's domain model: entities, commands, events, errors and rules.

Pure Python (plus pydantic for command validation): nothing here talks to a network, a database
or a web framework, so the rules can be unit-tested without services (ADR 0001).
"""
