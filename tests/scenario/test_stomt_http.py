"""/stomt end to end over a real socket: a signed Slack request into the app under
uvicorn, real HTTP to the STOMT sandbox, the Slack fake recording what people see. The rest
of /stomt runs in process: tests/inproc/test_stomt.py."""

from __future__ import annotations

from tests.fakes.slack_api import wait_for
from tests.scenario.harness import blocks_text


def _stomt_sandbox(server):
    return next(r.app for r in server.app.routes if getattr(r, "path", "") == "/stomt")


def _vendor_calls(sandbox, method=None):
    calls = _stomt_sandbox(sandbox).state.calls
    return [c for c in calls if method is None or c.method == method]


def _last(slack):
    wait_for(lambda: slack.fake.responses, timeout=10)
    return slack.fake.responses[-1]


def test_wish_is_posted_and_shown_in_channel(app, slack, sandbox):
    """`/stomt wish` creates the stomt (with labels) and shows "I wish …" in the channel."""
    response = app.client.command(
        "wish it's faster to export --label export --label 'data team'",
        command="/stomt",
        user_id="U8",
    )
    assert response.status_code == 200
    card = _last(slack)
    assert card["response_type"] == "in_channel"
    text = blocks_text(card["blocks"])
    assert "I wish it's faster to export" in text and "stomt.co" in text
    assert "export" in text and "data team" in text and "U8" in text
    assert len(_vendor_calls(sandbox, "POST")) >= 1
