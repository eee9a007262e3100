"""/mindstamp through the app in process (tests/inproc/harness.py): signed Slack requests
in, real HTTP to the Mindstamp sandbox, the Slack fake recording what people see (response
URLs, buttons, scheduled digests). The happy path over a real socket is in
tests/scenario/test_mindstamp_http.py."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from adapters.mindstamp.sandbox import EXAMPLE_VIDEO
from bot.store.schema import digest_subscriptions
from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, settle

COMMAND = "/mindstamp"
CHANNELS = ("CMS1", "CMS2", "CMS3")


@pytest.fixture(autouse=True)
def fresh_sandbox_counts(shared):
    """The module's sandbox counts calls per path and keeps its own rate window: each test
    starts both from zero (the app's own budget is full again: World.reset)."""
    state = _sandbox_state(shared.sandbox)
    state.hits.clear()
    state.reset_rate_limit()


def _sandbox_state(server):
    return mounted_app(server, "/mindstamp").state.sandbox


def _calls(server):
    return list(mounted_app(server, "/mindstamp").state.calls)


def _buttons(message) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for block in message["blocks"]:
        elements = [block["accessory"]] if "accessory" in block else block.get("elements", [])
        for element in elements:
            if element.get("type") == "button":
                found.setdefault(element["action_id"], []).append(element)
    return found


def _fields(blocks) -> dict[str, str]:
    """``*Name*\\nvalue`` fields of a card as {name: value}."""
    found = {}
    for block in blocks:
        for field in block.get("fields", []):
            name, _, value = field["text"].partition("\n")
            found[name.strip("*")] = value
    return found


def _count(number: int, noun: str) -> str:
    """How a video card shows a count: with its unit (``1 view``, ``1,234 views``)."""
    return f"{number:,} {noun}{'s' if number != 1 else ''}"


def _posts(slack, channel):
    """Digests posted in ``channel`` (not the text-only subscription announcement)."""
    return [
        c
        for c in slack.fake.calls_to("chat.postMessage")
        if c.args["channel"] == channel and c.args.get("blocks")
    ]


@pytest.fixture
def last(slack):
    def latest(count: int = 1):
        wait_for(lambda: len(slack.fake.responses) >= count, timeout=15)
        return slack.fake.responses[-1]

    return latest


def test_summary_without_a_period_is_the_overall_one(app, sandbox, last):
    """`/mindstamp summary` reads the overall summary (CONTRACT.md) and shows its total
    views verbatim; `week` reads the past seven days'."""
    app.client.command("summary", command=COMMAND)
    card = last()
    state = _sandbox_state(sandbox)
    assert state.count("/views/summary") == 1 and state.count("/views/summary/week") == 0
    overall = state._summary("all", None)
    views = overall["total_views"]  # verbatim: no thousands separator
    assert _fields(card["blocks"])["Total views"] == f"{views} view{'s' if views != 1 else ''}"
    assert "all time" in card["text"]
    app.client.command("summary week", command=COMMAND)
    week = last(2)
    assert state.count("/views/summary/week") == 1
    assert "past 7 days" in week["text"]


def test_videos_page_with_more_and_details(app, slack, sandbox, last):
    """`/mindstamp videos` shows a page with title, duration, link and date, a Details button
    per video and More; More replaces the card with the next (last) page."""
    app.client.command("videos", command=COMMAND)
    page = last()
    text = blocks_text(page["blocks"])
    assert "Holiday party invitation" in text  # newest first
    assert "https://api.mindstamp.com/watch/" in text and "created 20" in text
    buttons = _buttons(page)
    assert len(buttons["mindstamp_video"]) == 10
    [more] = buttons["mindstamp_more"]
    app.client.click("mindstamp_more", more["value"])
    second = last(2)
    assert second["replace_original"] is True
    assert "from #11" in blocks_text(second["blocks"])
    assert "Interactive Video #12" in blocks_text(second["blocks"])  # the oldest
    assert "mindstamp_more" not in _buttons(second)
    assert len(_buttons(second)["mindstamp_video"]) == 2


def test_details_button_shows_the_video_with_its_counts(app, slack, sandbox, last):
    """The Details button answers with the video, its views and interactions counts."""
    state = _sandbox_state(sandbox)
    app.client.command("videos", command=COMMAND)
    page = last()
    [more] = _buttons(page)["mindstamp_more"]
    app.client.click("mindstamp_more", more["value"])
    second = last(2)
    details = next(b for b in _buttons(second)["mindstamp_video"] if b["value"] == EXAMPLE_VIDEO)
    app.client.click("mindstamp_video", details["value"])
    card = last(3)
    assert card["replace_original"] is False  # the list stays
    fields = _fields(card["blocks"])
    views = sum(1 for v in state.views.values() if v.video == EXAMPLE_VIDEO)
    interactions = sum(1 for i in state.interactions.values() if i.video == EXAMPLE_VIDEO)
    assert fields["Views"] == _count(views, "view")
    assert fields["Interactions"] == _count(interactions, "interaction")
    assert "Interactive Video #12" in blocks_text(card["blocks"])


def test_video_shows_views_and_interactions(app, sandbox, last):
    """`/mindstamp video ID` shows the video with its views and interactions counts."""
    state = _sandbox_state(sandbox)
    state.add_view(EXAMPLE_VIDEO, age=5)
    app.client.command(f"video {EXAMPLE_VIDEO}", command=COMMAND)
    card = last()
    fields = _fields(card["blocks"])
    views = sum(1 for v in state.views.values() if v.video == EXAMPLE_VIDEO)
    interactions = sum(1 for i in state.interactions.values() if i.video == EXAMPLE_VIDEO)
    assert fields["Views"] == _count(views, "view")
    assert fields["Interactions"] == _count(interactions, "interaction")
    assert fields["Duration"] == "45 s"
    assert "Interactive Video #12" in blocks_text(card["blocks"])


def test_unknown_video_is_said_plainly(app, last):
    """A video id Mindstamp does not know: a readable "not found", not an error."""
    app.client.command("video NoSuchVideo1", command=COMMAND)
    card = last()
    assert card["text"].startswith(":mag:") and "Traceback" not in card["text"]


def test_rate_limit_spent_is_told_plainly(app, sandbox, last):
    """503s until the read retries give up: the caller is told Mindstamp is rate limiting,
    with when to try again, and no trace."""
    state = _sandbox_state(sandbox)
    state.force_503(4, retry_after=0.05)  # the first try and all three retries
    app.client.command("summary week", command=COMMAND)
    card = last()
    assert card["response_type"] == "ephemeral"
    assert "rate limiting" in card["text"] and "Try again in" in card["text"]
    assert "Traceback" not in card["text"] and "reference" not in card["text"]
    assert state.count("/views/summary/week") == 4


def test_one_users_burst_is_held_to_their_share_while_others_go_on(app, slack, sandbox):
    """30 `/mindstamp summary` from one user in a row: 25 (their quarter of the 100 a
    minute) are answered, the other 5 are told when to try again without Mindstamp being
    called; another user's summary and a `digest now` — even that user's — still go."""
    state = _sandbox_state(sandbox)
    for n in range(1, 31):
        app.client.command("summary week", command=COMMAND, user_id="UBURST")
        wait_for(lambda n=n: len(slack.fake.responses) >= n, timeout=15)
    answers = [blocks_text(r.get("blocks")) + r.get("text", "") for r in slack.fake.responses]
    refused = [a for a in answers if re.search(r"rate limiting us\. Try again in \d+ s", a)]
    assert len(refused) == 5 and all("Total views" not in a for a in refused)
    assert sum("Total views" in a for a in answers) == 25
    assert state.count("/views/summary/week") == 25

    app.client.command("summary week", command=COMMAND, user_id="UOTHER")
    wait_for(lambda: len(slack.fake.responses) == 31, timeout=15)
    assert "Total views" in blocks_text(slack.fake.responses[-1]["blocks"])

    app.client.command("digest now", command=COMMAND, user_id="UBURST", channel_id="CMSB")
    wait_for(lambda: _posts(slack, "CMSB"), timeout=15)
    [posted] = _posts(slack, "CMSB")
    assert "Mindstamp digest" in blocks_text(posted.args["blocks"])
    assert state.count("/views/summary/week") == 27


def test_unconfigured_says_which_variable_to_set(tmp_path):
    """Without MINDSTAMP_TOKEN the command answers, only to the caller, what to set."""
    with world(tmp_path, vendors=False) as running:
        app = running.app
        response = app.client.command("summary", command=COMMAND)
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral" and "MINDSTAMP_TOKEN" in body["text"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "help",
        "summary year",
        "summary week month",
        "videos 2",
        "video ../etc",
        "video a b",
        'video "unclosed',
        "digest sometimes",
        "digest daily 25:00",
        "digest now please",
        "nonsense",
    ],
)
def test_bad_mindstamp_text_gets_usage(app, sandbox, text):
    """Malformed /mindstamp input gets a readable usage answer and no vendor call."""
    response = app.client.command(text, command=COMMAND)
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral" and "/mindstamp" in body["text"]
    app.wait_quiet()
    assert _calls(sandbox) == []


def test_digest_subscribe_list_now_and_off(app, slack, sandbox, last):
    """`digest daily` subscribes, `digest` lists, `digest now` posts, `digest off` removes."""
    app.client.command("digest daily 08:00", command=COMMAND, channel_id="CMSD")
    assert "every day at 08:00" in last()["text"]
    app.client.command("digest", command=COMMAND, channel_id="CMSD")
    assert "mindstamp" in last(2)["text"] and "This channel's digests" in last(2)["text"]
    app.client.command("digest now", command=COMMAND, channel_id="CMSD")
    wait_for(lambda: _posts(slack, "CMSD"), timeout=15)
    [posted] = _posts(slack, "CMSD")
    text = blocks_text(posted.args["blocks"])
    assert "Mindstamp digest" in text and "Total views" in text and "Top videos" in text
    app.client.command("digest off", command=COMMAND, channel_id="CMSD")
    wait_for(lambda: "is off" in slack.fake.responses[-1]["text"], timeout=15)
    app.client.command("digest off", command=COMMAND, channel_id="CMSD")
    wait_for(lambda: "had no Mindstamp digest" in slack.fake.responses[-1]["text"], timeout=15)


def _make_due(app) -> None:
    """Every Mindstamp subscription due at once, in one statement (one scheduler claim)."""

    async def run():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(
                sa.update(digest_subscriptions)
                .where(digest_subscriptions.c.vendor == "mindstamp")
                .values(next_run_at=time.time() - 1)
            )

    app.run(run())


def _wait_posts(slack, count: int) -> list:
    wait_for(lambda: all(len(_posts(slack, c)) >= count for c in CHANNELS), timeout=20)
    return [_posts(slack, c)[count - 1] for c in CHANNELS]


def test_scheduled_digest_one_fetch_for_many_channels(tmp_path):
    """Three channels due at once: three digests, one set of Mindstamp calls; the next
    occurrence shows each figure's change since the previous digest."""
    with world(tmp_path, chatops_digest_check_interval=0.2) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        state = _sandbox_state(sandbox)
        for n, channel in enumerate(CHANNELS, 1):
            app.client.command("digest daily 08:00", command=COMMAND, channel_id=channel)
            wait_for(lambda n=n: len(slack.fake.responses) >= n, timeout=15)
        # What one digest costs: `digest now` in a channel of its own.
        before = len(_calls(sandbox))
        app.client.command("digest now", command=COMMAND, channel_id="CMSREF")
        wait_for(lambda: _posts(slack, "CMSREF"), timeout=15)
        settle(0.3)
        one_set = Counter((c.method, c.path) for c in _calls(sandbox)[before:])
        assert one_set[("GET", "/mindstamp/views/summary/week")] == 1

        before = len(_calls(sandbox))
        _make_due(app)
        first = _wait_posts(slack, 1)
        settle(0.6)  # a few more scheduler ticks: nothing else is fetched or posted
        occurrence = Counter((c.method, c.path) for c in _calls(sandbox)[before:])
        assert occurrence == one_set
        assert all(len(_posts(slack, c)) == 1 for c in CHANNELS)
        for posted in first:
            text = blocks_text(posted.args["blocks"])
            assert "Mindstamp digest" in text and "The first digest here" in text

        state.add_view(EXAMPLE_VIDEO, age=1)
        state.add_view(EXAMPLE_VIDEO, age=2)
        before = len(_calls(sandbox))
        _make_due(app)
        second = _wait_posts(slack, 2)
        settle(0.3)
        again = Counter((c.method, c.path) for c in _calls(sandbox)[before:])
        # The top five may differ now; the cost of one set does not.
        assert again.total() == one_set.total()
        assert again[("GET", "/mindstamp/views/summary/week")] == 1
        for posted in second:
            text = blocks_text(posted.args["blocks"])
            assert "Change since the last digest" in text
            total_views = _fields(posted.args["blocks"])["Total views"]
            assert total_views.endswith("(:arrow_up: 2)")
