"""All configuration, read once from environment variables (listed in README.md)."""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)


class Mode(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class LogSettings(BaseSettings):
    """How every command logs and traces (read before anything else is configured)."""

    model_config = SettingsConfigDict(
        env_prefix="BOARDROOM_", extra="ignore", populate_by_name=True
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None, description="json (one object per line) or text; default json, text in dev"
    )
    traces_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="where spans go: none, console (stdout) or otlp (OTEL_EXPORTER_OTLP_ENDPOINT)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class DatabaseSettings(LogSettings):
    """What ``boardroom migrate`` needs: the database, and no secrets."""

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "BOARDROOM_DATABASE_URL")
    )


class Settings(DatabaseSettings):
    mode: Mode = Mode.PRODUCTION
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="URL users open; defaults to http://HOST:PORT"
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "BOARDROOM_REDIS_URL")
    )
    redis_channel: str = "boardroom"
    kafka_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_URL", "BOARDROOM_KAFKA_URL"),
        description="bootstrap servers, e.g. kafka://b-1.msk:9092,b-2.msk:9092",
    )
    kafka_topic_prefix: str = Field(default="boardroom", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    kafka_partitions: int = Field(default=8, ge=1, le=1024)
    outbox_relay: bool = Field(
        default=True, description="run the outbox relay in this server (one leads at a time)"
    )
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_retention_hours: float = Field(default=24, gt=0)
    dead_letter_attempts: int = Field(default=3, ge=1, le=100)
    worker_metrics_port: int = Field(
        default=9465, ge=0, le=65535, description="the worker's /metrics port; 0 turns it off"
    )
    worker_timer_seconds: float = Field(
        default=5, gt=0, description="how often the worker sends due reminders and late pushes"
    )
    smtp_url: str | None = Field(
        default=None, description="smtp://[user:pass@]host:port[?starttls=true]; unset: no e-mail"
    )
    email_from: str = "Boardroom <no-reply@boardroom.invalid>"
    digest_interval_minutes: float = Field(
        default=60, gt=0, description="at most one e-mail digest per user per interval"
    )
    webhook_allow_private: bool = Field(
        default=False, description="allow webhook URLs on internal addresses (development only)"
    )
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0)
    due_soon_hours: float = Field(default=24, gt=0, description="'due soon' reminder lead time")
    redis_pool_max: int = Field(default=20, ge=1)
    jwt_secret: str | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    session_expiry_grace_seconds: float = Field(
        default=30, gt=0, description="after session:expired, seconds to renew before disconnect"
    )
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    rate_limit_per_second: float = Field(
        default=20, gt=0, description="sustained client events per second per connection"
    )
    rate_limit_burst: int = Field(default=40, ge=1, description="events a connection may burst")
    login_failures_per_hour: int = Field(
        default=100, ge=1, description="failed logins per address per hour from unknown devices"
    )
    login_device_failures_per_hour: int = Field(
        default=10, ge=1, description="failed logins per hour from a device that logged in before"
    )
    rate_limit_account_per_second: float = Field(
        default=50, gt=0, description="sustained events per second per account, per instance"
    )
    rate_limit_account_burst: int = Field(default=100, ge=1)
    max_connections_per_user: int = Field(
        default=20, ge=1, description="Socket.IO connections one account may hold per instance"
    )
    max_connections: int = Field(
        default=10_000, ge=1, description="connections an instance accepts before shedding"
    )
    max_loop_lag_ms: float = Field(
        default=500, gt=0, description="event-loop lag above which new connections are refused"
    )
    presence_ttl_seconds: float = Field(
        default=15, gt=0, description="a crashed instance's viewers vanish after this long"
    )
    replay_window_events: int = Field(
        default=1000, ge=0, description="most missed events a join replays before a reset"
    )
    max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    websocket_compression: bool = Field(
        default=False, description="permessage-deflate on WebSocket frames (ADR 0013)"
    )
    data_dir: Path = Path(".boardroom")
    static_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "static_client"
    )
    argon2_memory_kib: int = Field(default=19 * 1024, ge=19 * 1024)
    argon2_time_cost: int = Field(default=2, ge=2)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _secret_policy(self) -> Settings:
        if self.jwt_secret is None:
            if self.mode is Mode.PRODUCTION:
                raise SettingsError(
                    "BOARDROOM_JWT_SECRET is not set. In production the JWT signing key must be "
                    "configured (at least 32 characters, e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)."
                )
            self.jwt_secret = secrets.token_urlsafe(48)
            log.warning(
                "dev mode: generated a random JWT secret; tokens will not survive a restart"
            )
        elif len(self.jwt_secret) < 32:
            raise SettingsError("BOARDROOM_JWT_SECRET must be at least 32 characters long.")
        return self

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
