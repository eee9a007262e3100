"""Fixtures every test folder shares: the Slack Web API fake and a migrated SQLite store."""

from __future__ import annotations

import pytest

from bot.store import Store
from tests.fakes.slack_api import running_slack_fake


@pytest.fixture
def slack():
    """The Slack Web API fake on a free port (``slack.api_url`` is SLACK_API_URL)."""
    with running_slack_fake() as handle:
        yield handle


@pytest.fixture
async def store(tmp_path):
    """A real SQLite state store, migrated to the newest schema."""
    s = Store(f"sqlite:///{tmp_path / 'state.db'}")
    await s.start()
    yield s
    await s.close()
