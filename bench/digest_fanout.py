"""Digest fan-out: 500 channels subscribed to one digest, all due at once.

Uses the shared mechanism (``bot.digests.Digests``) with a registered ``DigestKind`` whose
fetch asks the Flint sandbox for one job's result, so vendor calls are counted at the
vendor; Slack calls are counted by the Slack fake, whose record also gives each post's
time, per channel.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import httpx
from slack_sdk.web.async_client import AsyncWebClient

from adapters.flint import FlintClient
from adapters.flint.sandbox import DEMO_PASSWORD, DEMO_USERNAME
from bench.notices import slack_calls
from bench.stats import most_in_window
from bot.digests import DigestKind, Digests
from bot.messages import Message
from bot.metrics import Metrics
from bot.store import Store
from bot.store.digests import DigestStore
from bot.store.schema import digest_subscriptions

VENDOR = "benchdigest"


async def measure(
    workdir: Path, *, slack_url: str, vendor_url: str, channels: int
) -> dict[str, Any]:
    store = Store(f"sqlite:///{workdir / 'digests.db'}")
    await store.start()
    flint_url = vendor_url + "/fast/flint"
    async with httpx.AsyncClient() as http, aiohttp.ClientSession() as session:
        flint = FlintClient(
            http, base_url=flint_url, username=DEMO_USERNAME, password=DEMO_PASSWORD
        )
        job = await flint.run("demo:hello.rb")
        fetches = 0

        async def fetch(_sub, _since):
            nonlocal fetches
            fetches += 1
            return (await flint.result(job.job_id)).as_dict()

        def render(_sub, data, _since, _forced):
            status = data["meta"].get("status")
            text = f"Bench digest: job {job.job_id} is {status}"
            return Message(
                text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            )

        slack = AsyncWebClient(token="xoxb-bench", base_url=slack_url + "/api/")
        slack.session = session
        digests = Digests(
            DigestStore(store.engine),
            slack,
            timezone=ZoneInfo("UTC"),
            owner="bench",
            metrics=Metrics(),
        )
        digests.register(DigestKind(VENDOR, "Bench digest", lambda sub: "all", fetch, render))
        now = time.time()
        rows = [
            {
                "id": uuid.uuid4().hex,
                "vendor": VENDOR,
                "channel_id": f"CDIG{i:05d}",
                "frequency": "daily",
                "at_time": "09:00",
                "timezone": "UTC",
                "options": {},
                "created_by": "U0BENCH",
                "created_at": now - 86400,
                "next_run_at": now - 1,
            }
            for i in range(channels)
        ]
        async with store.engine.begin() as conn:
            await conn.execute(digest_subscriptions.insert(), rows)

        result_path = f"/v1/bit/result/{job.job_id}"
        vendor_before = _vendor_calls(vendor_url, result_path)
        seq = (slack_calls(slack_url) or [{"seq": 0}])[-1]["seq"]
        started = time.perf_counter()
        handled = await digests.tick()
        wall = time.perf_counter() - started
    await store.close()
    vendor_calls = _vendor_calls(vendor_url, result_path) - vendor_before
    posts = [
        c
        for c in slack_calls(slack_url, after=seq)
        if c["method"] == "chat.postMessage" and str(c["channel"]).startswith("CDIG")
    ]
    ok_posts = [c for c in posts if not c["error"]]
    per_channel: dict[str, list[float]] = defaultdict(list)
    for call in posts:
        per_channel[call["channel"]].append(call["at"])
    per_channel_max = max((most_in_window(t, 1.0) for t in per_channel.values()), default=0)
    all_times = [c["at"] for c in posts]
    return {
        "channels": channels,
        "handled": handled,
        "vendor_calls": vendor_calls,
        "fetches": fetches,
        "slack_calls": len(posts),
        "slack_ok": len(ok_posts),
        "channels_posted": len({c["channel"] for c in ok_posts}),
        "wall_s": wall,
        "max_posts_per_channel_per_s": per_channel_max,
        "peak_posts_per_s": most_in_window(all_times, 1.0),
        "peak_posts_per_min": most_in_window(all_times, 60.0),
    }


def _vendor_calls(vendor_url: str, path: str) -> int:
    calls = httpx.get(vendor_url + "/_bench/flint/fast/calls").json()
    return sum(1 for c in calls if c["path"].endswith(path))
