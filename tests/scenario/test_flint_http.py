"""/flint end to end over a real socket: signed HTTP into the app under uvicorn, real HTTP
to the Flint sandbox, the Slack Web API fake recording what users would see. The rest of
/flint (usage, signatures, buttons, results, limits) runs in process:
tests/inproc/test_flint.py."""

from __future__ import annotations

import time

from tests.fakes.slack_api import wait_for
from tests.scenario.harness import blocks_text, flint_sandbox_app, running_app, running_sandboxes


def _card_ts(slack, after: int = 0) -> str:
    """The ts of the (after+1)-th top-level card posted."""
    wait_for(lambda: len(_top_level(slack)) > after, timeout=10)
    return _top_level(slack)[after]["ts"]


def _top_level(slack) -> list[dict]:
    posted = [m for m in slack.fake.messages.values() if not m.get("thread_ts")]
    return sorted(posted, key=lambda m: m["ts"])


def _updates(slack, ts: str) -> list:
    return [c for c in slack.fake.calls_to("chat.update") if c.args.get("ts") == ts]


def _final_updates(slack, ts: str, word: str) -> list:
    return [c for c in _updates(slack, ts) if word in blocks_text(c.args.get("blocks"))]


def _message(slack, ts: str) -> dict:
    return next(m for m in slack.fake.messages.values() if m["ts"] == ts)


def test_async_run_posts_a_card_and_updates_it_once_on_completion(app, slack):
    """`/flint run` acks, posts a card, and the card is updated in place to complete once."""
    response = app.client.command("run demo:hello.rb name=Ada", user_id="U42")
    assert response.status_code == 200
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"), timeout=10)
    time.sleep(0.8)  # several more poll cycles: nothing more may arrive
    assert len(_final_updates(slack, ts, "complete")) == 1
    card = blocks_text(_message(slack, ts)["blocks"])
    assert "Hello, Ada!" in card and "U42" in card and "demo:hello.rb" in card
    assert "Exit code" in card and "job-" in card
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # success: no thread reply


def test_ack_arrives_before_a_slow_flint_answers(slack, tmp_path):
    """With Flint taking 6 s to answer a run, Slack's request is acknowledged first."""
    with (
        running_sandboxes(speed=0.05, flint_answer_delay=6.0) as sandbox,
        running_app(slack, sandbox.url, tmp_path) as app,
    ):
        response = app.client.command("run demo:hello.rb")
        acked_at = time.monotonic()
        assert response.status_code == 200
        calls = flint_sandbox_app(sandbox).state.calls
        assert not [c for c in calls if "/run/" in c.path]  # Flint has not answered yet
        wait_for(lambda: [c for c in calls if "/run/" in c.path], timeout=15)
        [run] = [c for c in calls if "/run/" in c.path]
        assert acked_at < run.at
        ts = _card_ts(slack)
        wait_for(lambda: _final_updates(slack, ts, "complete"), timeout=10)
