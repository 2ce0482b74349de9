"""Kafka topic names and their creation, in one place (ADR 0017).

Topics are created explicitly with a fixed partition count before anything produces or
consumes: brokers that auto-create (tansu does, with 4 partitions) would otherwise pick a
count for us, and the partition count decides how far consumers can scale out.
"""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from domain.integration import Topic

log = logging.getLogger(__name__)

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


def topic_name(prefix: str, topic: Topic) -> str:
    return f"{prefix}.{topic.value}"


def bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092,h2:9092`` or ``h1:9092,h2:9092`` -> ``h1:9092,h2:9092``."""
    return url.removeprefix("kafka://").replace(";", ",")


async def ensure_topics(url: str, prefix: str, partitions: int) -> None:
    """Create every Boardroom topic that does not exist yet (an existing one is kept as is)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(url))
    await admin.start()
    try:
        wanted = [NewTopic(topic_name(prefix, t), partitions, 1) for t in Topic]
        response = await admin.create_topics(wanted)
        for name, code, message in response.topic_errors:
            if code == 0:
                log.info("created topic %s with %d partitions", name, partitions)
            elif code != _ALREADY_EXISTS:
                raise RuntimeError(f"could not create topic {name}: {code} {message}")
    finally:
        await admin.close()
