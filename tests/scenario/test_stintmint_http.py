"""/stint end to end over real sockets: signed Slack requests into the app under uvicorn,
real HTTP to the Stintmint sandbox, and the sandbox's real callbacks (with retries) into
the running app's /hooks/stintmint. The rest of /stint runs in process:
tests/inproc/test_stintmint.py."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.servers import free_port, mounted_app
from tests.fakes.slack_api import posted_card, posted_cards, replies_in_thread, wait_for
from tests.scenario.harness import blocks_text, running_app, running_sandboxes


@pytest.fixture
def sandbox():
    with running_sandboxes(speed=0.1, stintmint_retry_interval=0.1) as server:
        yield server


@pytest.fixture
def public_app(slack, sandbox, tmp_path):
    """The app with PUBLIC_URL set to itself, so Stintmint calls back."""
    port = free_port()
    with running_app(
        slack, sandbox.url, tmp_path, port=port, public_url=f"http://127.0.0.1:{port}"
    ) as app:
        yield app


def _callback_url(sandbox) -> str:
    posts = [c for c in mounted_app(sandbox, "/stintmint").state.calls if c.path.endswith("/post")]
    assert posts
    attempts = mounted_app(sandbox, "/stintmint").state.sandbox.callback_attempts
    wait_for(lambda: attempts, timeout=10)
    return attempts[0].url


def test_callback_updates_the_card_and_notifies_once(public_app, slack, sandbox):
    """Stintmint's callback updates the card with the responses and says so in the thread."""
    response = public_app.client.command(
        "post demo order-1 note=hello link=https://example.com/x", command="/stint", user_id="U5"
    )
    assert response.status_code == 200
    card = posted_card(slack)
    wait_for(lambda: "completed" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10)
    wait_for(lambda: replies_in_thread(slack, card["ts"]), timeout=5)
    text = blocks_text(posted_cards(slack)[0]["blocks"])
    assert "Responses (" in text and "callback" in text and "credits" in text
    [reply] = replies_in_thread(slack, card["ts"])
    assert "<@U5>" in reply["text"] and "responses" in reply["text"]
    attempts = mounted_app(sandbox, "/stintmint").state.sandbox.callback_attempts
    assert [a.status_code for a in attempts] == [200]
    # The request was followed by callback, not by polling /fetch.
    fetches = [
        c for c in mounted_app(sandbox, "/stintmint").state.calls if c.path.endswith("/fetch")
    ]
    assert len(fetches) <= 1


def test_repeated_callback_is_answered_200_and_notifies_nobody(public_app, slack, sandbox):
    """A callback Stintmint repeats (it retries up to 20 times) changes nothing the second time."""
    public_app.client.command("post demo order-2 note=hi", command="/stint")
    card = posted_card(slack)
    wait_for(lambda: replies_in_thread(slack, card["ts"]), timeout=10)
    url = _callback_url(sandbox)
    body = {
        "identifier": "order-2",
        "sfId": "demo",
        "status": "COMPLETED",
        "created": 1,
        "completed": 2,
        "cost": 9,
        "responses": [{"answer": "repeated-answer"}],
    }
    for _ in range(3):
        again = httpx.post(url, json=body)
        assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert len(replies_in_thread(slack, card["ts"])) == 1
    assert "repeated-answer" not in blocks_text(posted_cards(slack)[0]["blocks"])
