"""The tracker against a real SQLite store and the Slack Web API fake over HTTP, with a
scripted vendor: what happens when Slack or the vendor misbehave."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Message
from bot.store import NewJob
from bot.store.jobs import ACTIVE, DONE, FAILED, NOTIFYING, SUCCEEDED, UNKNOWN
from bot.tracking import CardNotPosted, JobKind, PollResult, Tracker
from tests.fakes.slack_api import wait_for_async


class ScriptedVendor:
    """Answers polls from a list; raises when the script says so."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.polls = 0

    async def poll(self, job):
        self.polls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def card(job):
    return Message(text=f"{job.target}: {job.vendor_status or 'starting'} {job.outcome or ''}")


def failure(job):
    if job.outcome == SUCCEEDED:
        return None
    return Message(text=f"<@{job.user_id}> {job.target} failed")


def make_tracker(store, slack, vendor, **kw):
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    tracker = Tracker(store.jobs, client, poll_interval=0.05, max_interval=0.2, **kw)
    tracker.register(JobKind("scripted", vendor.poll, card, failure))
    return tracker


async def run_until(tracker, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await tracker.tick()
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def started_job(tracker, store):
    job = await tracker.begin(NewJob("scripted", "thing", "C1", "U1"))
    await tracker.started(job.id, PollResult(status="submitted", vendor_job_id="v-1"))
    await tracker.settled()  # the card shows the job started before a test goes on
    return job


def texts(slack, method):
    """Texts of the calls Slack accepted (a rate-limited attempt is not a message)."""
    return [c.args.get("text", "") for c in slack.fake.calls_to(method) if c.ok]


async def test_final_update_rate_limited_is_retried_and_delivered_once(store, slack):
    """Slack answering 429 to the final card update delays the notice; it still comes once."""
    vendor = ScriptedVendor(PollResult("complete", SUCCEEDED))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)
    slack.fake.fail_next("chat.update", "ratelimited", retry_after=1)

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    finals = [t for t in texts(slack, "chat.update") if "succeeded" in t]
    assert len(finals) == 1
    assert (await store.jobs.get(job.id)).notified_at is not None


async def test_deleted_card_gets_the_notice_as_a_new_message(store, slack):
    """If the card was deleted, the completion notice is posted as a new message."""
    vendor = ScriptedVendor(PollResult("complete", SUCCEEDED))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)
    slack.fake.fail_next("chat.update", "message_not_found")

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    posted = texts(slack, "chat.postMessage")
    assert len(posted) == 2 and "succeeded" in posted[1]


async def test_archived_channel_gives_up_without_crashing(store, slack):
    """A channel that is gone ends tracking with the reason recorded, not a retry loop."""
    vendor = ScriptedVendor(PollResult("error", FAILED))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)
    slack.fake.fail_next("chat.update", "is_archived")
    slack.fake.fail_next("chat.postMessage", "is_archived")

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    assert "is_archived" in (await store.jobs.get(job.id)).error


async def test_a_notice_given_up_still_runs_the_finishers(store, slack):
    """The channel is gone, so the card cannot say it: the job still ended, and what
    follows its end (a workflow step, the owner's App Home) is still done."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("error", FAILED)))
    ended = []

    async def finisher(job):
        ended.append(job.outcome)

    tracker.add_finisher(finisher)
    job = await started_job(tracker, store)
    slack.fake.fail_next("chat.update", "is_archived")
    slack.fake.fail_next("chat.postMessage", "is_archived")

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    assert "is_archived" in (await store.jobs.get(job.id)).error
    assert ended == [FAILED]


async def test_vendor_errors_keep_the_job_and_it_finishes_later(store, slack):
    """A poll that fails (vendor down) is retried; the job is never dropped."""
    vendor = ScriptedVendor(
        RuntimeError("vendor down"),
        RuntimeError("vendor down"),
        PollResult("complete", SUCCEEDED),
    )
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    assert vendor.polls >= 3
    assert (await store.jobs.get(job.id)).outcome == SUCCEEDED


async def test_failure_is_said_in_the_thread_once(store, slack):
    """A failed job updates the card and replies in its thread exactly once."""
    vendor = ScriptedVendor(PollResult("error", FAILED))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    for _ in range(5):
        await tracker.tick()
    replies = [c for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert len(replies) == 1 and "<@U1>" in replies[0].args["text"]


async def test_synchronous_final_answer_is_delivered_at_once(store, slack):
    """`started` with a final outcome (a --sync run) delivers without waiting for a poll."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")))
    job = await tracker.begin(NewJob("scripted", "thing", "C1", "U1"))
    done = await tracker.started(job.id, PollResult("complete", SUCCEEDED, vendor_job_id="v"))
    assert done.state == DONE
    assert [t for t in texts(slack, "chat.update") if "succeeded" in t]


async def test_job_orphaned_mid_start_is_reported_unknown(store, slack):
    """A job whose process died during the vendor call is reported, not silently lost."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")), start_grace=0)
    job = await tracker.begin(NewJob("scripted", "thing", "C1", "U1"))

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    assert (await store.jobs.get(job.id)).outcome == UNKNOWN


async def test_card_not_posted_raises_and_records_nothing_to_track(store, slack):
    """When the card cannot be posted the caller learns why and no job is left to poll."""
    slack.fake.inaccessible_channels.add("CX")
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")))
    with pytest.raises(CardNotPosted) as caught:
        await tracker.begin(NewJob("scripted", "thing", "CX", "U1"))
    assert caught.value.error == "not_in_channel"
    assert await store.jobs.claim_due("x", lease_seconds=5, limit=10, now=time.time() + 999) == []


async def test_poll_interval_backs_off_for_long_jobs_and_is_capped(store, slack):
    """Young jobs are polled at the base interval; old ones less often, up to the cap."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")))
    job = await started_job(tracker, store)
    now = job.created_at
    assert tracker._delay(job, now + 1) == pytest.approx(0.05)
    assert tracker._delay(job, now + 120) == pytest.approx(0.1)
    assert tracker._delay(job, now + 3600) == pytest.approx(0.2)


async def test_progress_changes_update_the_card(store, slack):
    """submitted → running is shown on the card while the job runs."""
    vendor = ScriptedVendor(PollResult("running"))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)
    await wait_for_async(lambda: slack.fake.calls_to("chat.update"))

    async def shown():
        return any("running" in t for t in texts(slack, "chat.update"))

    await run_until(tracker, shown)
    got = await store.jobs.get(job.id)
    assert got.state == ACTIVE and got.vendor_status == "running"


async def test_drain_releases_leases_for_other_processes(store, slack):
    """A clean shutdown hands every leased job back, so another process resumes at once."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")))
    job = await started_job(tracker, store)
    await store.jobs.update(
        job.id, state=NOTIFYING, lease_owner=tracker.owner, lease_until=time.time() + 60
    )
    await tracker.drain(timeout=1)
    assert (await store.jobs.get(job.id)).lease_owner is None
    assert await tracker.tick() == 0  # a drained tracker claims nothing


async def test_a_claim_under_way_finishes_before_stop_claiming_returns(store, slack):
    """stop_claiming() waits for a tick that is mid-claim: the jobs it claims are spawned
    (and so drained or handed back), never left leased to a process that stopped."""
    vendor = ScriptedVendor(PollResult("running"))
    tracker = make_tracker(store, slack, vendor)
    job = await started_job(tracker, store)
    await store.jobs.update(job.id, next_poll_at=time.time() - 1)
    claiming, release = asyncio.Event(), asyncio.Event()
    real_claim = tracker.store.claim_due

    async def slow_claim(*args, **kw):
        claiming.set()
        await release.wait()  # the query is in flight when shutdown begins
        return await real_claim(*args, **kw)

    tracker.store.claim_due = slow_claim  # type: ignore[method-assign]
    tick = asyncio.create_task(tracker.tick())
    await claiming.wait()
    stopping = asyncio.create_task(tracker.stop_claiming())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waits for the claim under way
    release.set()
    await stopping
    assert await tick == 1
    await tracker.drain(timeout=2)
    assert (await store.jobs.get(job.id)).lease_owner is None


async def test_a_job_not_started_runs_its_finishers_before_it_is_done(store, slack):
    """`could_not_start` keeps the job NOTIFYING, leased, until its finishers ran: a process
    dying in a finisher leaves it to the poller, which runs them, rather than DONE with them
    never run (a workflow step would then never be completed)."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("running")), lease_seconds=0.3)
    ran = []

    async def finisher(job):
        ran.append(job.outcome)
        if len(ran) == 1:
            raise asyncio.CancelledError  # the process dies here

    tracker.add_finisher(finisher)
    job = await tracker.begin(NewJob("scripted", "thing", "C1", "U1"))
    with pytest.raises(asyncio.CancelledError):
        await tracker.could_not_start(job.id, "the vendor said no")
    left = await store.jobs.get(job.id)
    assert (left.state, left.outcome) == (NOTIFYING, "not_started")

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await asyncio.sleep(0.4)  # its lease runs out
    await run_until(tracker, done)
    assert ran == ["not_started", "not_started"]
    assert (await store.jobs.get(job.id)).error == "the vendor said no"
    assert [t for t in texts(slack, "chat.update") if "not_started" in t]
    # Whoever asked is told already: no reply in the card's thread, though `failure` has one.
    assert [c for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")] == []


async def test_a_finisher_that_fails_runs_again(store, slack):
    """A finisher's unexpected error (the database away for a moment) is no reason to end
    the job without it: it runs again later, and the job is done once it went through."""
    tracker = make_tracker(store, slack, ScriptedVendor(PollResult("done", SUCCEEDED)))
    ran = []

    async def finisher(job):
        ran.append(job.id)
        if len(ran) == 1:
            raise RuntimeError("database is locked")

    tracker.add_finisher(finisher)
    job = await started_job(tracker, store)

    async def done():
        return (await store.jobs.get(job.id)).state == DONE

    await run_until(tracker, done)
    assert ran == [job.id, job.id]
