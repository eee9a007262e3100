"""How listeners are run: the ack returns at once, work goes on, and the one error
boundary turns failures into answers (handlers/common/listeners.py)."""

from __future__ import annotations

import asyncio

from adapters.errors import VendorUnavailable
from bot.background import CLOSING, USER_FULL, BackgroundWork
from handlers.common.listeners import listener
from handlers.common.vertical import Stale


class Deps:
    def __init__(self, limit=10):
        self.work = BackgroundWork(limit=limit)
        self.redact = lambda text: text.replace("s3cret-value", "[redacted]")


class Recorder:
    def __init__(self):
        self.calls = []

    async def __call__(self, **kw):
        self.calls.append(kw)


def run(work, deps, ack, *, respond=None, body=None):
    """Call the Bolt listener the way Bolt does, with the arguments it names."""
    return listener(work)(
        ack=ack, body=body or {}, respond=respond or Recorder(), client=None, deps=deps
    )


async def test_listener_returns_at_ack_and_work_goes_on():
    """Bolt gets control back as soon as the work acks; the rest runs afterwards."""
    deps, ack, finished = Deps(), Recorder(), asyncio.Event()

    async def work(deps, x):
        await x.ack(text="ok")
        await asyncio.sleep(0.2)
        finished.set()

    await asyncio.wait_for(run(work, deps, ack), timeout=0.1)
    assert ack.calls == [{"text": "ok"}] and not finished.is_set()
    assert deps.work.running == 1
    assert await deps.work.drain(timeout=2)
    assert finished.is_set()


async def test_ack_never_carries_a_configured_secret():
    """What a listener acks with passes the app's secret redactor first."""
    deps, ack = Deps(), Recorder()

    async def work(deps, x):
        await x.ack(text="vendor said s3cret-value", blocks=[{"text": "s3cret-value"}])

    await run(work, deps, ack)
    assert ack.calls == [{"text": "vendor said [redacted]", "blocks": [{"text": "[redacted]"}]}]


async def test_error_before_ack_is_acked_with_an_apology():
    """A listener failing before it acked still answers Slack, with a reference, no trace."""
    deps, ack = Deps(), Recorder()

    async def work(deps, x):
        raise RuntimeError("boom at /secret/path")

    await run(work, deps, ack)
    [answer] = ack.calls
    assert "reference" in answer["text"] and "boom" not in answer["text"]


async def test_error_after_ack_is_said_through_the_response_url():
    """A failure in the background work is told to the user via respond()."""
    deps, ack, respond = Deps(), Recorder(), Recorder()

    async def work(deps, x):
        await x.ack()
        raise ValueError("hidden detail")

    await run(work, deps, ack, respond=respond, body={"response_url": "https://x"})
    await deps.work.drain(timeout=2)
    [told] = respond.calls
    assert "reference" in told["text"] and "hidden detail" not in told["text"]
    assert told["replace_original"] is False


async def test_a_vendor_error_is_told_as_the_vendor_error_not_an_apology():
    deps, ack, respond = Deps(), Recorder(), Recorder()

    async def work(deps, x):
        await x.ack()
        raise VendorUnavailable("Flint", "Flint could not be reached")

    await run(work, deps, ack, respond=respond, body={"response_url": "https://x"})
    await deps.work.drain(timeout=2)
    [told] = respond.calls
    assert told["text"] == ":warning: Flint could not be reached. Try again in a moment."


async def test_a_stale_button_gets_its_own_words():
    deps, ack, respond = Deps(), Recorder(), Recorder()

    async def work(deps, x):
        await x.ack()
        raise Stale(":grey_question: gone")

    await run(work, deps, ack, respond=respond, body={"response_url": "https://x"})
    await deps.work.drain(timeout=2)
    assert respond.calls == [
        {"response_type": "ephemeral", "replace_original": False, "text": ":grey_question: gone"}
    ]


async def test_listener_that_never_acks_still_gets_slack_its_answer():
    """Slack is always answered, even if a listener forgot to ack."""
    deps, ack = Deps(), Recorder()

    async def work(deps, x):
        return None

    await run(work, deps, ack)
    assert ack.calls == [{}]


async def test_the_interaction_is_typed_from_a_button_payload():
    deps, ack, seen = Deps(), Recorder(), []

    async def work(deps, x):
        seen.append(x)
        await x.ack()

    body = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "trigger_id": "",
        "actions": [{"action_id": "a", "value": "v1"}],
        "message": {"ts": "1.2"},
        "response_url": "https://hooks.slack.com/x",
    }
    await run(work, deps, ack, body=body)
    [x] = seen
    assert (x.user, x.channel, x.place, x.value, x.message_ts) == ("U1", "C1", "C1", "v1", "1.2")
    assert x.response_url == "https://hooks.slack.com/x"


def test_room_is_bounded_per_user():
    """One user's tasks past ``per_user`` leave no room for that user, only for others;
    finished tasks give their user's room back."""
    work = BackgroundWork(limit=10, per_user=1)
    loop = asyncio.new_event_loop()
    try:
        tasks = [loop.create_task(asyncio.sleep(1)) for _ in range(2)]
        work.adopt(tasks[0], "U1")
        assert work.why_not("U1") is None
        work.adopt(tasks[1], "U1")
        assert work.why_not("U1") == USER_FULL and work.why_not("U2") is None
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        assert work.running_for("U1") == 0 and work.why_not("U1") is None
        work.accepting = False
        assert work.why_not("U2") == CLOSING
    finally:
        loop.close()


def test_room_is_bounded():
    """Past the limit, BackgroundWork says there is no room."""
    work = BackgroundWork(limit=1)
    loop = asyncio.new_event_loop()
    try:
        tasks = [loop.create_task(asyncio.sleep(1)) for _ in range(2)]
        work.adopt(tasks[0])
        assert work.has_room
        work.adopt(tasks[1])
        assert not work.has_room
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        assert work.running == 0
    finally:
        loop.close()
