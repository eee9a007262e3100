"""A digest's chart is posted after its text, drawn off the event loop, and is best effort:
whatever stops it, the digest's text is posted once and the next digest works (the Slack
fake over HTTP, the state store on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.digests import DigestKind, Digests
from bot.messages import Message, Picture
from bot.metrics import Metrics
from bot.store.digests import DigestStore
from handlers.common.charts import line_chart
from tests.unit.test_charts import png_size


class Source:
    """A vendor stand-in: each occurrence has one new figure; the message carries a chart
    of the figures so far. ``drawn_in`` records the threads the chart was drawn in."""

    def __init__(self):
        self.figure = 0
        self.drawn_in: list[threading.Thread] = []
        self.broken_drawing = False

    async def fetch(self, sub, since):
        self.figure += 1
        return self.figure

    def render(self, sub, data, since, forced):
        chart = line_chart("Figures", [("a", 1), ("b", data)], filename="f.png", alt_text="▁█")

        def draw() -> bytes:
            self.drawn_in.append(threading.current_thread())
            if self.broken_drawing:
                raise RuntimeError("no fonts today")
            return chart.draw()

        return Message(
            text=f"digest {data}",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"digest {data}"}}],
            files=(Picture("f.png", "Figures", "▁█", draw),),
        )


def make(store, slack, source):
    metrics = Metrics()
    digests = Digests(
        DigestStore(store.engine),
        AsyncWebClient(token="xoxb-t", base_url=slack.api_url),
        timezone=ZoneInfo("UTC"),
        owner="p1",
        metrics=metrics,
    )
    digests.register(DigestKind("demo", "Demo", lambda sub: "all", source.fetch, source.render))
    return digests, metrics


def count(metrics, outcome) -> float:
    return metrics.registry.get_sample_value(
        "chatops_digests_total", {"vendor": "demo", "outcome": outcome}
    )


async def due(store, channel="C1"):
    sub = await DigestStore(store.engine).get("demo", channel)
    await DigestStore(store.engine).update(sub.id, next_run_at=time.time() - 1)


def texts(slack):
    return [c.args["text"] for c in slack.fake.calls_to("chat.postMessage") if c.ok]


async def test_the_chart_follows_the_text_in_the_channel_drawn_off_the_loop(store, slack):
    """Text first, then the PNG in the same channel, with its title and alt text; drawn in
    a worker thread, never on the event loop's."""
    source = Source()
    digests, metrics = make(store, slack, source)
    await digests.subscribe("demo", "C1", frequency="daily", at_time="09:00", user_id="U1")
    await due(store)
    await digests.tick()
    methods = [c.method for c in slack.fake.calls if c.ok]
    assert methods.index("chat.postMessage") < methods.index("files.getUploadURLExternal")
    [upload] = slack.fake.files
    assert upload["channel_id"] == "C1" and upload["thread_ts"] is None
    assert (upload["filename"], upload["title"], upload["alt_txt"]) == ("f.png", "Figures", "▁█")
    assert png_size(upload["content"]) == (640, 240)  # the bytes arrived as drawn
    assert source.drawn_in and threading.main_thread() not in source.drawn_in
    assert count(metrics, "posted") == 1 and count(metrics, "chart_posted") == 1


async def test_an_upload_refused_keeps_the_digest_and_the_next_one_works(store, slack):
    """Slack refusing the upload (at each of its three steps): the text is posted once, the
    occurrence is not put back for another try, the failure is counted; the next digest
    posts its text and its chart."""
    source = Source()
    digests, metrics = make(store, slack, source)
    await digests.subscribe("demo", "C1", frequency="daily", at_time="09:00", user_id="U1")
    failures = [
        ("files.getUploadURLExternal", {"error": "internal_error"}),
        ("upload", {}),
        ("files.completeUploadExternal", {"error": "fatal_error"}),
    ]
    for n, (method, error) in enumerate(failures, 1):
        slack.fake.fail_next(method, **error)
        await due(store)
        assert await digests.tick() == 1
        assert await digests.tick() == 0  # the occurrence is done, not retried
        assert texts(slack) == [f"digest {k}" for k in range(1, n + 1)]
        assert slack.fake.files == []
        sub = await DigestStore(store.engine).get("demo", "C1")
        assert sub.next_run_at > time.time() + 3600 and sub.cursor["since"] > time.time() - 60
    assert count(metrics, "chart_failed") == 3 and count(metrics, "retry") is None
    await due(store)
    await digests.tick()
    assert texts(slack)[-1] == "digest 4" and len(slack.fake.files) == 1
    assert count(metrics, "chart_posted") == 1


async def test_a_chart_that_cannot_be_drawn_keeps_the_digest(store, slack):
    """A drawing that fails is the chart's failure only: `digest now` still posts and moves
    the channel's "new since" on."""
    source = Source()
    source.broken_drawing = True
    digests, metrics = make(store, slack, source)
    sub = await digests.subscribe("demo", "C1", frequency="daily", at_time="09:00", user_id="U")
    await digests.post_now("demo", "C1")
    assert texts(slack) == ["digest 1"] and slack.fake.calls_to("files.getUploadURLExternal") == []
    after = await DigestStore(store.engine).get("demo", "C1")
    assert after.cursor and after.cursor["since"] > sub.created_at
    assert count(metrics, "chart_failed") == 1
