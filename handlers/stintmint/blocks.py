"""Pure functions: a Stintmint request (tracked or fetched) → Block Kit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.messages import Message
from bot.store.jobs import STARTING
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common.job_cards import finished_line, line_sections, output_modal
from handlers.common.text import clip, code, duration, escape, fit

FETCH = "stint_fetch"
RERUN = "stint_rerun"
RERUN_EDIT = "stint_rerun_edit"  # registered by the forms (handlers/stintmint/forms.py)
ALL_RESPONSES = "stint_full_output"
RESPONSES_ON_CARD = 2500


@dataclass
class StintView:
    sf_id: str
    identifier: str
    status: str
    user_id: str | None
    elapsed: float | None  # how long it has waited; None once it has ended
    cost: Any
    took: float | None  # Stintmint's own time from creation to completion
    responses: list[dict[str, Any]]
    error: str | None
    delivery: str | None
    tracked_id: str | None
    state_id: str | None = None
    final: bool = False  # a tracked request that has ended, however it ended
    finished: str | None = None  # how long a tracked request took, in words
    starting: bool = False  # recorded, and not yet sent to Stintmint


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
        elapsed=None if job.final else job.elapsed(),
        cost=flow.get("cost"),
        took=_took(flow),
        responses=list(flow.get("responses") or []),
        error=error,
        delivery="callback" if params.get("callback") else "polling",
        tracked_id=job.id,
        final=job.final,
        finished=finished_line(job),
        starting=job.state == STARTING,
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
    if view.elapsed is not None:
        fields.append(f"*Waiting*\n{duration(view.elapsed)}")
    if view.took is not None and not view.tracked_id:
        # A tracked card says how long it took in its own words, below.
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
    cut = False
    if view.responses:
        # Cut to fit once escaped (escaping lengthens: < is &lt;), not merely before.
        shown, cut = fit(readable_responses(view.responses), RESPONSES_ON_CARD)
        blocks.append(kit.section(f"*Responses ({len(view.responses)})*\n{shown}"))
        if cut:
            blocks.append(kit.context("More responses than fit here: *All responses* shows them."))
    elif _waiting(view):
        blocks.append(kit.context("Not ready yet: the humans are on it."))
    if view.finished:
        blocks.append(kit.context(view.finished))
    buttons = _buttons(view, responses_cut=cut)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    # The fallback text is mrkdwn too (notifications, clients without blocks).
    fallback = f"Stintmint {escape(view.sf_id)}/{escape(view.identifier)}: {escape(view.status)}"
    return Message(text=clip(fallback, 3000), blocks=blocks)


def _waiting(view: StintView) -> bool:
    """Still with the humans: a tracked request not ended, a fetched one not completed."""
    if view.tracked_id:
        return not view.final
    return view.status != "completed"


def _buttons(view: StintView, *, responses_cut: bool) -> list[dict[str, Any]]:
    """Only the buttons that can help now. Fetch now while the humans are on it (and, by
    its ids, for a request no longer followed or not known to have arrived); Send again
    for a request Stintmint never accepted (an identifier it has is refused a second
    time); Send again with changes on every ended card; All responses when the card cut
    them."""
    by_ids = ":".join(
        ["fetch", view.sf_id, view.identifier, *([view.state_id] if view.state_id else [])]
    )
    buttons = []
    if not view.tracked_id:
        if view.status != "completed":
            buttons.append(kit.button("Fetch now", FETCH, by_ids))
        if responses_cut:
            buttons.append(kit.button("All responses", ALL_RESPONSES, by_ids))
        return buttons
    if view.starting:
        return []  # nothing to fetch before Stintmint has it
    if not view.final:
        return [kit.button("Fetch now", FETCH, view.tracked_id)]
    if view.status in ("timed out", "unknown"):
        buttons.append(kit.button("Fetch now", FETCH, by_ids))
    if view.status in ("not sent", "unknown"):
        buttons.append(kit.button("Send again", RERUN, view.tracked_id))
    buttons.append(kit.button("Send again with changes", RERUN_EDIT, view.tracked_id))
    if responses_cut:
        buttons.append(kit.button("All responses", ALL_RESPONSES, view.tracked_id))
    return buttons


def responses_view(
    sf_id: str, identifier: str, responses: list[dict[str, Any]], cost: Any = None
) -> dict[str, Any]:
    """The All responses modal: every response, as the card lists them, as many as a modal
    holds, and a note saying how many are left out."""
    lines = [escape(line) for line in readable_responses(responses).split("\n") if line]
    shown = line_sections(lines)
    note = None
    if shown.shown < shown.whole:
        note = f"Showing {shown.shown:,} of {shown.whole:,} lines."
    head = f"Stintmint {code(sf_id)} / {code(identifier)} · {len(responses):,} responses"
    if cost is not None:
        head += f" · {escape(cost)} credits"
    return output_modal("Responses", head, shown, note)


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
