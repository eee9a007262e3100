"""/mint end to end over a real socket: a signed Slack request into the app under uvicorn,
real HTTP (OAuth included) to the Signicat Mint sandbox, the execution tracked to its end.
The rest of /mint runs in process: tests/inproc/test_mint.py."""

from __future__ import annotations

from adapters.mint.sandbox import ONBOARD_FLOW_ID
from tests.fakes.slack_api import posted_cards, wait_for
from tests.scenario.harness import blocks_text


def _card_text(slack, n=0) -> str:
    wait_for(lambda: len(posted_cards(slack)) > n, timeout=10)
    return blocks_text(posted_cards(slack)[n]["blocks"])


def test_execute_is_tracked_to_finished_and_the_card_updates(app, slack):
    """`/mint execute` posts a card, starts the flow and updates the card once it finishes."""
    app.client.command(
        f'execute {ONBOARD_FLOW_ID} {{"email": "ada@example.com"}}', command="/mint", user_id="U4"
    )
    _card_text(slack)
    wait_for(lambda: "Finished" in _card_text(slack), timeout=20)
    text = _card_text(slack)
    assert "Onboard customer" in text and "U4" in text and "ada@example.com" in text
    assert not [c for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]
