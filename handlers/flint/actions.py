"""Buttons on Flint cards: Re-run, Refresh and Full output."""

from __future__ import annotations

import json

from adapters.flint import parse_flintbit, validate_job_id
from bot.tracking import TrackedJob
from handlers.common.interaction import Interaction
from handlers.common.job_cards import Again, open_modal, rerun
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral
from handlers.common.step_text import words
from handlers.common.tracked import refresh, tracked_job
from handlers.common.vertical import Stale
from handlers.deps import Deps
from handlers.flint import blocks
from handlers.flint.commands import start_run
from handlers.flint.jobs import KEY
from handlers.flint.parsing import INPUT_NAME, ResultRequest, RunRequest

STALE = ":grey_question: This button belongs to a job I no longer know about."


async def on_rerun(deps: Deps, x: Interaction) -> None:
    await rerun(deps, x, vendor=KEY, stale=STALE, again=_again, start=start_run)


def _again(job: TrackedJob) -> Again:
    params = job.params or {}
    request = RunRequest(
        flintbit=parse_flintbit(job.target),
        input=dict(params.get("input") or {}),
        sync=bool(params.get("sync")),
        timeout_ms=params.get("timeout_ms"),
    )
    return Again("flint run", job.target, Redo("/flint", as_command_text(request), request))


def as_command_text(request: RunRequest) -> str:
    """What to type after /flint for this very run: shown where a confirmation or an
    approval holds it (a Re-run, a step), so it names every option the run has. Inputs
    that are all text under valid names are shown as ``key=value`` words, others as the
    JSON object at the end."""
    options = ["--sync"] if request.sync else []
    if request.timeout_ms:
        options += ["--timeout", str(request.timeout_ms)]
    given = request.input
    if all(isinstance(v, str) and INPUT_NAME.fullmatch(k) for k, v in given.items()):
        return words(
            "run", str(request.flintbit), *options, *(f"{k}={v}" for k, v in given.items())
        )
    shown = words("run", str(request.flintbit), *options)
    return f"{shown} {json.dumps(given, ensure_ascii=False)}"


async def on_refresh(deps: Deps, x: Interaction) -> None:
    if x.value.startswith("job:"):
        job_id = x.value[4:]
        if not await _may_see_result(deps, x, job_id):
            return
        await _refresh_fetched(deps, job_id, x)
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    if not await button_permitted(deps, x, "flint result", job.vendor_job_id):
        return
    await refresh(
        deps,
        x,
        job,
        noun="job",
        never_sent="This run never started. Press *Re-run* to try again.",
        done=":white_check_mark: This job has finished; its card is up to date.",
    )


async def _may_see_result(deps: Deps, x: Interaction, job_id: str) -> bool:
    """The access policy's word on ``/flint result JOB_ID`` for whoever clicked."""
    redo = Redo("/flint", f"result {job_id}", ResultRequest(job_id))
    return await button_permitted(deps, x, "flint result", job_id, redo=redo)


async def _refresh_fetched(deps: Deps, job_id: str, x: Interaction) -> None:
    """Refresh by Flint job id: on an ephemeral ``/flint result`` card, the card again; on
    a tracked card no longer followed (timed out), the job as Flint has it now, beside it."""
    assert deps.flint is not None
    try:
        result = await deps.flint.result(validate_job_id(job_id))
    except ValueError:
        raise Stale(STALE) from None
    message = blocks.card(blocks.view_from_result(result.as_dict()))
    if _on_ephemeral(x):
        await x.respond(text=message.text, blocks=message.blocks, replace_original=True)
    else:
        await x.beside(response_type="ephemeral", text=message.text, blocks=message.blocks)


def _on_ephemeral(x: Interaction) -> bool:
    container = x.body.get("container")
    return isinstance(container, dict) and bool(container.get("is_ephemeral"))


async def on_full_output(deps: Deps, x: Interaction) -> None:
    """Full output: the job's output in a modal, as much as one holds. A tracked job's is
    the output the store kept; a fetched one's (``job:ID``) is read from Flint again."""
    assert deps.flint is not None
    if x.value.startswith("job:"):
        job_id = x.value[4:]
        if not await _may_see_result(deps, x, job_id):
            return
        try:
            result = await deps.flint.result(validate_job_id(job_id))
        except ValueError:
            raise Stale(STALE) from None
        answer = result.as_dict()
        flintbit = str((answer.get("meta") or {}).get("context") or "?")
        text = blocks.readable_output(answer.get("output"))
        view = blocks.output_view(flintbit, job_id, text, None, tracked=False)
        await open_modal(x, view)
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    record = job.result or {}
    text = blocks.readable_output(record.get("output"))
    if not job.vendor_job_id or not text:
        await x.beside(**ephemeral("This job has no output to show."))
        return
    if not await _may_see_result(deps, x, job.vendor_job_id):
        return
    length = record.get("output_length")
    view = blocks.output_view(
        job.target,
        job.vendor_job_id,
        text,
        length if isinstance(length, int) else None,
        tracked=True,
    )
    await open_modal(x, view)
