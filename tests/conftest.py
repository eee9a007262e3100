"""Fixtures every test folder shares: the Slack Web API fake, a PostgreSQL server, and a
migrated state store on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bot.store import Store
from tests.fakes.postgres import PostgresServer, find_binaries
from tests.fakes.slack_api import running_slack_fake


@pytest.fixture
def slack():
    """The Slack Web API fake on a free port (``slack.api_url`` is SLACK_API_URL)."""
    with running_slack_fake() as handle:
        yield handle


# Where the run's one initdb goes (tests/fakes/postgres.py): made by the controlling
# process before pytest-xdist starts its workers, who inherit the variable.
PG_TEMPLATE = "CHATOPS_TEST_PG_TEMPLATE"
_template_key = pytest.StashKey[Path]()


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        folder = Path(tempfile.mkdtemp(prefix="chatops-pg-template-"))
        config.stash[_template_key] = folder
        os.environ[PG_TEMPLATE] = str(folder)


def pytest_unconfigure(config):
    folder = config.stash.get(_template_key, None)
    if folder is not None:
        os.environ.pop(PG_TEMPLATE, None)
        shutil.rmtree(folder, ignore_errors=True)


# The longest modules, longest first: pytest-xdist hands modules out in collection order
# (--no-loadscope-reorder), so these start at once and run beside everything else instead
# of finishing last.
LONGEST_FIRST = (
    "tests/scenario/test_replicas.py",
    "tests/scenario/test_processes.py",
    "tests/bot/test_console.py",
    "tests/bot/test_cli.py",
    "tests/scenario/test_no_secrets.py",
    "tests/scenario/test_socket_mode.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole run (one per pytest-xdist worker). In CI (CI=true)
    a missing server fails the run instead of skipping, so the PostgreSQL tests can never
    silently not run."""
    bin_dir = find_binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run should have installed it")
        pytest.skip("PostgreSQL binaries not found (install Debian's postgresql)")
    template = os.environ.get(PG_TEMPLATE)
    server = PostgresServer(bin_dir, Path(template) if template else None).start()
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
