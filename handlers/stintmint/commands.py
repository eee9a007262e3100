"""``/stint post`` and ``/stint fetch``, once admitted: talk to Stintmint."""

from __future__ import annotations

import logging

from adapters import stintmint
from adapters.errors import VendorError, VendorNotFound
from bot.tracking import CardNotPosted, NewJob, PollResult
from handlers.common.audited import audited
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import cannot_post, ephemeral
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.stintmint import blocks
from handlers.stintmint.jobs import KEY
from handlers.stintmint.parsing import FetchRequest, PostRequest

log = logging.getLogger(__name__)
CALLBACK_PATH = "/hooks/stintmint"


async def post_command(deps: Deps, x: Interaction, request: PostRequest) -> None:
    await post(deps, request, channel_id=x.channel, user_id=x.user, respond=x.respond)


async def fetch_command(deps: Deps, x: Interaction, request: FetchRequest) -> None:
    await show_fetch(deps, request, x.respond)


async def post(
    deps: Deps,
    request: PostRequest,
    *,
    channel_id: str,
    user_id: str,
    respond: Answer,
    step_execution_id: str | None = None,
) -> None:
    """Record the request and post its card, then send it, then track it (callback or poll).
    ``step_execution_id``: a Workflow Builder step that completes when the flow has answered."""
    assert deps.stintmint is not None
    public_url = deps.settings.public_url
    params = {
        "sf_id": request.sf_id,
        "identifier": request.identifier,
        "batch_id": request.batch_id,
        "urgency": request.urgency,
        "descriptors": [d.model_dump(mode="json", exclude_none=True) for d in request.descriptors],
        "callback": bool(public_url and deps.callbacks),
    }
    try:
        job = await deps.tracker.begin(
            NewJob(
                vendor=KEY,
                target=request.sf_id,
                channel_id=channel_id,
                user_id=user_id,
                params=params,
                step_execution_id=step_execution_id,
            )
        )
    except CardNotPosted as exc:
        await respond(**ephemeral(cannot_post(exc.error)))
        return
    callback_url = None
    if params["callback"]:
        assert public_url and deps.callbacks
        callback_url = deps.callbacks.url(public_url, CALLBACK_PATH, job.id)
    try:
        async with audited(
            deps,
            user_id=user_id,
            channel_id=channel_id,
            command="stint post",
            target=request.sf_id,
            params=params,
        ) as outcome:
            await deps.stintmint.post(
                stintmint.PostRequest(
                    identifier=request.identifier,
                    sfId=request.sf_id,
                    batchId=request.batch_id,
                    urgency=request.urgency,
                    callbackUrl=callback_url,
                    descriptors=list(request.descriptors),
                )
            )
            outcome.vendor_ids["identifier"] = request.identifier
    except VendorError as exc:
        log.info("stint post %s/%s not sent: %s", request.sf_id, request.identifier, exc.message)
        await deps.tracker.could_not_start(job.id, exc.message)
        return
    await deps.tracker.started(
        job.id, PollResult(status="pending", vendor_job_id=request.identifier)
    )


async def show_fetch(deps: Deps, request: FetchRequest, respond: Answer) -> None:
    assert deps.stintmint is not None
    try:
        flow = await fetch_flow(deps.stintmint, request)
    except VendorNotFound as exc:
        await respond(**ephemeral(await _not_found(deps.stintmint, request, exc)))
        return
    message = blocks.card(
        blocks.view_from_flow(flow.as_dict(), request.sf_id, request.identifier, request.state_id)
    )
    await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def fetch_flow(
    client: stintmint.StintmintClient, request: FetchRequest
) -> stintmint.FlowResponse:
    """The request's answer, or only its module's when the request names a state id."""
    if request.state_id:
        return await client.fetch_module(request.sf_id, request.identifier, request.state_id)
    return await client.fetch(request.sf_id, request.identifier)


async def _not_found(
    client: stintmint.StintmintClient, request: FetchRequest, exc: VendorNotFound
) -> str:
    """What a fetch Stintmint answered 404 is missing: the request, or only the module
    when the request is there without the state id. Stintmint's own words follow (the
    sandbox's name the state ids the StintFlow has)."""
    where = f"`{escape(request.identifier)}` in StintFlow `{escape(request.sf_id)}`"
    if request.state_id is not None:
        try:
            await client.fetch(request.sf_id, request.identifier)
        except VendorNotFound as missing:
            exc = missing
        else:
            return (
                f":mag: Request {where} exists, but Stintmint knows no state id "
                f"`{escape(request.state_id)}` for it:\n>{escape(exc.message)}\n"
                f"`/stint fetch {escape(request.sf_id)} {escape(request.identifier)}` shows "
                "the whole request; each module's state id is also on the StintFlow's "
                "upload data page in the Stintmint Console."
            )
    return f":mag: Stintmint knows no request {where}:\n>{escape(exc.message)}"


__all__ = [
    "CALLBACK_PATH",
    "fetch_command",
    "fetch_flow",
    "post",
    "post_command",
    "show_fetch",
]
