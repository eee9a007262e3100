"""The shared digest mechanism: schedules, one post per occurrence, one fetch per group."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.digests import DigestKind, Digests, next_occurrence, parse_at, since_of
from bot.messages import Message
from bot.store import Store
from bot.store.digests import DigestStore

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("frequency", "after", "expected"),
    [
        ("daily", "2026-11-22 08:00", "2026-11-22 09:00"),
        ("daily", "2026-11-22 09:00", "2026-11-23 09:00"),
        ("weekly", "2026-11-22 10:00", "2026-11-23 09:00"),  # Sunday → Monday
        ("weekly", "2026-11-23 09:30", "2026-11-30 09:00"),
        ("daily", "2026-03-28 12:00", "2026-03-29 09:00"),  # across the DST change
    ],
)
def test_next_occurrence_follows_the_wall_clock(frequency, after, expected):
    """Occurrences are at HH:MM local time, weekly on Mondays, DST included."""
    start = datetime.strptime(after, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)
    got = next_occurrence(frequency, "09:00", BERLIN, start)
    assert got.strftime("%Y-%m-%d %H:%M") == expected and got.tzinfo is BERLIN


@pytest.mark.parametrize("text", ["25:00", "9", "09:7", "ab:cd", "", "12:60", "-1:00"])
def test_bad_times_are_refused(text):
    """A time that is not HH:MM is refused with the expected format in the message."""
    with pytest.raises(ValueError, match="HH:MM"):
        parse_at(text)


class Source:
    """A vendor stand-in counting fetches; `items` are (timestamp, text)."""

    def __init__(self):
        self.items: list[tuple[float, str]] = []
        self.fetches = 0

    async def fetch(self, sub, since):
        self.fetches += 1
        return [item for item in self.items if item[0] > since]

    def render(self, sub, data, since, forced):
        new = [text for ts, text in data if ts > since]
        if not new and not forced:
            return None
        return Message(text="digest: " + (", ".join(new) or "nothing new"))


def make(store, slack, source, owner="p1"):
    digests = Digests(
        DigestStore(store.engine),
        AsyncWebClient(token="xoxb-t", base_url=slack.api_url),
        timezone=ZoneInfo("UTC"),
        owner=owner,
    )
    digests.register(DigestKind("demo", "Demo", lambda sub: "all", source.fetch, source.render))
    return digests


def posts(slack, channel=None):
    return [
        c.args["text"]
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and (channel is None or c.args["channel"] == channel)
    ]


async def make_due(store, vendor, channel, when):
    sub = await DigestStore(store.engine).get(vendor, channel)
    await DigestStore(store.engine).update(sub.id, next_run_at=when)


async def test_subscribe_list_and_off(store, slack):
    """A subscription is saved with its next occurrence, listed, changed and removed."""
    digests = make(store, slack, Source())
    sub = await digests.subscribe("demo", "C1", frequency="daily", at_time="7:30", user_id="U1")
    assert sub.at_time == "07:30" and sub.next_run_at > time.time()
    await digests.subscribe("demo", "C1", frequency="weekly", at_time="08:00", user_id="U1")
    [listed] = await digests.subscriptions("C1")
    assert listed.frequency == "weekly" and "Mondays at 08:00 (UTC)" in digests.describe(listed)
    assert await digests.unsubscribe("demo", "C1")
    assert await digests.subscriptions("C1") == []


@pytest.mark.parametrize(
    ("frequency", "said", "weekdays"),
    [("weekdays", "weekdays at 08:30", {0, 1, 2, 3, 4}), ("fri", "Fridays at 08:30", {4})],
)
async def test_every_schedule_is_stored_and_runs_on_its_days(
    store, slack, frequency, said, weekdays
):
    """The longest stored form ("weekdays") and a day's fit the frequency column (on
    PostgreSQL too); a posted occurrence moves the schedule to a later one of its days."""
    source = Source()
    digests = make(store, slack, source)
    sub = await digests.subscribe("demo", "C1", frequency=frequency, at_time="8:30", user_id="U")
    assert sub.frequency == frequency
    assert digests.describe(sub).startswith(f"{said} (UTC); next ")
    first = datetime.fromtimestamp(sub.next_run_at, ZoneInfo("UTC"))
    assert first.weekday() in weekdays and first.strftime("%H:%M") == "08:30"
    source.items.append((time.time(), "news"))
    await make_due(store, "demo", "C1", time.time() - 1)
    assert await digests.tick() == 1 and posts(slack) == ["digest: news"]
    moved = await DigestStore(store.engine).get("demo", "C1")
    following = datetime.fromtimestamp(moved.next_run_at, ZoneInfo("UTC"))
    assert following.weekday() in weekdays and following.strftime("%H:%M") == "08:30"
    assert moved.next_run_at > time.time()


async def test_a_first_digest_covers_one_period_of_its_schedule(store, slack):
    """Nothing posted yet: the first digest shows what is new since the schedule's last
    moment before the subscription (a weekly one: the Monday before), not more."""
    source = Source()
    digests = make(store, slack, source)
    sub = await digests.subscribe("demo", "C1", frequency="weekly", at_time="09:00", user_id="U")
    since = since_of(sub)
    monday = datetime.fromtimestamp(since, ZoneInfo("UTC"))
    assert monday.weekday() == 0 and monday.strftime("%H:%M") == "09:00"
    assert 0 < sub.created_at - since <= 7 * 86400


async def test_missed_occurrences_post_once_and_nothing_new_is_skipped(store, slack):
    """Three days down: one digest at start, then the schedule moves to the future."""
    source = Source()
    digests = make(store, slack, source)
    await digests.subscribe("demo", "C1", frequency="daily", at_time="09:00", user_id="U1")
    source.items.append((time.time(), "a new wish"))
    await make_due(store, "demo", "C1", time.time() - 3 * 86400)
    assert await digests.tick() == 1
    assert await digests.tick() == 0
    assert posts(slack) == ["digest: a new wish"]
    sub = await DigestStore(store.engine).get("demo", "C1")
    assert sub.next_run_at > time.time()
    await make_due(store, "demo", "C1", time.time() - 1)
    await digests.tick()
    assert len(posts(slack)) == 1  # nothing new since: skipped


async def test_now_posts_even_when_nothing_is_new(store, slack):
    """`digest now` always posts, and moves "new since" on."""
    source = Source()
    digests = make(store, slack, source)
    await digests.post_now("demo", "C9")
    assert posts(slack, "C9") == ["digest: nothing new"]


async def test_three_channels_one_fetch(store, slack):
    """Channels subscribed to the same digest share one set of vendor calls."""
    source = Source()
    digests = make(store, slack, source)
    source.items.append((time.time(), "x"))
    for channel in ("C1", "C2", "C3"):
        await digests.subscribe("demo", channel, frequency="daily", at_time="09:00", user_id="U")
        await make_due(store, "demo", channel, time.time() - 10)
    await digests.tick()
    assert source.fetches == 1
    assert sorted(c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")) == [
        "C1",
        "C2",
        "C3",
    ]


async def test_two_processes_post_each_occurrence_once(store, slack, database_url):
    """Two schedulers on one database racing for the same due occurrence post it once."""
    source = Source()
    other_store = Store(database_url)
    first, second = make(store, slack, source, "p1"), make(other_store, slack, source, "p2")
    source.items.append((time.time(), "y"))
    for i in range(10):
        await first.subscribe("demo", f"C{i}", frequency="daily", at_time="09:00", user_id="U")
        await make_due(store, "demo", f"C{i}", time.time() - 10)
    await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
    channels = [c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")]
    assert sorted(channels) == sorted(f"C{i}" for i in range(10))
    await other_store.close()


async def test_archived_channel_drops_its_subscription(store, slack):
    """A channel Slack says is gone loses its subscription instead of failing forever."""
    source = Source()
    digests = make(store, slack, source)
    source.items.append((time.time(), "z"))
    await digests.subscribe("demo", "CGONE", frequency="daily", at_time="09:00", user_id="U")
    await make_due(store, "demo", "CGONE", time.time() - 1)
    slack.fake.fail_next("chat.postMessage", "is_archived")
    await digests.tick()
    assert await digests.subscriptions("CGONE") == []


async def test_rate_limited_post_is_retried_later_not_lost(store, slack):
    """A digest Slack refused for now (rate limit) is put back and posted later."""
    source = Source()
    digests = make(store, slack, source)
    source.items.append((time.time(), "w"))
    await digests.subscribe("demo", "C1", frequency="daily", at_time="09:00", user_id="U")
    await make_due(store, "demo", "C1", time.time() - 1)
    slack.fake.fail_next("chat.postMessage", "ratelimited")
    await digests.tick()
    assert posts(slack) == []
    await make_due(store, "demo", "C1", time.time() - 1)
    await digests.tick()
    assert posts(slack) == ["digest: w"]
