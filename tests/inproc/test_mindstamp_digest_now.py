"""`/mindstamp digest now` says only what is true about the next digest: a channel with
a subscription keeps the figures for the next one to compare with; a channel without one
keeps nothing, so its digests never promise a change they will not show."""

from __future__ import annotations

from tests.fakes.slack_api import wait_for
from tests.scenario.harness import blocks_text

COMMAND = "/mindstamp"
PROMISE = "the next one shows the change"


def _digests(slack, channel: str) -> list[str]:
    """The text of each digest posted in ``channel`` (not the subscription's notice)."""
    return [
        blocks_text(call.args["blocks"])
        for call in slack.fake.calls_to("chat.postMessage")
        if call.args["channel"] == channel and call.args.get("blocks")
    ]


def _digest_now(app, slack, channel: str, count: int) -> list[str]:
    app.client.command("digest now", command=COMMAND, channel_id=channel)
    wait_for(lambda: len(_digests(slack, channel)) >= count, timeout=15)
    app.wait_quiet()
    return _digests(slack, channel)


def test_digest_now_without_a_subscription_promises_no_next_one(app, slack):
    first, second = (_digest_now(app, slack, "CMSNOSUB", n)[n - 1] for n in (1, 2))
    for text in (first, second):
        assert "Mindstamp digest" in text
        assert PROMISE not in text and "Change since the last digest" not in text, text
        assert "No digest is subscribed here" in text, text


def test_digest_now_with_a_subscription_shows_the_change_the_first_one_promised(app, slack):
    app.client.command("digest weekly 09:00", command=COMMAND, channel_id="CMSSUB")
    wait_for(lambda: slack.fake.responses, timeout=15)
    first, second = (_digest_now(app, slack, "CMSSUB", n)[n - 1] for n in (1, 2))
    assert PROMISE in first and "No digest is subscribed here" not in first, first
    assert "Change since the last digest" in second and PROMISE not in second, second
