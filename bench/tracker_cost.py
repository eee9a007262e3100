"""Tracker cost: SQL statements and CPU time of one poll cycle (``Tracker.tick``) with
10 and with 1,000 pending jobs, the same few of them due.

The jobs live in a temporary SQLite store built with ``bot.store.Store``; statements are
counted with a ``before_cursor_execute`` listener on the engine. A stub job kind answers
every poll with the status the job already has (so no Slack call is made): what is left is
the tracker's own work. "claim" counts the statements ``tick()`` itself issues; "cycle"
adds the work it spawns for the due jobs, awaited to the end.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import event

from bot.messages import Message
from bot.metrics import Metrics
from bot.store import Store
from bot.store.jobs import ACTIVE
from bot.store.schema import jobs as jobs_table
from bot.tracking import JobKind, PollResult, Tracker


class StatementCounter:
    def __init__(self, engine) -> None:
        self.on = False
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        if self.on:
            self.count += 1


async def _poll(job) -> PollResult:
    return PollResult(status=job.vendor_status or "running")


def _kind() -> JobKind:
    message = Message(text="bench")
    # Positional: (vendor, poll, card, the notice when a job ends), whatever its name.
    return JobKind("bench", _poll, lambda job: message, lambda job: message)


async def scenario(workdir: Path, slack_api_url: str, pending: int, due: int, cycles: int):
    store = Store(f"sqlite:///{workdir / f'tracker-{pending}-{due}.db'}")
    await store.start()
    now = time.time()
    rows = [
        {
            "id": uuid.uuid4().hex,
            "vendor": "bench",
            "target": "demo:hello.rb",
            "params": {},
            "channel_id": "C0TRACK",
            "message_ts": "1700000000.000100",
            "user_id": "U0BENCH",
            "vendor_job_id": f"job-{i}",
            "state": ACTIVE,
            "vendor_status": "running",
            "created_at": now,
            "updated_at": now,
            "deadline_at": now + 86400,
            "next_poll_at": now + 3600 + i,
            "poll_count": 0,
            "notice_step": 0,
        }
        for i in range(pending)
    ]
    async with store.engine.begin() as conn:
        await conn.execute(jobs_table.insert(), rows)
    due_ids = [row["id"] for row in rows[:due]]
    slack = AsyncWebClient(token="xoxb-bench", base_url=slack_api_url)
    tracker = Tracker(store.jobs, slack, poll_interval=5.0, metrics=Metrics(), owner="bench")
    tracker.register(_kind())
    counter = StatementCounter(store.engine)
    measured = []
    for _ in range(cycles):
        if due_ids:
            async with store.engine.begin() as conn:
                await conn.execute(
                    jobs_table.update()
                    .where(jobs_table.c.id.in_(due_ids))
                    .values(next_poll_at=time.time() - 1, lease_owner=None, lease_until=None)
                )
        counter.count = 0
        counter.on = True
        cpu, wall = time.process_time(), time.perf_counter()
        claimed = await tracker.tick()
        claim_statements = counter.count
        # The work tick() spawned for the due jobs (the tracker keeps it in _inflight).
        while tracker._inflight:
            await asyncio.gather(*list(tracker._inflight))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        counter.on = False
        measured.append((claim_statements, counter.count, cpu, wall, claimed))
    async with store.engine.connect() as conn:
        total = (await conn.execute(sa.select(sa.func.count()).select_from(jobs_table))).scalar()
    await store.close()
    steady = measured[1:] or measured  # the first cycle also refreshes the state gauges
    return {
        "pending": total,
        "due": due,
        "claimed": measured[-1][4],
        "cycles": cycles,
        "claim_statements": statistics.median(m[0] for m in steady),
        "cycle_statements": statistics.median(m[1] for m in steady),
        "first_cycle_statements": measured[0][1],
        "cpu_ms": statistics.median(m[2] for m in steady) * 1000,
        "wall_ms": statistics.median(m[3] for m in steady) * 1000,
    }


async def measure(workdir: Path, slack_api_url: str, cycles: int) -> dict[str, Any]:
    cases = [(10, 5), (1000, 5), (1000, 0), (1000, 50)]
    results = [await scenario(workdir, slack_api_url, p, d, cycles) for p, d in cases]
    small, large = results[0], results[1]
    return {
        "scenarios": results,
        "o1": small["cycle_statements"] == large["cycle_statements"]
        and small["claim_statements"] == large["claim_statements"],
    }
