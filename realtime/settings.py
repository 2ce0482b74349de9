"""All configuration, read once from environment variables (listed in README.md)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, JsonValue, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from auth.tokens import SigningKeys, secret_weakness

log = logging.getLogger(__name__)


_MAKE_A_KEY = (
    "Use at least 32 random characters, e.g. "
    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
)


class Mode(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


def _shown(default: str) -> dict[str, JsonValue]:
    """How the configuration reference shows a default that is computed, not a constant."""
    return {"shown_default": default}


class LogSettings(BaseSettings):
    """How every command logs and traces (read before anything else is configured).

    Every field's description is its entry in docs/configuration.md, which
    ``boardroom config-doc`` writes from these classes (a test keeps it current)."""

    model_config = SettingsConfigDict(
        env_prefix="BOARDROOM_", extra="ignore", populate_by_name=True
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="least severe level logged, on stderr"
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="`json` (one object per line with the request's correlation fields, "
        "ADR 0025) or `text`",
        json_schema_extra=_shown("`json` (`text` for `boardroom dev`)"),
    )
    traces_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="where spans go: `none`, `console` (JSON lines on stdout) or `otlp` (to "
        "`OTEL_EXPORTER_OTLP_ENDPOINT`, OTLP over HTTP); sampling by the standard "
        "`OTEL_TRACES_SAMPLER` (ADR 0028)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class DatabaseSettings(LogSettings):
    """What ``boardroom migrate`` needs: the database, and no secrets."""

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "BOARDROOM_DATABASE_URL"),
        description="PostgreSQL DSN, `postgresql://user:password@host:5432/db`",
        json_schema_extra=_shown("embedded in `dev`; required otherwise"),
    )
    database_password: str | None = Field(
        default=None,
        description="password for `DATABASE_URL`'s user, kept out of the URL (e.g. injected "
        "from the RDS-managed secret); replaces any password the URL has",
    )

    @model_validator(mode="after")
    def _database_password(self) -> DatabaseSettings:
        if self.database_url and self.database_password:
            self.database_url = with_password(self.database_url, self.database_password)
        return self


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` for its user (quoted), whatever password it had."""
    parts = urlsplit(url)
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Settings(DatabaseSettings):
    mode: Mode = Field(
        default=Mode.PRODUCTION,
        description="`dev` generates a JWT key and seeds the demo account",
        json_schema_extra=_shown("`production` (`boardroom dev` sets `dev`)"),
    )
    host: str = Field(default="127.0.0.1", description="listen address (the image sets 0.0.0.0)")
    port: int = Field(default=8080, ge=0, le=65535, description="listen port")
    public_url: str | None = Field(
        default=None,
        description="the URL users open (printed, and the default allowed origin)",
        json_schema_extra=_shown("`http://HOST:PORT`"),
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "BOARDROOM_REDIS_URL"),
        description="Redis URL (`rediss://` for TLS) for the Socket.IO manager, the registry "
        "of each user's sockets, presence and limits",
        json_schema_extra=_shown("embedded in `dev`; none for `serve` (one instance only)"),
    )
    redis_password: str | None = Field(
        default=None,
        description="password (ElastiCache AUTH token) for `REDIS_URL`, kept out of the URL",
    )
    redis_channel: str = Field(
        default="boardroom",
        description="pub/sub channel shared by the instances of one deployment; also the "
        "prefix of its Redis keys",
    )
    kafka_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_URL", "BOARDROOM_KAFKA_URL"),
        description="Kafka bootstrap servers, `kafka://host:port[,host:port]`; "
        "`kafka+ssl://` speaks TLS, verified against the system's CAs (MSK's port 9094)",
        json_schema_extra=_shown("embedded in `dev`; none for `serve` (events wait in the outbox)"),
    )
    kafka_topic_prefix: str = Field(
        default="boardroom",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="topic names `<prefix>.project-events`, `.security-events`, `.dead-letter`; "
        "the worker's consumer group is `<prefix>-worker`",
    )
    kafka_partitions: int = Field(
        default=8, ge=1, le=1024, description="partitions of the topics Boardroom creates"
    )
    kafka_replication: int = Field(
        default=1,
        ge=1,
        le=7,
        description="replicas of each topic Boardroom creates (3 on a three-broker MSK cluster)",
    )
    outbox_relay: bool = Field(
        default=True, description="run the outbox relay in this server (one leads at a time)"
    )
    outbox_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="outbox rows per publish batch"
    )
    outbox_retention_hours: float = Field(
        default=24, gt=0, description="how long published outbox rows are kept"
    )
    dead_letter_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="tries of a failing message before an agent sends it to the dead-letter "
        "topic (an unavailable database or Redis is retried without limit)",
    )
    worker_metrics_port: int = Field(
        default=9465, ge=0, le=65535, description="the worker's /metrics port; `0` turns it off"
    )
    worker_timer_seconds: float = Field(
        default=5,
        gt=0,
        description="how often each worker sends due reminders, retries webhooks and late "
        "pushes, and sends digests",
    )
    worker_stall_seconds: float = Field(
        default=120,
        gt=0,
        description="a worker whose audit agent finished nothing for this long while published "
        "events wait unrecorded as long reports itself stalled (metric and health check)",
    )
    worker_stop_seconds: float = Field(
        default=10,
        gt=0,
        description="a worker still stopping this long after SIGTERM exits at once (its "
        "unfinished messages are processed again by the next worker)",
    )
    smtp_url: str | None = Field(
        default=None,
        description="`smtp://[user:pass@]host:port[?starttls=true]` or `smtps://`; unset: no "
        "e-mail is sent",
    )
    email_from: str = Field(
        default="Boardroom <no-reply@boardroom.invalid>", description="sender of every e-mail"
    )
    digest_interval_minutes: float = Field(
        default=60, gt=0, description="at most one e-mail digest per user per interval"
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="allow webhook URLs on internal addresses and plain http (development only)",
    )
    webhook_max_attempts: int = Field(
        default=6, ge=1, le=50, description="tries of a webhook delivery before it is dead-lettered"
    )
    webhook_retry_base_seconds: float = Field(
        default=2.0, gt=0, description="first webhook retry delay, doubled each time"
    )
    due_soon_hours: float = Field(
        default=24, gt=0, description='lead time of the "due soon" reminder'
    )
    redis_pool_max: int = Field(
        default=20,
        ge=1,
        description="connections in the pool for Redis keys; a burst waits up to 5 s for one "
        "instead of failing",
    )
    jwt_secret: str | None = Field(
        default=None,
        description="HS256 key that signs tokens: at least 32 characters and not guessable (a "
        "repeated character or phrase is refused at start-up); the same on every instance",
        json_schema_extra=_shown("generated in `dev`; required otherwise"),
    )
    jwt_verify_secrets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated keys whose tokens are still accepted while the signing "
        "key is rotated (ADR 0032)",
        json_schema_extra=_shown("none"),
    )
    access_token_ttl_seconds: int = Field(
        default=900, ge=60, le=3600, description="access token lifetime"
    )
    session_expiry_grace_seconds: float = Field(
        default=30,
        gt=0,
        description="after `session:expired`, how long a socket may take to `session:renew` "
        "before it is disconnected",
    )
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=3600, description="refresh token lifetime (30 days)"
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated origins whose browsers may open a socket",
        json_schema_extra=_shown("the public URL (plus localhost aliases)"),
    )
    db_pool_min: int = Field(default=2, ge=1, description="PostgreSQL connections kept open")
    db_pool_max: int = Field(default=10, ge=1, description="most PostgreSQL connections")
    rate_limit_per_second: float = Field(
        default=20,
        gt=0,
        description="sustained client events per second per connection; over it an event is "
        "answered `rate_limited` with `retry_after`",
    )
    rate_limit_burst: int = Field(default=40, ge=1, description="events a connection may burst")
    login_failures_per_hour: int = Field(
        default=100,
        ge=1,
        description="failed logins per address per hour from unknown devices; over it `429` "
        "with `Retry-After`",
    )
    auth_attempts_per_minute_per_address: int = Field(
        default=60,
        ge=1,
        description="logins, registrations and password changes per minute from one client "
        "address (all accounts together, on every instance); over it `429` with `Retry-After`",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated addresses or CIDRs of the load balancers in front of the "
        "server: from these, the client address is read from `X-Forwarded-For`",
        json_schema_extra=_shown("none: the peer address is the client's"),
    )
    login_device_failures_per_hour: int = Field(
        default=10, ge=1, description="failed logins per hour from a device that logged in before"
    )
    rate_limit_account_per_second: float = Field(
        default=50, gt=0, description="sustained events per second per account, per instance"
    )
    rate_limit_account_burst: int = Field(
        default=100, ge=1, description="events one account's connections may burst, per instance"
    )
    max_connections_per_user: int = Field(
        default=20,
        ge=1,
        description="Socket.IO connections one account may hold per instance; more are refused "
        "`rate_limited`",
    )
    max_connections: int = Field(
        default=10_000,
        ge=1,
        description="connections an instance accepts; beyond it new ones are refused "
        "`unavailable` (open ones keep working)",
    )
    handshake_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="a connection that has not completed the Socket.IO handshake (sent its "
        "token) by then is closed",
    )
    max_pending_handshakes: int = Field(
        default=1000,
        ge=1,
        description="connections an instance holds open before their handshake; beyond it new "
        "ones are refused",
    )
    max_loop_lag_ms: float = Field(
        default=500,
        gt=0,
        description="event-loop lag above which new connections are refused `unavailable`",
    )
    presence_ttl_seconds: float = Field(
        default=15,
        gt=0,
        description="a viewer whose instance died vanishes within 4/3 of this (its entry, "
        "refreshed every third of it, expires; the next heartbeat announces it)",
    )
    replay_window_events: int = Field(
        default=1000,
        ge=0,
        description="most missed events a `project:join` with `since_seq` replays; beyond it "
        "the answer is a fresh snapshot (`mode: reset`)",
    )
    max_message_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest Socket.IO message and REST body accepted"
    )
    metrics_token: str | None = Field(
        default=None,
        description="bearer token Prometheus sends to read `/metrics`; unset: `/metrics` is "
        "open in `dev` mode and refused (403) otherwise",
    )
    websocket_compression: bool = Field(
        default=False,
        description="`true` lets clients negotiate permessage-deflate on the WebSocket (ADR 0013)",
    )
    data_dir: Path = Field(
        default=Path(".boardroom"),
        description="where embedded PostgreSQL keeps its data in `dev` mode",
    )
    static_dir: Path = Field(
        default_factory=lambda: Path(str(files("static_client"))),
        description="the browser board's files",
        json_schema_extra=_shown("the `static_client` package installed with Boardroom"),
    )
    argon2_memory_kib: int = Field(
        default=19 * 1024, ge=19 * 1024, description="argon2id memory cost (never below OWASP's)"
    )
    argon2_time_cost: int = Field(default=2, ge=2, description="argon2id iterations")

    @field_validator("allowed_origins", "jwt_verify_secrets", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or CIDR: {cidr!r}") from exc
        return value

    @model_validator(mode="after")
    def _redis_password(self) -> Settings:
        if self.redis_url and self.redis_password:
            self.redis_url = with_password(self.redis_url, self.redis_password)
        return self

    @model_validator(mode="after")
    def _secret_policy(self) -> Settings:
        if self.jwt_secret is None:
            if self.mode is Mode.PRODUCTION:
                raise SettingsError(
                    "BOARDROOM_JWT_SECRET is not set. In production the JWT signing key must be "
                    f"configured. {_MAKE_A_KEY}"
                )
            self.jwt_secret = secrets.token_urlsafe(48)
            log.warning(
                "dev mode: generated a random JWT secret; tokens will not survive a restart"
            )
        elif weakness := secret_weakness(self.jwt_secret):
            raise SettingsError(f"BOARDROOM_JWT_SECRET is refused: {weakness}. {_MAKE_A_KEY}")
        for key in self.jwt_verify_secrets:
            if weakness := secret_weakness(key):
                raise SettingsError(
                    f"A key of BOARDROOM_JWT_VERIFY_SECRETS is refused: {weakness}."
                )
        return self

    @property
    def signing_keys(self) -> SigningKeys:
        assert self.jwt_secret is not None  # the policy above sets or refuses it
        return SigningKeys(self.jwt_secret, tuple(self.jwt_verify_secrets))

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def origins(self) -> list[str]:
        """Origins whose browsers may open a socket; by default the server's own URL."""
        if self.allowed_origins:
            return self.allowed_origins
        own = [self.url]
        if self.host in ("127.0.0.1", "localhost"):
            own += [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
        return sorted(set(own))
