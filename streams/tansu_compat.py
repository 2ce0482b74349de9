"""The one place that bends faust-streaming for the tansu broker (ADR 0020).

Faust hard-codes the consumer's ``fetch_max_wait_ms`` to 1,500 ms. Kafka answers a fetch as
soon as data arrives, but tansu 0.6 waits out the full time, which put ~750 ms of median
latency on every message. Waiting at most 20 ms costs a real Kafka (MSK) a few more empty
fetches per second per partition, and nothing else, so the same setting serves both.

Everything else the broker needs is ordinary faust configuration, set in
``streams.worker_app.faust_settings``.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 20


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by the fetcher at start()
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """``faust.App`` whose consumers wait at most ``FETCH_MAX_WAIT_MS`` per fetch."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
