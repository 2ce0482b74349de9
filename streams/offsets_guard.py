"""A consumer group must not start past the end of its partitions (ADR 0039).

Kafka answers a fetch beyond a partition's end with OFFSET_OUT_OF_RANGE, and the consumer
resets to the earliest offset. The development broker (tansu, memory only) forgets its log
and its groups when it restarts, accepts a committed offset beyond the new log's end, and
answers such a fetch with nothing, for ever; faust, which keeps its offset bookkeeping in
memory, commits offsets of the old log into the new broker. A worker starting from such an
offset would skip every new event. So before the worker joins its group, every committed
offset beyond its partition's end is moved back to the partition's beginning. The agents
are idempotent: what is read again changes nothing.
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from domain.integration import Topic
from streams.topics import bootstrap_servers, tls_options, topic_name

log = logging.getLogger(__name__)

PROBE_SECONDS = 3.0
"""How long to look for the last message a group read before calling it missing."""


async def rewind_offsets_past_the_end(
    url: str, group: str, prefix: str, topics: tuple[Topic, ...], partitions: int
) -> list[TopicPartition]:
    """Move ``group``'s committed offsets that lie beyond their partition's end back to its
    beginning; the partitions rewound."""
    servers, tls = bootstrap_servers(url), tls_options(url)
    wanted = [TopicPartition(topic_name(prefix, t), i) for t in topics for i in range(partitions)]
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, **tls)
    await admin.start()
    try:
        # tansu needs the partitions named: without them aiokafka cannot decode its answer.
        committed: dict[
            TopicPartition, OffsetAndMetadata
        ] = await admin.list_consumer_group_offsets(group, partitions=wanted)
    finally:
        await admin.close()
    reader = AIOKafkaConsumer(
        bootstrap_servers=servers, enable_auto_commit=False, fetch_max_wait_ms=100, **tls
    )
    await reader.start()
    try:
        ends = await reader.end_offsets(wanted)
        # tansu under-reports ends after batched produces: a committed offset above the
        # reported end is past the end only if the last message it says was read is missing.
        suspects = {
            tp: offset.offset
            for tp, offset in committed.items()
            if offset is not None and offset.offset > ends.get(tp, offset.offset)
        }
        missing = await _without_last_read(reader, suspects)
        starts = await reader.beginning_offsets(list(missing)) if missing else {}
    finally:
        await reader.stop()
    past = {tp: starts[tp] for tp in missing}
    if not past:
        return []
    for tp in past:
        log.warning(
            "group %s: committed offset %d of %s[%d] is past the partition's end %d (a broker "
            "that lost its log); reading it again from %d",
            group,
            committed[tp].offset,
            tp.topic,
            tp.partition,
            ends[tp],
            past[tp],
        )
    # A commit outside the group (generation -1): accepted while no member is in the group,
    # which is the case when a worker starts after the broker lost its state.
    writer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=group, enable_auto_commit=False, **tls
    )
    await writer.start()
    try:
        writer.assign(list(past))
        await writer.commit(dict(past))
    finally:
        await writer.stop()
    return list(past)


async def _without_last_read(
    reader: AIOKafkaConsumer, committed: dict[TopicPartition, int]
) -> set[TopicPartition]:
    """The partitions that hold no message at ``committed - 1``."""
    if not committed:
        return set()
    reader.assign(list(committed))
    for tp, offset in committed.items():
        reader.seek(tp, offset - 1)
    found: set[TopicPartition] = set()
    deadline = time.monotonic() + PROBE_SECONDS
    while len(found) < len(committed) and time.monotonic() < deadline:
        batch = await reader.getmany(timeout_ms=200)
        for tp, records in batch.items():
            if any(record.offset == committed[tp] - 1 for record in records):
                found.add(tp)
                reader.pause(tp)
    return set(committed) - found
