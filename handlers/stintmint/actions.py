"""The Fetch now button on Stintmint cards."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.store.jobs import ACTIVE, NOTIFYING
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral, not_configured
from handlers.deps import Deps
from handlers.stintmint.commands import show_fetch
from handlers.stintmint.jobs import VENDOR
from handlers.stintmint.parsing import FetchCommand, parse

_TRACKED_ID = re.compile(r"[0-9a-f]{32}")
STALE = ":grey_question: This button belongs to a request I no longer know about."


async def on_fetch(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.stintmint is None:
        await respond(**ephemeral(not_configured(deps.settings.stintmint_status())))
        return
    value = str(action.get("value") or "")
    if value.startswith("fetch:"):
        # An ephemeral `/stint fetch` card: fetch again and show the answer.
        try:
            request = parse("fetch " + " ".join(value.split(":")[1:]))
        except ValueError:
            await respond(**ephemeral(STALE))
            return
        if isinstance(request, FetchCommand) and await button_permitted(
            deps,
            body,
            respond,
            "stint fetch",
            request.sf_id,
            redo=Redo("/stint", f"fetch {request.sf_id} {request.identifier}", request),
        ):
            await show_fetch(deps, request, respond)
        return
    job = await deps.store.jobs.get(value) if _TRACKED_ID.fullmatch(value) else None
    if job is None or job.vendor != VENDOR:
        await respond(**ephemeral(STALE))
        return
    if not await button_permitted(deps, body, respond, "stint fetch", job.target):
        return
    if job.state in (ACTIVE, NOTIFYING):
        if await deps.tracker.refresh(job.id) is None:
            await respond(**ephemeral(":hourglass: This request is being updated right now."))
        return
    if job.vendor_job_id is None:
        await respond(**ephemeral("This request was never sent. Send it again with `/stint post`."))
        return
    await respond(**ephemeral(":white_check_mark: The responses are in; the card is up to date."))
