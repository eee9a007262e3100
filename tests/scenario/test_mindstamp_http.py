"""/mindstamp end to end over a real socket: a signed Slack request into the app under
uvicorn, real HTTP to the Mindstamp sandbox, the Slack fake recording what people see. The
rest of /mindstamp runs in process: tests/inproc/test_mindstamp.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes.slack_api import wait_for
from tests.scenario.harness import blocks_text

COMMAND = "/mindstamp"


def _sandbox_state(server):
    app = next(r.app for r in server.app.routes if getattr(r, "path", "") == "/mindstamp")
    return app.state.sandbox


def _fields(blocks) -> dict[str, str]:
    """``*Name*\\nvalue`` fields of a card as {name: value}."""
    found = {}
    for block in blocks:
        for field in block.get("fields", []):
            name, _, value = field["text"].partition("\n")
            found[name.strip("*")] = value
    return found


@pytest.fixture
def last(slack):
    def latest(count: int = 1):
        wait_for(lambda: len(slack.fake.responses) >= count, timeout=15)
        return slack.fake.responses[-1]

    return latest


def test_summary_shows_every_numeric_field_with_a_readable_name(app, sandbox, last):
    """`/mindstamp summary month`: each numeric field by a readable name, values verbatim;
    texts, booleans and nulls are left out."""
    response = app.client.command("summary month", command=COMMAND)
    assert response.status_code == 200
    card = last()
    assert card["response_type"] == "ephemeral"
    fields = _fields(card["blocks"])
    assert set(fields) == {
        "Total views",
        "Unique viewers",
        "Total interactions",
        "Avg watch time",
        "Completion rate",
        "Videos watched",
    }
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    expected = _sandbox_state(sandbox)._summary("month", start.timestamp())
    views = expected["total_views"]
    assert fields["Total views"] == f"{views} view{'s' if views != 1 else ''}"
    # Not rounded, then what the value means: a fraction as %, seconds.
    assert fields["Completion rate"].startswith(repr(expected["completion_rate"]) + " (")
    assert fields["Completion rate"].endswith(" %)")
    assert fields["Avg watch time"].startswith(repr(expected["avgWatchTime"]) + " s")
    assert "this month" in blocks_text(card["blocks"])
    assert _sandbox_state(sandbox).count("/views/summary/month") == 1
