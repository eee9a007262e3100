"""Live job cards at Slack's pace: running jobs followed by three tracker replicas, each
with its own engine and pacer on one SQLite database (``bot.pacing``'s shared budget),
against the Slack fake in its own process.

Every job is running when the run starts (ages spread over half an hour, so their cards
are due at different intervals; one in ten changes status every 15 s). Half-way, the fake
answers one ``chat.update`` with HTTP 429 and ``Retry-After``. At the end every job
finishes at once. From the fake's record of ``chat.update`` (arrival times, one clock):

* ``max_per_window``: the most calls in any rolling window of the pace (a minute), while
  the jobs ran and over the whole run (final cards included);
* ``channel_min_gap_s``: the shortest time between two calls to one channel;
* ``retry_after``: calls that arrived while Slack's Retry-After ran (one granted before the
  429 came back may still be on its way: its offset is given);
* ``finals``: every job's final card arrived (distinct cards showing the outcome), and
  when the last one did, after the jobs ended (a job is noticed at its next poll, up to
  the tracker's longest interval, 60 s, for old jobs).

``python -m bench.card_pacing [--quick]`` runs it alone; ``make bench`` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bench.notices import last_seq, slack_calls
from bench.processes import Service
from bench.stats import most_in_window
from bot.messages import Message
from bot.metrics import Metrics
from bot.pacing import Pace, Pacer
from bot.store import Store
from bot.store.jobs import ACTIVE, DONE, SUCCEEDED
from bot.store.kv import KeyValueStore
from bot.store.schema import jobs as jobs_table
from bot.tracking import JobKind, PollResult, Tracker

VENDOR = "benchcards"
OUTCOMES = ("made", "skipped", "paused", "final", "final_held", "rate_limited")


class _Vendor:
    """Jobs run until ``end_at`` (monotonic); one in ten moves on a step every 15 s."""

    def __init__(self, begin: float, end_at: float, step: float) -> None:
        self.begin, self.end_at, self.step = begin, end_at, step

    async def poll(self, job) -> PollResult:
        now = time.monotonic()
        if now >= self.end_at:
            return PollResult("complete", SUCCEEDED)
        if int(job.target.rsplit("-", 1)[1]) % 10:
            return PollResult("running")
        return PollResult(f"step {int((now - self.begin) / self.step)}")


def _card(job) -> Message:
    if job.final:
        return Message(text=f"{job.target}: {job.outcome}, took {job.elapsed():.0f} s")
    return Message(text=f"{job.target}: {job.vendor_status}, {job.elapsed():.0f} s so far")


async def measure(
    workdir: Path,
    slack_url: str,
    *,
    jobs: int = 200,
    channels: int = 20,
    replicas: int = 3,
    duration: float = 60.0,
    pace: Pace | None = None,
    retry_after: int = 5,
    poll_interval: float = 5.0,
    max_interval: float = 60.0,
    tick: float = 1.0,
) -> dict[str, Any]:
    pace = pace or Pace()
    url = f"sqlite:///{workdir / 'card-pacing.db'}"
    stores = [Store(url) for _ in range(replicas)]
    for store in stores:
        await store.start()
    client = AsyncWebClient(token="xoxb-bench", base_url=slack_url + "/api/")
    now = time.time()
    rows = []
    for i in range(jobs):
        channel = f"C0PACE{i % channels:03d}"
        posted = await client.chat_postMessage(channel=channel, text="card")
        age = (i * 37) % 1800  # up to half an hour old
        rows.append(
            {
                "id": f"bench-{i:04d}",
                "vendor": VENDOR,
                "target": f"job-{i}",
                "params": {},
                "channel_id": channel,
                "message_ts": posted["ts"],
                "user_id": "U0BENCH",
                "vendor_job_id": f"v-{i}",
                "state": ACTIVE,
                "vendor_status": "running" if i % 10 else "step 0",
                "created_at": now - age,
                "updated_at": now,
                "deadline_at": now + 86400,
                "next_poll_at": now + (i % 50) / 50 * poll_interval,
                "poll_count": 0,
                "notice_step": 0,
            }
        )
    async with stores[0].engine.begin() as conn:
        await conn.execute(jobs_table.insert(), rows)

    after = last_seq(slack_url)
    begin = time.monotonic()
    end_at = begin + duration
    vendor = _Vendor(begin, end_at, step=15.0)
    trackers = []
    for k, store in enumerate(stores):
        metrics = Metrics()
        tracker = Tracker(
            store.jobs,
            AsyncWebClient(token="xoxb-bench", base_url=slack_url + "/api/"),
            poll_interval=poll_interval,
            max_interval=max_interval,
            metrics=metrics,
            owner=f"replica-{k}",
            pacer=Pacer(KeyValueStore(store.engine), pace, metrics=metrics),
        )
        tracker.register(JobKind(VENDOR, vendor.poll, _card, lambda job: None))
        trackers.append(tracker)

    async def remaining() -> int:
        counts = await stores[0].jobs.count_by_state()
        return sum(n for state, n in counts.items() if state != DONE)

    # Old jobs are noticed at their next poll; then all the final cards, within Tier 3.
    give_up = end_at + max_interval + jobs / pace.slack_per_window * pace.window + 60
    injected = False

    async def ticking(tracker: Tracker, offset: float) -> None:
        await asyncio.sleep(offset)
        while time.monotonic() < give_up:
            await tracker.tick()
            await asyncio.sleep(tick)
            if time.monotonic() > end_at and await remaining() == 0:
                return

    async def inject() -> None:
        nonlocal injected
        await asyncio.sleep(duration / 2)
        async with httpx.AsyncClient() as http:
            await http.post(
                slack_url + "/_bench/fail_next",
                json={"method": "chat.update", "retry_after": retry_after},
            )
        injected = True

    await asyncio.gather(
        inject(), *(ticking(t, k * tick / replicas) for k, t in enumerate(trackers))
    )
    for tracker in trackers:
        await tracker.drain(timeout=10)
    left = await remaining()
    for store in stores:
        await store.close()

    calls = slack_calls(slack_url, after, "chat.update")
    running = [c["at"] for c in calls if c["at"] < end_at]
    by_channel: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        by_channel[c["channel"]].append(c["at"])
    gaps = [b - a for ts in by_channel.values() for a, b in itertools.pairwise(ts)]
    limited = [c for c in calls if c["error"] == "ratelimited"]
    retry: dict[str, Any] = {"injected": injected, "retry_after_s": retry_after}
    if limited:
        hit = limited[0]["at"]
        during = [c["at"] - hit for c in calls if hit < c["at"] < hit + retry_after]
        retry.update(calls_during=len(during), offsets_s=[round(d, 3) for d in during])
    finals = {
        c["ts"]: c["at"] for c in calls if c["error"] is None and SUCCEEDED in (c["text"] or "")
    }
    refreshed = Counter(c["ts"] for c in calls if c["at"] < end_at and c["error"] is None)
    outcomes = {
        tracker.owner: {
            o: int(tracker.metrics.card_refreshes.labels(o)._value.get())  # type: ignore[union-attr]
            for o in OUTCOMES
        }
        for tracker in trackers
    }
    return {
        "jobs": jobs,
        "channels": channels,
        "replicas": replicas,
        "duration_s": duration,
        "pace": {
            "per_window": pace.per_window,
            "slack_per_window": pace.slack_per_window,
            "window_s": pace.window,
            "channel_spacing_s": pace.channel_spacing,
            "first_interval_s": pace.first_interval,
            "max_interval_s": pace.max_interval,
        },
        "calls": len(calls),
        "max_per_window_running": most_in_window(running, pace.window),
        "max_per_window_all": most_in_window([c["at"] for c in calls], pace.window),
        "channel_min_gap_s": min(gaps) if gaps else None,
        "cards_refreshed_while_running": len(refreshed),
        "refreshes_per_card_median": statistics.median(refreshed.values()) if refreshed else 0,
        "retry_after": retry,
        "finals": {
            "arrived": len(finals),
            "expected": jobs,
            "not_done": left,
            "last_after_end_s": (max(finals.values()) - end_at) if finals else None,
        },
        "replica_outcomes": outcomes,
    }


QUICK: dict[str, Any] = {"jobs": 60, "channels": 6, "duration": 20.0, "retry_after": 3}


def render(r: dict[str, Any]) -> str:
    pace, fin, retry = r["pace"], r["finals"], r["retry_after"]
    lines = [
        f"{r['jobs']} running jobs in {r['channels']} channels, {r['replicas']} tracker replicas "
        f"on one SQLite database, {r['duration_s']:g} s; pace {pace['per_window']} refreshes "
        f"({pace['slack_per_window']} with final cards) per {pace['window_s']:g} s, "
        f"{pace['channel_spacing_s']:g} s per channel",
        f"  chat.update calls: {r['calls']}; most in any {pace['window_s']:g} s: "
        f"{r['max_per_window_running']} while running, {r['max_per_window_all']} with the finals",
        f"  shortest gap between two calls to one channel: {r['channel_min_gap_s']:.2f} s",
        f"  cards refreshed while running: {r['cards_refreshed_while_running']} "
        f"(median {r['refreshes_per_card_median']:g} refreshes each)",
        f"  429 with Retry-After {retry['retry_after_s']} s: {retry.get('calls_during', '—')} "
        f"calls while it ran {retry.get('offsets_s', '')}",
        f"  final cards: {fin['arrived']}/{fin['expected']} arrived (jobs not done: "
        f"{fin['not_done']}), the last {fin['last_after_end_s'] or 0:.1f} s after the jobs ended",
        "  per replica: "
        + "; ".join(
            f"{owner} " + " ".join(f"{k}={v}" for k, v in counts.items())
            for owner, counts in r["replica_outcomes"].items()
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.card_pacing", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="60 jobs for 20 s")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chatops-pacing-") as tmp:
        workdir = Path(tmp)
        slack = Service("slack-fake", ["bench.slack_server"], workdir).start()
        try:
            kw: dict[str, Any] = QUICK if args.quick else {}
            results = asyncio.run(measure(workdir, slack.url, **kw))
        finally:
            slack.stop(timeout=15)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
