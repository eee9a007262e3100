"""How listeners are run: the ack returns at once, work goes on, errors become apologies."""

from __future__ import annotations

import asyncio

from bot.background import CLOSING, USER_FULL, BackgroundWork
from handlers.common.binding import bind


class Deps:
    def __init__(self, limit=10):
        self.work = BackgroundWork(limit=limit)
        self.redact = lambda text: text.replace("s3cret-value", "[redacted]")


class Recorder:
    def __init__(self):
        self.calls = []

    async def __call__(self, **kw):
        self.calls.append(kw)


async def test_bound_listener_returns_at_ack_and_work_goes_on():
    """Bolt gets control back as soon as the listener acks; the rest runs afterwards."""
    deps, ack, finished = Deps(), Recorder(), asyncio.Event()

    async def listener(ack, *, deps):
        await ack(text="ok")
        await asyncio.sleep(0.2)
        finished.set()

    await asyncio.wait_for(bind(listener, deps)(ack=ack), timeout=0.1)
    assert ack.calls == [{"text": "ok"}] and not finished.is_set()
    assert deps.work.running == 1
    assert await deps.work.drain(timeout=2)
    assert finished.is_set()


async def test_ack_never_carries_a_configured_secret():
    """What a listener acks with passes the app's secret redactor first."""
    deps, ack = Deps(), Recorder()

    async def listener(ack, *, deps):
        await ack(text="vendor said s3cret-value", blocks=[{"text": "s3cret-value"}])

    await bind(listener, deps)(ack=ack)
    assert ack.calls == [{"text": "vendor said [redacted]", "blocks": [{"text": "[redacted]"}]}]


async def test_error_before_ack_is_acked_with_an_apology():
    """A listener failing before it acked still answers Slack, with a reference, no trace."""
    deps, ack = Deps(), Recorder()

    async def listener(ack, *, deps):
        raise RuntimeError("boom at /secret/path")

    await bind(listener, deps)(ack=ack)
    [answer] = ack.calls
    assert "reference" in answer["text"] and "boom" not in answer["text"]


async def test_error_after_ack_is_said_through_the_response_url():
    """A failure in the background work is told to the user via respond()."""
    deps, ack, respond = Deps(), Recorder(), Recorder()

    async def listener(ack, respond, body, *, deps):
        await ack()
        raise ValueError("hidden detail")

    await bind(listener, deps)(ack=ack, respond=respond, body={"response_url": "https://x"})
    await deps.work.drain(timeout=2)
    [told] = respond.calls
    assert "reference" in told["text"] and "hidden detail" not in told["text"]


async def test_listener_that_never_acks_still_gets_slack_its_answer():
    """Slack is always answered, even if a listener forgot to ack."""
    deps, ack = Deps(), Recorder()

    async def listener(ack, *, deps):
        return None

    await bind(listener, deps)(ack=ack)
    assert ack.calls == [{}]


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
