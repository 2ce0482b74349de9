"""Broker URLs: `kafka://` is plaintext, `kafka+ssl://` is TLS verified against the system's
CAs, for the relay's producer, the topic admin and the faust worker alike. (The suite's broker
speaks plaintext only, so the TLS handshake itself is not exercised here.)"""

from __future__ import annotations

import ssl

from streams.topics import bootstrap_servers, tls_options, uses_tls
from streams.worker_app import WorkerConfig, faust_settings

MSK_TLS = "kafka+ssl://b-1.msk.example:9094,b-2.msk.example:9094"


def _worker(url: str) -> WorkerConfig:
    return WorkerConfig(
        database_url="postgresql://db/x",
        kafka_url=url,
        redis_url=None,
        redis_channel="c",
        topic_prefix="p",
        partitions=2,
    )


def test_bootstrap_servers_drop_the_scheme():
    assert bootstrap_servers(MSK_TLS) == "b-1.msk.example:9094,b-2.msk.example:9094"
    assert bootstrap_servers("kafka://a:9092;b:9092") == "a:9092,b:9092"
    assert bootstrap_servers("a:9092") == "a:9092"


def test_tls_urls_get_a_verifying_context_and_plain_ones_none():
    assert not uses_tls("kafka://a:9092") and tls_options("kafka://a:9092") == {}
    options = tls_options(MSK_TLS)
    assert options["security_protocol"] == "SSL"
    context = options["ssl_context"]
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_the_worker_speaks_tls_to_a_tls_broker():
    settings = faust_settings(_worker(MSK_TLS))
    assert isinstance(settings["broker_credentials"], ssl.SSLContext)
    assert settings["broker"] == "kafka://b-1.msk.example:9094;kafka://b-2.msk.example:9094"
    assert "broker_credentials" not in faust_settings(_worker("kafka://a:9092"))
