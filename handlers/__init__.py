"""Thin entry points: parse (pydantic), call one application service, reply.

Errors are translated exactly twice, in one module: to Socket.IO acks and to REST responses.
"""
