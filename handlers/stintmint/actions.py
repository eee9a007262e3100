"""Buttons on Stintmint cards: Fetch now, Send again and All responses."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from adapters.errors import VendorNotFound
from adapters.stintmint import Descriptor
from bot.tracking import TrackedJob
from handlers.common.interaction import Interaction
from handlers.common.job_cards import Again, open_modal, rerun
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral
from handlers.common.text import escape
from handlers.common.tracked import refresh, tracked_job
from handlers.common.vertical import Stale
from handlers.deps import Deps
from handlers.stintmint import blocks
from handlers.stintmint.commands import fetch_flow, post, show_fetch
from handlers.stintmint.jobs import KEY
from handlers.stintmint.parsing import FetchRequest, PostRequest, parse
from handlers.stintmint.steps import show

STALE = ":grey_question: This button belongs to a request I no longer know about."


async def on_fetch(deps: Deps, x: Interaction) -> None:
    if x.value.startswith("fetch:"):
        # An ephemeral `/stint fetch` card, or a request no longer followed: fetch it again
        # and show the answer.
        request = _fetch_request(x.value)
        if await button_permitted(
            deps,
            x,
            "stint fetch",
            request.sf_id,
            redo=Redo("/stint", f"fetch {request.sf_id} {request.identifier}", request),
        ):
            await show_fetch(deps, request, x.respond)
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    if not await button_permitted(deps, x, "stint fetch", job.target):
        return
    await refresh(
        deps,
        x,
        job,
        noun="request",
        never_sent="This request was never sent. Send it again with `/stint post`.",
        done=":white_check_mark: The responses are in; the card is up to date.",
    )


def _fetch_request(value: str) -> FetchRequest:
    """The request a ``fetch:SF_ID:IDENTIFIER[:STATE_ID]`` value names; Stale when none."""
    try:
        request = parse("fetch " + " ".join(value.split(":")[1:]))
    except ValueError:
        raise Stale(STALE) from None
    if not isinstance(request, FetchRequest):
        raise Stale(STALE)
    return request


async def on_rerun(deps: Deps, x: Interaction) -> None:
    """Send again: post the same request once more, as whoever clicked."""
    await rerun(deps, x, vendor=KEY, stale=STALE, again=_again, start=post)


def _again(job: TrackedJob) -> Again:
    params = job.params or {}
    try:
        request = PostRequest(
            sf_id=str(params["sf_id"]),
            identifier=str(params["identifier"]),
            descriptors=tuple(Descriptor.model_validate(d) for d in params["descriptors"]),
            batch_id=params.get("batch_id"),
            urgency=params.get("urgency"),
        )
    except (KeyError, TypeError, ValidationError):
        raise Stale(STALE) from None
    return Again("stint post", request.sf_id, Redo("/stint", show(request), request))


async def on_all_responses(deps: Deps, x: Interaction) -> None:
    """All responses: every response of a request in a modal. A tracked request's are the
    ones the store kept; a fetched one's (``fetch:…``) are fetched again."""
    if x.value.startswith("fetch:"):
        request = _fetch_request(x.value)
        flow = await _fetched(deps, x, request)
        if flow is None:
            return
        responses, cost = list(flow.get("responses") or []), flow.get("cost")
    else:
        job = await tracked_job(deps, x.value, KEY, STALE)
        params = job.params or {}
        request = FetchRequest(str(params.get("sf_id", job.target)), str(params.get("identifier")))
        if not await _may_fetch(deps, x, request):
            return
        result = job.result or {}
        responses, cost = list(result.get("responses") or []), result.get("cost")
    view = blocks.responses_view(request.sf_id, request.identifier, responses, cost)
    await open_modal(x, view)


async def _may_fetch(deps: Deps, x: Interaction, request: FetchRequest) -> bool:
    redo = Redo("/stint", f"fetch {request.sf_id} {request.identifier}", request)
    return await button_permitted(deps, x, "stint fetch", request.sf_id, redo=redo)


async def _fetched(deps: Deps, x: Interaction, request: FetchRequest) -> dict[str, Any] | None:
    assert deps.stintmint is not None
    if not await _may_fetch(deps, x, request):
        return None
    try:
        flow = await fetch_flow(deps.stintmint, request)
    except VendorNotFound:
        await x.beside(
            **ephemeral(f":mag: Stintmint no longer knows `{escape(request.identifier)}`.")
        )
        return None
    return flow.as_dict()
