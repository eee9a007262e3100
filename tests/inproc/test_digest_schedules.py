"""Digest schedules through the app in process (tests/inproc/harness.py): signed slash
commands in, what the caller and the channel are told out (the Slack fake), the
subscriptions in the real state store, and STOMT's sandbox for what a digest fetched."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bot.store.schema import digest_subscriptions
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, mounted_app

VENDORS = [("/stomt", "STOMT"), ("/mint", "Signicat Mint"), ("/mindstamp", "Mindstamp")]


def told(app, slack, text: str, command: str, channel: str = "CSCHED") -> str:
    """Run ``command text`` in ``channel``; what the app answered the caller."""
    before = len(slack.fake.responses)
    answer = app.client.command(text, command=command, channel_id=channel)
    assert answer.status_code == 200
    if answer.content and answer.json().get("text"):
        return answer.json()["text"]  # answered at once (a usage, a refusal)
    wait_for(lambda: len(slack.fake.responses) > before, timeout=15)
    app.wait_quiet()
    return slack.fake.responses[-1]["text"]


def channel_posts(slack, channel: str) -> list[dict]:
    return [c.args for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == channel]


def stored(app, vendor: str, channel: str = "CSCHED") -> list[tuple[str, str, dict]]:
    async def rows():
        query = sa.select(
            digest_subscriptions.c.frequency,
            digest_subscriptions.c.at_time,
            digest_subscriptions.c.options,
        ).where(
            digest_subscriptions.c.vendor == vendor, digest_subscriptions.c.channel_id == channel
        )
        async with app.runtime.store.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(query)).all()]

    return app.run(rows())


@pytest.mark.parametrize(
    ("command", "text", "frequency", "said"),
    [
        ("/mint", "digest weekdays 08:30", "weekdays", "weekdays at 08:30"),
        ("/mindstamp", "digest fri 17:30", "fri", "Fridays at 17:30"),
        ("/stomt", "digest Sunday", "sun", "Sundays at 09:00"),
    ],
)
def test_a_schedule_is_told_as_it_runs(app, slack, command, text, frequency, said):
    """The caller, the channel and the channel's list all say when the digest comes."""
    answer = told(app, slack, text, command)
    assert f"digest {said} (UTC)" in answer and "; next " in answer, answer
    [announced] = channel_posts(slack, "CSCHED")
    assert said in announced["text"] and "subscribed this channel" in announced["text"]
    assert said in told(app, slack, "digest", command)
    [(kept, at, _options)] = stored(app, command[1:])
    assert kept == frequency and at == said[-5:]


@pytest.mark.parametrize(("command", "title"), VENDORS)
def test_subscribing_again_says_what_it_replaced_or_that_nothing_changed(
    app, slack, command, title
):
    """`digest daily` after `digest weekly` replaces the channel's digest and says so (in
    the channel too); the same schedule again (`mon` is `weekly`) changes nothing."""
    assert "Mondays at 09:00" in told(app, slack, "digest weekly", command)
    answer = told(app, slack, "digest daily", command)
    assert f"Replaced this channel's weekly {title} digest (Mondays at 09:00" in answer, answer
    assert "(Mondays at 09:00) with a daily one: every day at 09:00 (UTC)" in answer
    changed = channel_posts(slack, "CSCHED")[-1]["text"]
    assert f"changed this channel's {title} digest to: every day at 09:00" in changed
    [(frequency, _at, _options)] = stored(app, command[1:])
    assert frequency == "daily"

    told(app, slack, "digest weekly 09:00", command)
    posted = len(channel_posts(slack, "CSCHED"))
    answer = told(app, slack, "digest MON 9:00", command)
    assert f"This channel's {title} digest is unchanged: Mondays at 09:00" in answer, answer
    assert len(channel_posts(slack, "CSCHED")) == posted  # nothing said in the channel
    answer = told(app, slack, "digest fri 9:00", command)
    assert f"Replaced this channel's weekly {title} digest" in answer
    assert "with a Friday one: Fridays at 09:00" in answer


def test_a_schedule_that_is_none_is_refused_with_the_ones_there_are(app, slack):
    answer = told(app, slack, "digest fridays", "/mint")
    assert "weekdays" in answer and "fri" in answer
    assert stored(app, "mint") == []


POLICY = """\
rules:
  - command: "stomt digest"
    target: "chatops-hub"
    allow: false
  - command: "*"
"""


def test_stomt_digest_names_its_target_without_stomt_target(tmp_path):
    """No STOMT_TARGET: `--target` names what the digest is about. It is kept with the
    subscription, listed, checked by the policy like any STOMT target, and fetched by
    `now` and by the schedule; changing the schedule alone keeps it."""
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp_path, stomt_target="", chatops_policy=str(policy)) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        stomt = mounted_app(sandbox, "/stomt")
        stomt.state.sandbox.add_stomt("the docs had a search box", target_id="stomt", age=5)
        stomt.state.sandbox.add_stomt("a wish for the hub", age=5)

        for typed in ("digest daily", "digest now"):
            assert "`/stomt digest daily --target SLUG`" in told(app, slack, typed, "/stomt")
        assert stored(app, "stomt") == []

        answer = told(app, slack, "digest daily --target chatops-hub", "/stomt")
        assert "chatops-hub" in answer and "policy" in answer, answer
        assert stored(app, "stomt") == []

        answer = told(app, slack, "digest weekdays 08:30 --target stomt", "/stomt")
        assert "weekdays at 08:30 (UTC), target stomt; next " in answer, answer
        assert stored(app, "stomt") == [("weekdays", "08:30", {"target": "stomt"})]
        assert "weekdays at 08:30 (UTC), target stomt" in told(app, slack, "digest", "/stomt")

        fetched = len(stomt.state.calls)
        app.client.command("digest now", command="/stomt", channel_id="CSCHED")
        [_announced, digest] = wait_for(
            lambda: (posts := channel_posts(slack, "CSCHED"))[1:] and posts, timeout=15
        )
        text = blocks_text(digest["blocks"])
        assert "STOMT digest for stomt" in text and "the docs had a search box" in text
        assert "a wish for the hub" not in text
        paths = [c.path for c in stomt.state.calls[fetched:]]
        assert any("/targets/stomt/stomts" in path for path in paths), paths

        stomt.state.sandbox.add_stomt("a later wish for stomt", target_id="stomt", age=0)

        async def make_due():
            # "new since" a little before now: STOMT's times are whole seconds
            async with app.runtime.store.engine.begin() as conn:
                await conn.execute(
                    sa.update(digest_subscriptions).values(
                        next_run_at=time.time() - 1, cursor={"since": time.time() - 2}
                    )
                )
            return await app.runtime.digests.tick()

        assert app.run(make_due()) == 1
        scheduled = blocks_text(channel_posts(slack, "CSCHED")[-1]["blocks"])
        assert "STOMT digest for stomt" in scheduled and "a later wish for stomt" in scheduled

        answer = told(app, slack, "digest fri 17:30", "/stomt")
        assert (
            "Replaced this channel's weekday STOMT digest (weekdays at 08:30) with a Friday "
            "one: Fridays at 17:30 (UTC), target stomt; next Fri " in answer
        ), answer
        assert stored(app, "stomt") == [("fri", "17:30", {"target": "stomt"})]
        answer = told(app, slack, "digest fri 17:30 --target ada", "/stomt")
        assert (
            "(Fridays at 17:30, target stomt) with a Friday one: Fridays at 17:30 (UTC), "
            "target ada" in answer
        ), answer
        assert "is off" in told(app, slack, "digest off", "/stomt")
        assert stored(app, "stomt") == []
