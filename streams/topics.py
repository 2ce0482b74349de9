"""Kafka topic names and their creation, in one place (ADR 0017).

Topics are created explicitly with a fixed partition count before anything produces or
consumes: brokers that auto-create (tansu does, with 4 partitions) would otherwise pick a
count for us, and the partition count decides how far consumers can scale out.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from domain.integration import Topic

log = logging.getLogger(__name__)

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


def topic_name(prefix: str, topic: Topic) -> str:
    return f"{prefix}.{topic.value}"


TLS_SCHEME = "kafka+ssl://"


def bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092,h2:9092`` (or ``kafka+ssl://...``, or no scheme) -> ``h1:9092,h2:9092``."""
    return url.removeprefix(TLS_SCHEME).removeprefix("kafka://").replace(";", ",")


def uses_tls(url: str) -> bool:
    """``kafka+ssl://`` brokers are spoken to over TLS, verified against the system's CAs
    (MSK's TLS listener on port 9094)."""
    return url.startswith(TLS_SCHEME)


def tls_options(url: str) -> dict[str, Any]:
    """What an aiokafka client needs to reach the broker of ``url``."""
    if not uses_tls(url):
        return {}
    return {"security_protocol": "SSL", "ssl_context": ssl.create_default_context()}


async def ensure_topics(url: str, prefix: str, partitions: int, replication: int = 1) -> None:
    """Create every Boardroom topic that does not exist yet (an existing one is kept as is)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(url), **tls_options(url))
    await admin.start()
    try:
        wanted = [NewTopic(topic_name(prefix, t), partitions, replication) for t in Topic]
        response = await admin.create_topics(wanted)
        for name, code, message in response.topic_errors:
            if code == 0:
                log.info("created topic %s with %d partitions", name, partitions)
            elif code != _ALREADY_EXISTS:
                raise RuntimeError(f"could not create topic {name}: {code} {message}")
    finally:
        await admin.close()
