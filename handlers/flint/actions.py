"""Buttons on Flint cards: Re-run and Refresh."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError
from adapters.flint import parse_flintbit, validate_job_id
from bot.store.jobs import ACTIVE, NOTIFYING
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import RESTARTING, ephemeral, not_configured, vendor_error
from handlers.deps import Deps
from handlers.flint import blocks
from handlers.flint.commands import start_run
from handlers.flint.jobs import VENDOR
from handlers.flint.parsing import ResultRequest, RunRequest

_TRACKED_ID = re.compile(r"[0-9a-f]{32}")
STALE = ":grey_question: This button belongs to a job I no longer know about."


async def on_rerun(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.flint is None:
        await respond(**ephemeral(not_configured(deps.settings.flint_status())))
        return
    if not deps.work.accepting:
        await respond(**ephemeral(RESTARTING))
        return
    job = await _tracked_job(deps, action)
    if job is None:
        await respond(**ephemeral(STALE))
        return
    params = job.params or {}
    request = RunRequest(
        flintbit=parse_flintbit(job.target),
        input=dict(params.get("input") or {}),
        sync=bool(params.get("sync")),
        timeout_ms=params.get("timeout_ms"),
    )
    redo = Redo("/flint", as_command_text(request), request)
    if not await button_permitted(deps, body, respond, "flint run", job.target, redo=redo):
        return
    channel = (body.get("channel") or {}).get("id") or job.channel_id
    await start_run(deps, request, channel_id=channel, user_id=body["user"]["id"], respond=respond)


def as_command_text(request: RunRequest) -> str:
    """What to type after /flint for the same run (held by a confirmation)."""
    words = ["run", str(request.flintbit)]
    if request.timeout_ms:
        words.append(f"--timeout {request.timeout_ms}")
    elif request.sync:
        words.append("--sync")
    if request.input:
        words.append(json.dumps(request.input, ensure_ascii=False))
    return " ".join(words)


async def on_refresh(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.flint is None:
        await respond(**ephemeral(not_configured(deps.settings.flint_status())))
        return
    value = str(action.get("value") or "")
    if value.startswith("job:"):
        redo = Redo("/flint", f"result {value[4:]}", ResultRequest(value[4:]))
        if not await button_permitted(deps, body, respond, "flint result", value[4:], redo=redo):
            return
        await _refresh_fetched(deps, value[4:], respond)
        return
    job = await _tracked_job(deps, action)
    if job is None:
        await respond(**ephemeral(STALE))
        return
    if not await button_permitted(deps, body, respond, "flint result", job.vendor_job_id):
        return
    if job.state in (ACTIVE, NOTIFYING):
        if await deps.tracker.refresh(job.id) is None:
            await respond(**ephemeral(":hourglass: This job is being updated right now."))
        return
    if job.vendor_job_id is None:
        await respond(**ephemeral("This run never started. Press *Re-run* to try again."))
        return
    await respond(**ephemeral(":white_check_mark: This job has finished; its card is up to date."))


async def _refresh_fetched(deps: Deps, job_id: str, respond: AsyncRespond) -> None:
    """The Refresh button of an ephemeral ``/flint result`` card."""
    assert deps.flint is not None
    try:
        result = await deps.flint.result(validate_job_id(job_id))
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))
        return
    message = blocks.card(blocks.view_from_result(result.as_dict()))
    await respond(text=message.text, blocks=message.blocks, replace_original=True)


async def _tracked_job(deps: Deps, action: dict[str, Any]):
    value = str(action.get("value") or "")
    if not _TRACKED_ID.fullmatch(value):
        return None
    job = await deps.store.jobs.get(value)
    if job is None or job.vendor != VENDOR:
        return None
    return job
