"""Fixtures every test folder shares: the Slack Web API fake, a PostgreSQL server, and a
migrated state store on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

import pytest

from bot.store import Store
from tests.fakes.postgres import PostgresServer, find_binaries
from tests.fakes.slack_api import running_slack_fake


@pytest.fixture
def slack():
    """The Slack Web API fake on a free port (``slack.api_url`` is SLACK_API_URL)."""
    with running_slack_fake() as handle:
        yield handle


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole run. In CI (CI=true) a missing server fails the
    run instead of skipping, so the PostgreSQL tests can never silently not run."""
    bin_dir = find_binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run should have installed it")
        pytest.skip("PostgreSQL binaries not found (install Debian's postgresql)")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The state store's URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
async def store(database_url):
    """A real state store, migrated to the newest schema (SQLite and PostgreSQL)."""
    s = Store(database_url)
    await s.start()
    yield s
    await s.close()
