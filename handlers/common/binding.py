"""Giving listeners their dependencies, and answering Slack the moment they ``ack()``.

Bolt's own way of returning the ack while a listener goes on (``process_before_response``
off) checks every 10 ms whether the listener has acked, which adds up to 10 ms to every
answer. Instead, the app runs Bolt with ``process_before_response=True`` and ``bind``
starts each listener as a task, returning to Bolt as soon as the task calls ``ack()``.
The rest of the listener's work goes on in the background, adopted by ``BackgroundWork``
(bounded, and waited for at shutdown), with its own last line of defence for errors.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from handlers.deps import Deps

log = logging.getLogger("handlers.errors")

APOLOGY = (
    ":warning: Something went wrong on our side and has been logged (reference `{}`). "
    "Please try again."
)


def bind(listener: Callable[..., Awaitable[Any]], deps: Deps) -> Callable[..., Awaitable[Any]]:
    """Bolt injects positional parameters by name (following __wrapped__); ``deps`` is
    keyword-only in our listeners, so Bolt ignores it and we supply it here."""

    @functools.wraps(listener)
    async def bound(**kwargs: Any) -> None:
        ack = kwargs.get("ack")
        acked = asyncio.Event()

        async def ack_now(*args: Any, **kw: Any) -> Any:
            try:
                return await ack(*args, **kw)
            finally:
                acked.set()

        if ack is not None:
            kwargs["ack"] = ack_now

        async def run() -> None:
            try:
                await listener(deps=deps, **kwargs)
            except Exception:
                await _apologise(kwargs, ack_now if not acked.is_set() else None)

        task = asyncio.create_task(run(), name=f"listener-{listener.__name__}")
        deps.work.adopt(task)
        signal = asyncio.create_task(acked.wait())
        await asyncio.wait({task, signal}, return_when=asyncio.FIRST_COMPLETED)
        signal.cancel()
        if ack is not None and not acked.is_set():
            await ack()  # a listener that never acked still gets Slack its 200

    return bound


async def _apologise(kwargs: dict[str, Any], ack: Callable[..., Awaitable[Any]] | None) -> None:
    """Log the trace with a reference; tell the user the reference, never the trace."""
    reference = uuid.uuid4().hex[:8]
    log.exception("unhandled error (reference %s)", reference)
    text = APOLOGY.format(reference)
    try:
        if ack is not None:
            await ack(response_type="ephemeral", text=text)
            return
        body = kwargs.get("body") or {}
        respond = kwargs.get("respond")
        if respond is not None and isinstance(body, dict) and body.get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, text=text)
    except Exception:  # the apology itself failing must not raise again
        log.warning("could not tell the user about error %s", reference)
