"""Engine creation and schema migration for the state store (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. A start on an up-to-date database checks this one value and never
# loads Alembic (a fifth of the app's start-up); tests keep it equal to Alembic's head.
HEAD = "0007"
# Alembic keeps its migration context in module globals, so two migrations in one process
# (several stores on one event loop, as in tests or the console) must take turns.
_MIGRATION_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(database_url: str) -> str:
    """The same database with the async driver: ``sqlite:///x.db`` → ``sqlite+aiosqlite:///x.db``."""
    if database_url.startswith("postgres://"):  # Heroku-style alias
        database_url = "postgresql://" + database_url[len("postgres://") :]
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"DATABASE_URL must be sqlite:///… or postgresql://…, not {backend}://")
    return url.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def create_engine(database_url: str) -> AsyncEngine:
    url = async_url(database_url)
    if url.startswith("sqlite"):
        # Up to CHATOPS_MAX_INFLIGHT commands may wait for the database at once: a pool
        # deep enough that they queue on SQLite's lock, not on a 30 s pool timeout.
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=10, max_overflow=40, pool_timeout=120
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no branch
            # WAL lets readers and one writer work at once across processes; the busy
            # timeout makes a second process wait for the write lock instead of failing.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except Exception as exc:
                # Switching to WAL needs the file to itself, and the busy timeout does not
                # wait for that: while another connection migrates a new file, it answers
                # "locked". WAL is a property of the file, which that connection sets; this
                # one reads it at its next transaction.
                if "locked" not in str(exc).lower():
                    raise
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _config():
    from alembic.config import Config  # only when a migration has to run (start-up cost)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        # Several replicas may start at once; one migrates, the others wait for it.
        connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine, attempts: int = 5) -> None:
    """Create or upgrade the schema to the newest revision, keeping existing data."""
    if await current_revision(engine) == HEAD:
        return
    loop = asyncio.get_running_loop()
    lock = _MIGRATION_LOCKS.setdefault(loop, asyncio.Lock())
    for attempt in range(1, attempts + 1):
        if attempt > 1 and await current_revision(engine) == HEAD:
            return
        try:
            async with lock, engine.begin() as conn:
                await conn.run_sync(_upgrade)
            return
        except OperationalError as exc:
            # Two SQLite processes starting together: the loser finds the file locked, or
            # (when both read "no schema" before either wrote) the winner's tables already
            # there; it tries again once the winner has committed, and finds nothing to do.
            error = str(exc).lower()
            if ("locked" not in error and "already exists" not in error) or attempt == attempts:
                raise
            log.info("database busy while migrating, retrying (attempt %d)", attempt)
            await asyncio.sleep(0.2 * attempt)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        try:
            row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        except Exception:
            return None
        return row[0] if row else None


def head_revision() -> str:
    """The newest migration this version of the app knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
