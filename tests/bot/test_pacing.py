"""Live job cards at a pace Slack accepts.

The pacer's decisions are checked at production's pace on a simulated clock, against the
real shared row (SQLite and PostgreSQL): minutes of polls take milliseconds. The tracker
with it runs in real time (replicas, each with its own engine, on one real database; the
Slack Web API fake over HTTP; a scripted vendor), with paces scaled down to windows of a
second or so."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bench.stats import most_in_window
from bot.messages import Message
from bot.metrics import Metrics
from bot.pacing import Pace, Pacer
from bot.store import NewJob, Store
from bot.store.jobs import ACTIVE, DONE, NOTIFYING, SUCCEEDED, TrackedJob
from bot.store.kv import KeyValueStore
from bot.tracking import JobKind, PollResult, Tracker

# -- the pacer alone, on a simulated clock -----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def pacer(store: Store, clock: Clock, pace: Pace | None = None, row: str = "pace") -> Pacer:
    return Pacer(KeyValueStore(store.engine), pace, metrics=Metrics(), clock=clock, row=row)


def running_job(n: int, created: float, *, channel: str | None = None) -> TrackedJob:
    return TrackedJob(
        id=f"job-{n}",
        vendor="scripted",
        target=f"job-{n}",
        params={},
        channel_id=channel or f"C{n}",
        user_id="U1",
        state=ACTIVE,
        created_at=created,
        updated_at=created,
        deadline_at=created + 86400,
        message_ts=f"{n}.0",
        vendor_status="running",
    )


async def simulate(
    pacer_for: Callable[[], Pacer],
    clock: Clock,
    jobs: list[TrackedJob],
    *,
    every: float,
    seconds: float,
    steps_every: float | None = None,
) -> list[tuple[float, str, str]]:
    """Each job polled every ``every`` seconds, staggered, as a tracker polls: its poll
    count one up at each poll. With ``steps_every``, every fifth job's status flips
    between two that often. The grants: (when, job, status shown)."""
    start = clock.now
    step = every / len(jobs)
    grants = []
    for k in range(int(seconds / step)):
        clock.now = start + k * step
        job = jobs[k % len(jobs)]
        changed = False
        if steps_every and int(job.id.rsplit("-", 1)[1]) % 5 == 0:
            status = f"step {int((clock.now - start) / steps_every) % 2}"
            changed, job.vendor_status = status != job.vendor_status, status
        if await pacer_for().progress(job, changed=changed):
            grants.append((clock.now, job.id, job.vendor_status or ""))
        job.poll_count += 1
    return grants


@contextmanager
def reads_of_the_row(store: Store) -> Iterator[list[str]]:
    """Every statement that reads the kv table, while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and " kv" in statement:
            seen.append(statement)

    engine = store.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def counted(holder: Pacer | Tracker, outcome: str) -> float:
    assert holder.metrics is not None
    return holder.metrics.card_refreshes.labels(outcome)._value.get()  # type: ignore[union-attr]


async def test_a_long_running_card_shows_its_elapsed_time_ever_less_often(store):
    """At production's pace, a card with no status change is refreshed for its elapsed
    time every 10 s or so in its first minute, then less often as it ages, up to once a
    minute, and never faster than its interval."""
    clock, pace = Clock(), Pace()
    job = running_job(1, clock.now)
    p = pacer(store, clock, pace)
    grants = await simulate(lambda: p, clock, [job], every=1.0, seconds=900)
    ages = [at - job.created_at for at, _, _ in grants]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ages)]
    assert ages[0] == 9.0  # due at 0.9 times its interval, polled every second
    for gap, age in zip(gaps, ages[1:], strict=True):
        assert gap >= 0.9 * pace.card_interval(age)
    assert gaps == sorted(gaps)
    assert max(gaps[:5]) <= pace.first_interval
    assert gaps[-3:] == [0.9 * pace.max_interval] * 3


async def test_a_status_change_the_budget_skipped_is_shown_later(store):
    """A new status that could not be shown at once (its channel just had a refresh) is
    shown at a later poll, although its card is nowhere near due for its elapsed time."""
    clock = Clock()
    p = pacer(store, clock)
    job = running_job(1, clock.now)
    job.vendor_status = "submitted"
    assert await p.progress(job, changed=True)
    clock.now += 0.3
    job.vendor_status, job.poll_count = "compiling", 1
    assert not await p.progress(job, changed=True)  # its channel's second is not over
    shown = []
    for poll in range(2, 8):
        clock.now += 0.5
        job.poll_count = poll
        if await p.progress(job, changed=False):
            shown.append(clock.now - job.created_at)
    assert shown == [pytest.approx(1.8)]  # the spacing between progress refreshes (1.5 s) is over
    assert counted(p, "skipped") == 3


@pytest.mark.parametrize("per_minute", [1, 2])
async def test_the_smallest_budgets_refresh_status_changes_and_final_cards(store, per_minute):
    """A budget of 1 or 2 a minute leaves elapsed-time ticks no share: they are refused,
    while a status change and a final card still get their call."""
    clock = Clock()
    pace = Pace.per_minute(per_minute)
    cards = pacer(store, clock, pace)
    job = running_job(1, clock.now)
    clock.now += 10 * pace.max_interval
    assert not await cards.progress(job, changed=False)
    assert await cards.progress(job, changed=True)
    clock.now += pace.window
    assert await cards.final(job) == (0.0, True)


async def test_final_cards_ending_at_once_queue_in_slots_each_woken_once(store):
    """Eight jobs ending at once with room for three calls a minute: three cards go now,
    the others each get a slot of their own, three a minute, and woken for it each goes
    without being held again (no herd of them all waking at once)."""
    clock = Clock()
    pace = Pace(per_window=2, slack_per_window=3)
    p = pacer(store, clock, pace)
    start = clock.now
    jobs = [running_job(n, start - 60) for n in range(8)]
    first = [await p.final(job) for job in jobs]
    assert [go for _, go in first] == [True] * 3 + [False] * 5
    slots = sorted((wait, job.id) for (wait, _), job in zip(first, jobs, strict=True))
    assert [wait for wait, _ in slots] == [0.0] * 3 + [60.0] * 3 + [120.0] * 2
    sent = []
    for wait, job_id in slots:
        clock.now = start + wait
        [job] = [j for j in jobs if j.id == job_id]
        assert await p.final(job) == (0.0, True)
        sent.append(clock.now)
    assert most_in_window(sent, pace.window) == pace.slack_per_window
    assert counted(p, "final_held") == 5 and counted(p, "final") == 11


async def test_elapsed_time_ticks_read_the_shared_row_only_when_it_may_say_yes(store):
    """Twenty running jobs polled every 5 s for a minute at production's pace,
    some changing status back and forth: the cards refreshed, and when, are those of a
    pacer that reads the shared row at every poll (a new one each time, remembering
    nothing), for a fraction of the reads."""
    clock = Clock()
    start = clock.now

    async def run(pacer_for: Callable[[], Pacer]) -> list[tuple[float, str, str]]:
        clock.now = start
        jobs = [running_job(n, start - 20 * n, channel=f"C{n % 7}") for n in range(20)]
        return await simulate(pacer_for, clock, jobs, every=5, seconds=60, steps_every=20)

    remembering = pacer(store, clock, row="remembering")
    with reads_of_the_row(store) as reads:
        grants = await run(lambda: remembering)
    assert grants == await run(lambda: pacer(store, clock, row="reading"))
    assert len(grants) > 25  # the budget is used, not starved
    # Reads for a yes (a refresh, 30 to 40 a minute at this pace) or a new status.
    assert len(reads) < 240 / 4, f"{len(reads)} reads for 240 polls"


# -- the tracker with it, in real time ---------------------------------------------------


class Vendor:
    """Every job runs with ``status`` until ``finished`` is set."""

    def __init__(self, status: str = "running") -> None:
        self.status = status
        self.finished = False

    async def poll(self, job):
        if self.finished:
            return PollResult("complete", SUCCEEDED)
        return PollResult(self.status)


def card(job):
    took = f"took {job.elapsed():.2f}" if job.final else f"for {job.elapsed():.2f}"
    return Message(text=f"{job.target}: {job.vendor_status} {job.outcome or ''} {took}")


def replica(store: Store, slack, vendor: Vendor, pace: Pace) -> Tracker:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    metrics = Metrics()
    pacer = Pacer(KeyValueStore(store.engine), pace, metrics=metrics)
    tracker = Tracker(
        store.jobs, client, poll_interval=0.05, max_interval=0.05, metrics=metrics, pacer=pacer
    )
    tracker.register(JobKind("scripted", vendor.poll, card, lambda job: None))
    return tracker


@asynccontextmanager
async def second_store(database_url):
    """Another process's view of the same database: its own engine and connections."""
    other = Store(database_url)
    await other.start()
    try:
        yield other
    finally:
        await other.close()


async def start_jobs(tracker: Tracker, channels: list[str]) -> list[str]:
    ids = []
    for channel in channels:
        job = await tracker.begin(NewJob("scripted", f"job-{channel}", channel, "U1"))
        await tracker.started(job.id, PollResult("running", vendor_job_id=f"v-{channel}"))
        await tracker.settled()
        ids.append(job.id)
    return ids


async def run_for(seconds: float, *trackers: Tracker) -> None:
    """Each replica ticks on its own, as its own scheduler would."""
    deadline = time.monotonic() + seconds

    async def ticking(tracker: Tracker, every: float) -> None:
        while time.monotonic() < deadline:
            await tracker.tick()
            await asyncio.sleep(every)

    await asyncio.gather(*(ticking(t, 0.02 + 0.007 * i) for i, t in enumerate(trackers)))


async def run_until_done(store: Store, ids: list[str], *trackers: Tracker, within: float) -> None:
    deadline = time.monotonic() + within
    while [i for i in ids if (await store.jobs.get(i)).state != DONE]:
        assert time.monotonic() < deadline, "a final card never arrived"
        await run_for(0.1, *trackers)
    for tracker in trackers:
        await tracker.drain(timeout=5)


async def stop(*trackers: Tracker) -> None:
    for tracker in trackers:
        await tracker.drain(timeout=5)


def updates(slack, since: float = 0.0):
    """Every chat.update attempt Slack saw (a rejected one counts against the limit too)."""
    return [c for c in slack.fake.calls_to("chat.update") if c.at >= since]


async def test_replicas_share_one_budget(store, slack, database_url):
    """Two replicas refreshing 10 running cards for their elapsed time stay within one
    window's budget between them, not one each; both take part."""
    pace = Pace(
        per_window=6,
        window=1.5,
        channel_spacing=0.2,
        first_interval=0.05,
        max_interval=0.2,
        elapsed_share=1.0,
    )
    vendor = Vendor()
    async with second_store(database_url) as other:
        a = replica(store, slack, vendor, pace)
        b = replica(other, slack, vendor, pace)
        await start_jobs(a, [f"C{i}" for i in range(10)])
        since = time.monotonic()
        await run_for(3.2, a, b)
        await stop(a, b)
    made = updates(slack, since)
    # The fake stamps arrival, some ms after the grant (more on a busy machine).
    assert most_in_window([c.at for c in made], pace.window - 0.3) <= pace.per_window
    assert len(made) >= 2 * pace.per_window - 1  # the budget is used, not starved
    assert counted(a, "made") > 0 and counted(b, "made") > 0
    assert counted(a, "skipped") > 0 and counted(b, "skipped") > 0
    by_card = itertools.groupby(
        sorted(made, key=lambda c: (c.args["ts"], c.at)), lambda c: c.args["ts"]
    )
    for _, calls in by_card:
        shown = [float(c.args["text"].rsplit(" ", 1)[1]) for c in calls]
        assert shown == sorted(shown)  # the elapsed time moves on


async def test_retry_after_pauses_every_replica(store, slack, database_url):
    """A 429 with Retry-After on one card refresh holds both replicas' refreshes for that
    long; then they resume."""
    # Refreshes half a second apart at most (1.5 s in production), so that seldom one is
    # still on its way to Slack when the 429 comes back: that one cannot be called back.
    pace = Pace(
        per_window=2, window=1.0, channel_spacing=0.05, first_interval=0.05, max_interval=0.1
    )
    vendor = Vendor()
    async with second_store(database_url) as other:
        a = replica(store, slack, vendor, pace)
        b = replica(other, slack, vendor, pace)
        await start_jobs(a, ["C1", "C2", "C3", "C4"])
        await run_for(0.3, a, b)
        slack.fake.fail_next("chat.update", "ratelimited", retry_after=1)
        await run_for(1.8, a, b)
        await stop(a, b)
    limited = [c for c in slack.fake.calls_to("chat.update") if c.error == "ratelimited"]
    assert len(limited) == 1
    hit = limited[0].at
    on_its_way = [c for c in updates(slack, hit) if c is not limited[0] and c.at < hit + 0.25]
    assert len(on_its_way) <= 1
    assert [c for c in updates(slack, hit + 0.25) if c.at < hit + 1.0] == []
    assert [c for c in updates(slack, hit + 1.0) if c.ok]  # and they resume
    assert counted(a, "paused") > 0 and counted(b, "paused") > 0


async def test_a_final_card_waits_out_the_pause_and_always_arrives(store, slack, database_url):
    """The job ends while Slack's Retry-After runs: its final card is not dropped and not
    sent early; it arrives once, after the pause, and the job is done."""
    # A pause longer than a final card waits inline: it is rescheduled for the pause's end.
    pace = Pace(
        per_window=100, window=1.0, channel_spacing=0.05, first_interval=0.05, final_wait=0.5
    )
    vendor = Vendor()
    async with second_store(database_url) as other:
        a = replica(store, slack, vendor, pace)
        b = replica(other, slack, vendor, pace)
        [job_id] = await start_jobs(a, ["C1"])
        slack.fake.fail_next("chat.update", "ratelimited", retry_after=1)
        await run_for(0.3, a, b)
        [limited] = [c for c in slack.fake.calls_to("chat.update") if c.error]
        vendor.finished = True
        await run_until_done(store, [job_id], a, b, within=5)
    finals = [c for c in updates(slack) if "succeeded" in c.args.get("text", "")]
    assert len(finals) == 1 and finals[0].ok
    assert finals[0].at >= limited.at + 1.0
    assert "took" in finals[0].args["text"]
    assert not [c for c in updates(slack, limited.at) if limited.at < c.at < limited.at + 1.0]


async def test_a_429_on_anyone_elses_card_update_pauses_the_cards(store, slack):
    """A handler updating a card through the same client (a button) and getting 429 keeps
    Slack's own retry, and the tracker's refreshes wait as long: the limit is the app's."""
    tracker = replica(store, slack, Vendor(), Pace())
    client = tracker.slack
    posted = await client.chat_postMessage(channel="C1", text="a card")
    slack.fake.fail_next("chat.update", "ratelimited", retry_after=3)
    with pytest.raises(SlackApiError):  # the test client has no rate-limit retry of its own
        await client.chat_update(channel="C1", ts=posted["ts"], text="pressed")
    assert 2.0 < await tracker.pacer.paused_for() <= 3.0


async def test_final_cards_owed_for_days_all_arrive_within_slacks_budget(store, slack):
    """The app back after two days down, six final cards owed at once: every one
    arrives (waiting its turn is no reason to give up on a notice, however old), and
    they queue rather than go past the window's budget Slack documents (Tier 3)."""
    pace = Pace(
        per_window=2,
        slack_per_window=3,
        window=1.0,
        channel_spacing=0.01,
        first_interval=100.0,
        final_wait=0.3,
    )
    tracker = replica(store, slack, Vendor(), pace)
    ids = await start_jobs(tracker, [f"C{i}" for i in range(6)])
    since = time.monotonic()
    for job_id in ids:
        await store.jobs.update(
            job_id,
            state=NOTIFYING,
            outcome=SUCCEEDED,
            vendor_status="complete",
            finished_at=time.time() - 2 * 86400,
            notice_step=0,
            next_poll_at=time.time(),
        )
    await run_until_done(store, ids, tracker, within=8)
    assert [(await store.jobs.get(i)).error for i in ids] == [None] * 6
    finals = [c for c in updates(slack, since) if "succeeded" in c.args["text"]]
    assert len(finals) == 6 and all(c.ok for c in finals)
    assert most_in_window([c.at for c in updates(slack, since)], pace.window - 0.1) <= 3


async def test_what_a_replica_remembers_of_a_card_gives_way_once_another_polled_it(store):
    """Replica A showed "queued"; B then showed "running"; C saw "queued" again but could
    not show it (its channel was busy). A's next poll, with "queued" unchanged since C's,
    must not trust its memory that the card shows "queued": it reads that it shows
    "running" and refreshes it."""
    clock = Clock()
    a, b, c = (pacer(store, clock) for _ in range(3))
    start = clock.now
    job, neighbour = running_job(1, start), running_job(2, start, channel="C1")

    async def poll(by: Pacer, at: float, status: str, count: int) -> bool:
        clock.now = start + at
        changed = status != job.vendor_status
        job.vendor_status, job.poll_count = status, count
        return await by.progress(job, changed=changed)

    job.vendor_status = None
    assert await poll(a, 0, "queued", 0)
    assert await poll(b, 2, "running", 1)
    clock.now = start + 3.5
    assert await c.progress(neighbour, changed=True)
    assert not await poll(c, 4, "queued", 2)  # C1 had a refresh half a second ago
    assert await poll(a, 5.5, "queued", 3)
