"""``/flint run`` and ``/flint result``, once admitted: talk to Flint."""

from __future__ import annotations

import logging

from adapters.errors import AnswerTooLarge, VendorError, VendorNotFound
from bot.tracking import CardNotPosted, NewJob
from handlers.common.audited import audited
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import cannot_post, ephemeral
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.flint import blocks
from handlers.flint.jobs import KEY, to_poll, too_large
from handlers.flint.parsing import ResultRequest, RunRequest

log = logging.getLogger(__name__)

# How long a synchronous Flint call may take when no --timeout is given (Flint's default).
FLINT_DEFAULT_SYNC_MS = 6000


async def run(deps: Deps, x: Interaction, request: RunRequest) -> None:
    await start_run(deps, request, channel_id=x.channel, user_id=x.user, respond=x.respond)


async def result(deps: Deps, x: Interaction, request: ResultRequest) -> None:
    await show_result(deps, request.job_id, x.respond)


async def start_run(
    deps: Deps,
    request: RunRequest,
    *,
    channel_id: str,
    user_id: str,
    respond: Answer,
    step_execution_id: str | None = None,
) -> None:
    """Record the job and post its card, then call Flint, then hand the job to the tracker.
    ``step_execution_id``: a Workflow Builder step that completes when the job ends."""
    assert deps.flint is not None
    timeout_ms = request.timeout_ms or FLINT_DEFAULT_SYNC_MS
    # A command holds its slot (of CHATOPS_MAX_INFLIGHT) at most CHATOPS_COMMAND_SECONDS:
    # Flint is asked to wait no longer, and a run not finished by then is followed in the
    # background like any other, its result arriving on the card all the same.
    wait_ms = min(timeout_ms, int(deps.settings.chatops_command_seconds * 1000))
    params = {"input": request.input, "sync": request.sync, "timeout_ms": request.timeout_ms}
    try:
        job = await deps.tracker.begin(
            NewJob(
                vendor=KEY,
                target=str(request.flintbit),
                channel_id=channel_id,
                user_id=user_id,
                params=params,
                step_execution_id=step_execution_id,
            ),
            expected_seconds=wait_ms / 1000 if request.sync else 0.0,
        )
    except CardNotPosted as exc:
        await respond(**ephemeral(cannot_post(exc.error)))
        return
    try:
        async with audited(
            deps,
            user_id=user_id,
            channel_id=channel_id,
            command="flint run",
            target=str(request.flintbit),
            params=params,
        ) as outcome:
            result = await deps.flint.run(
                request.flintbit,
                request.input,
                sync=request.sync,
                timeout_ms=wait_ms if request.sync and wait_ms < timeout_ms else request.timeout_ms,
            )
            outcome.vendor_ids["job"] = result.job_id
    except AnswerTooLarge as exc:
        if not exc.is_success:
            await deps.tracker.could_not_start(job.id, exc.message)
            return
        # Flint ran it and answered with more output than the app reads: the run ended.
        await deps.tracker.started(job.id, too_large(job, exc))
        return
    except VendorError as exc:
        log.info("flint run %s not started: %s", request.flintbit, exc.message)
        await deps.tracker.could_not_start(job.id, exc.message)
        return
    await deps.tracker.started(job.id, to_poll(result))


async def show_result(deps: Deps, job_id: str, respond: Answer) -> None:
    assert deps.flint is not None
    try:
        result = await deps.flint.result(job_id)
    except VendorNotFound:
        await respond(**ephemeral(f":mag: Flint has no job `{escape(job_id)}`."))
        return
    message = blocks.card(blocks.view_from_result(result.as_dict()))
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=False,
    )
