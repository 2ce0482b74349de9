"""Configuration: production refuses to start without a signing key; dev makes one."""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

import pytest

from realtime.settings import Mode, Settings, SettingsError
from tests.support import JWT_SECRET, ROOT


def test_production_without_a_jwt_secret_stops_with_a_clear_message(monkeypatch):
    monkeypatch.delenv("BOARDROOM_JWT_SECRET", raising=False)
    with pytest.raises(SettingsError, match="BOARDROOM_JWT_SECRET"):
        Settings(mode=Mode.PRODUCTION)


def test_a_short_secret_is_refused():
    with pytest.raises(SettingsError, match="at least 32"):
        Settings(mode=Mode.PRODUCTION, jwt_secret="short")


def test_dev_generates_a_secret_and_says_so(monkeypatch, caplog):
    monkeypatch.delenv("BOARDROOM_JWT_SECRET", raising=False)
    with caplog.at_level(logging.WARNING):
        settings = Settings(mode=Mode.DEV)
    assert settings.jwt_secret and len(settings.jwt_secret) >= 32
    assert "generated a random JWT secret" in caplog.text


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/boardroom")
    monkeypatch.setenv("BOARDROOM_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("BOARDROOM_JWT_SECRET", JWT_SECRET)
    settings = Settings()
    assert settings.mode is Mode.PRODUCTION
    assert settings.database_url == "postgresql://db.example/boardroom"
    assert settings.origins == ["https://a.example", "https://b.example"]


def test_the_configuration_reference_is_current():
    """docs/configuration.md is what `boardroom config-doc` writes today."""
    from realtime.config_reference import configuration_markdown

    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert documented == configuration_markdown(), "run: boardroom config-doc"


def test_every_setting_is_in_the_reference_with_its_variable():
    from realtime.config_reference import environment_variables

    documented = (ROOT / "docs" / "configuration.md").read_text()
    for variable in environment_variables():
        assert f"| `{variable}` |" in documented


def test_passwords_given_apart_from_the_urls_are_put_into_them(monkeypatch):
    """ECS injects secrets as whole variables; the DSN itself holds no password."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://boardroom@db.internal:5432/boardroom")
    monkeypatch.setenv("BOARDROOM_DATABASE_PASSWORD", "p@ss:w/rd%")
    monkeypatch.setenv("REDIS_URL", "rediss://cache.internal:6379/0")
    monkeypatch.setenv("BOARDROOM_REDIS_PASSWORD", "token#1")
    settings = Settings(jwt_secret=JWT_SECRET)
    assert settings.database_url == (
        "postgresql://boardroom:p%40ss%3Aw%2Frd%25@db.internal:5432/boardroom"
    )
    assert settings.redis_url == "rediss://:token%231@cache.internal:6379/0"
    parsed = urlsplit(settings.database_url)
    assert unquote(parsed.password or "") == "p@ss:w/rd%" and parsed.hostname == "db.internal"
