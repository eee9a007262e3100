"""Pure functions: a Stintmint request (tracked or fetched) → Block Kit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.messages import Message
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common.text import clip, code, duration, escape, fit

FETCH = "stint_fetch"
RESPONSES_ON_CARD = 2500


@dataclass
class StintView:
    sf_id: str
    identifier: str
    status: str
    user_id: str | None
    elapsed: float | None
    cost: Any
    took: float | None
    responses: list[dict[str, Any]]
    error: str | None
    delivery: str | None
    tracked_id: str | None
    state_id: str | None = None


def view_from_job(job: TrackedJob) -> StintView:
    flow = job.result or {}
    params = job.params or {}
    ended = job.ended_without_answer
    # Stintmint is sent requests, not started jobs.
    status = ("not sent" if ended == "not started" else ended) or job.vendor_status or "sending"
    error = {
        "not started": job.error or "Stintmint did not accept the request.",
        "timed out": "Stopped waiting: no result in time. Check later with `/stint fetch "
        f"{params.get('sf_id')} {params.get('identifier')}`.",
        "unknown": "The app restarted while sending this request, so whether Stintmint got "
        "it is unknown. Check with `/stint fetch`.",
    }.get(ended or "")
    return StintView(
        sf_id=params.get("sf_id", job.target),
        identifier=params.get("identifier", job.vendor_job_id or "?"),
        status=status.lower(),
        user_id=job.user_id,
        elapsed=job.elapsed(),
        cost=flow.get("cost"),
        took=_took(flow),
        responses=list(flow.get("responses") or []),
        error=error,
        delivery="callback" if params.get("callback") else "polling",
        tracked_id=job.id,
    )


def view_from_flow(flow: dict[str, Any], sf_id: str, identifier: str, state_id: str | None):
    return StintView(
        sf_id=flow.get("sfId") or sf_id,
        identifier=flow.get("identifier") or identifier,
        status=str(flow.get("status") or "not ready yet").lower(),
        user_id=None,
        elapsed=None,
        cost=flow.get("cost"),
        took=_took(flow),
        responses=list(flow.get("responses") or []),
        error=None,
        delivery=None,
        tracked_id=None,
        state_id=state_id,
    )


def _took(flow: dict[str, Any]) -> float | None:
    created, completed = flow.get("created"), flow.get("completed")
    if (
        isinstance(created, int | float)
        and isinstance(completed, int | float)
        and completed >= created
    ):
        return (completed - created) / 1000
    return None


def readable_responses(responses: list[dict[str, Any]]) -> str:
    """One block of lines per response: its fields as `key: value`."""
    lines: list[str] = []
    for number, response in enumerate(responses, 1):
        parts = [f"{key}: {_value(value)}" for key, value in response.items()]
        lines.append(f"{number}. " + " · ".join(parts))
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def card(view: StintView) -> Message:
    icon = {
        "completed": ":white_check_mark:",
        "not sent": ":warning:",
        "timed out": ":alarm_clock:",
        "unknown": ":grey_question:",
    }
    title = (
        f"{icon.get(view.status, ':hourglass_flowing_sand:')} Stintmint {code(view.sf_id)}"
        f" / {code(view.identifier)} — *{escape(view.status)}*"
    )
    fields = [f"*Status*\n{escape(view.status)}", f"*Identifier*\n{code(view.identifier)}"]
    if view.state_id:
        fields.append(f"*Module*\n{code(view.state_id)}")
    if view.user_id:
        fields.append(f"*Sent by*\n<@{view.user_id}>")
    if view.elapsed is not None and view.status != "completed":
        fields.append(f"*Waiting*\n{duration(view.elapsed)}")
    if view.took is not None:
        fields.append(f"*Took*\n{duration(view.took)}")
    if view.cost is not None:
        fields.append(f"*Cost*\n{escape(view.cost)} credits")
    if view.delivery:
        fields.append(f"*Result by*\n{view.delivery}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(title, 3000)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, 2000)} for f in fields]},
    ]
    if view.error:
        blocks.append(kit.section(f":warning: {fit(view.error, 1000)[0]}"))
    if view.responses:
        # Cut to fit once escaped (escaping lengthens: < is &lt;), not merely before.
        shown, cut = fit(readable_responses(view.responses), RESPONSES_ON_CARD)
        blocks.append(kit.section(f"*Responses ({len(view.responses)})*\n{shown}"))
        if cut:
            blocks.append(kit.context("More responses than fit here: `/stint fetch` shows them."))
    elif view.status != "completed" and not view.error:
        blocks.append(kit.context("Not ready yet: the humans are on it."))
    value = view.tracked_id or ":".join(
        ["fetch", view.sf_id, view.identifier, *([view.state_id] if view.state_id else [])]
    )
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Fetch now"},
        "action_id": FETCH,
        "value": value[:2000],
    }
    blocks.append({"type": "actions", "elements": [button]})
    # The fallback text is mrkdwn too (notifications, clients without blocks).
    fallback = f"Stintmint {escape(view.sf_id)}/{escape(view.identifier)}: {escape(view.status)}"
    return Message(text=clip(fallback, 3000), blocks=blocks)


def job_card(job: TrackedJob) -> Message:
    return card(view_from_job(job))


def thread_notice(job: TrackedJob) -> Message:
    """Said in the card's thread when the request ends, so the channel notices: the
    responses arrived, or why there are none."""
    view = view_from_job(job)
    if job.succeeded:
        count = len(view.responses)
        text = (
            f":inbox_tray: <@{job.user_id}> the responses for {code(view.identifier)} "
            f"are in ({count} response{'s' if count != 1 else ''}"
            + (f", {escape(view.cost)} credits" if view.cost is not None else "")
            + ")."
        )
    else:
        text = (
            f":x: <@{job.user_id}> Stintmint request {code(view.identifier)} "
            f"ended *{escape(view.status)}*."
        )
        if view.error:
            text += f" {fit(view.error, 1000)[0]}"
    return Message(text=text, blocks=[kit.section(text)])
