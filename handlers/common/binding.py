"""Giving listeners their dependencies, and answering Slack the moment they ``ack()``.

Bolt's own way of returning the ack while a listener goes on (``process_before_response``
off) checks every 10 ms whether the listener has acked, which adds up to 10 ms to every
answer. Instead, the app runs Bolt with ``process_before_response=True`` and ``bind``
starts each listener as a task, returning to Bolt as soon as the task calls ``ack()``.
The rest of the listener's work goes on in the background, adopted by ``BackgroundWork``
(bounded, and waited for at shutdown), with its own last line of defence for errors.

A listener's bare ``ack()`` (the one after which it goes to work) also claims the request
in the state store, by Slack's trigger id or event id: a request Slack retries
(``X-Slack-Retry-Num``, or a Socket Mode redelivery), whichever process gets it, is
acknowledged again but carried out once.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot.outbound import redact_message
from handlers.deps import Deps

log = logging.getLogger("handlers.errors")


class AlreadyHandled(Exception):
    """This very request (same trigger or event id) was taken on before."""


def request_key(body: Any) -> str | None:
    """What identifies one Slack request across its retries, or None if nothing does."""
    if not isinstance(body, dict):
        return None
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def user_of(body: Any) -> str | None:
    """Who a Slack request is from: a command's user_id, an interaction's user."""
    if not isinstance(body, dict):
        return None
    user = body.get("user_id") or body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    return user if isinstance(user, str) and user else None


APOLOGY = (
    ":warning: Something went wrong on our side and has been logged (reference `{}`). "
    "Please try again."
)


def bind(listener: Callable[..., Awaitable[Any]], deps: Deps) -> Callable[..., Awaitable[Any]]:
    """Bolt injects the parameters a listener names; ``deps`` is keyword-only in our
    listeners, so Bolt ignores it and we supply it here."""

    takes_body = "body" in inspect.signature(listener).parameters

    @functools.wraps(listener)
    async def bound(**kwargs: Any) -> None:
        body = kwargs.get("body") if takes_body else kwargs.pop("body", None)
        ack = kwargs.get("ack")
        acked = asyncio.Event()

        key = request_key(body)
        handled = getattr(getattr(deps, "store", None), "handled", None)

        async def ack_now(*args: Any, **kw: Any) -> Any:
            try:
                shown_args, shown_kw = redact_message(args, kw, deps.redact)
                answer = await ack(*shown_args, **shown_kw)
            finally:
                acked.set()
            # A bare ack means "now to work": claim the request first (after Slack has
            # its answer), so a retried delivery stops here instead of redoing the work.
            claim = not args and not kw and key and handled is not None
            if claim and not await handled.first(key):
                raise AlreadyHandled(key)
            return answer

        if ack is not None:
            kwargs["ack"] = ack_now

        async def run() -> None:
            try:
                await listener(deps=deps, **kwargs)
            except AlreadyHandled as exc:
                log.info("request %s was already handled: not repeating it", exc)
            except Exception:
                await _apologise({**kwargs, "body": body}, ack_now if not acked.is_set() else None)

        task = asyncio.create_task(run(), name=f"listener-{listener.__name__}")
        deps.work.adopt(task, user_of(body))
        signal = asyncio.create_task(acked.wait())
        await asyncio.wait({task, signal}, return_when=asyncio.FIRST_COMPLETED)
        signal.cancel()
        if ack is not None and not acked.is_set():
            await ack()  # a listener that never acked still gets Slack its 200

    # Bolt passes a listener only the arguments its signature names; the claim needs the
    # request body whatever the listener asks for.
    del bound.__wrapped__
    signature = inspect.signature(listener)
    if not takes_body:
        params = list(signature.parameters.values())
        params.insert(0, inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD))
        signature = signature.replace(parameters=params)
    bound.__signature__ = signature  # type: ignore[attr-defined]
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
