"""Buttons on Flint cards: Re-run and Refresh."""

from __future__ import annotations

import json
from dataclasses import replace

from adapters.flint import parse_flintbit, validate_job_id
from handlers.common.interaction import Answer, Interaction
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import RESTARTING, ephemeral
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
    if not deps.work.accepting:
        await x.respond(**ephemeral(RESTARTING))
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    if not x.channel:
        # Clicked on App Home: it runs in the job's channel, so the policy (and any
        # confirmation or approval) is asked for there, as a click on the card would be.
        x = replace(x, channel=job.channel_id)
    params = job.params or {}
    request = RunRequest(
        flintbit=parse_flintbit(job.target),
        input=dict(params.get("input") or {}),
        sync=bool(params.get("sync")),
        timeout_ms=params.get("timeout_ms"),
    )
    redo = Redo("/flint", as_command_text(request), request)
    if not await button_permitted(deps, x, "flint run", job.target, redo=redo):
        return
    await start_run(deps, request, channel_id=x.channel, user_id=x.user, respond=x.respond)


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
    respond = x.respond
    if x.value.startswith("job:"):
        job_id = x.value[4:]
        redo = Redo("/flint", f"result {job_id}", ResultRequest(job_id))
        if not await button_permitted(deps, x, "flint result", job_id, redo=redo):
            return
        await _refresh_fetched(deps, job_id, respond)
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


async def _refresh_fetched(deps: Deps, job_id: str, respond: Answer) -> None:
    """The Refresh button of an ephemeral ``/flint result`` card."""
    assert deps.flint is not None
    try:
        result = await deps.flint.result(validate_job_id(job_id))
    except ValueError:
        raise Stale(STALE) from None
    message = blocks.card(blocks.view_from_result(result.as_dict()))
    await respond(text=message.text, blocks=message.blocks, replace_original=True)
