"""Pure functions: a Flint job (tracked or fetched) → Block Kit."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from adapters.flint import validate_job_id
from adapters.http import byte_size
from bot.messages import FileUpload, Message
from bot.store.jobs import STARTING
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common.job_cards import code_sections, finished_line, output_modal
from handlers.common.text import clip, code, code_block, duration, escape, fit

OUTPUT_ON_CARD = 2500  # characters; Slack allows 3000 per section
# The file of a job's output attached in its thread holds at most this much of it (UTF-8);
# a longer output is cut there, and the file's title says so.
OUTPUT_FILE_BYTES = 1024 * 1024
SECTION = 3000
FIELD = 2000
MESSAGE_ON_CARD = 1000  # Flint's message and errors, escaped
RERUN = "flint_rerun"
RERUN_EDIT = "flint_rerun_edit"  # registered by the forms (handlers/flint/forms.py)
REFRESH = "flint_refresh"
FULL_OUTPUT = "flint_full_output"

_STATUS_ICON = {
    "starting": ":hourglass_flowing_sand:",
    "submitted": ":inbox_tray:",
    "running": ":gear:",
    "complete": ":white_check_mark:",
    "failed": ":x:",
    "aborted": ":octagonal_sign:",
    "error": ":x:",
    "timed out": ":alarm_clock:",
    "unknown": ":grey_question:",
    "not started": ":warning:",
    "output too large": ":warning:",
}


@dataclass
class FlintView:
    """Everything a card shows, from a tracked job or straight from ``/flint result``."""

    flintbit: str
    status: str
    job_id: str | None
    user_id: str | None
    elapsed: float | None  # how long it has been running; None once it has ended
    exit_code: int | None
    output: Any
    message: str | None
    error: str | None
    mode: str
    tracked_id: str | None
    final: bool
    # The whole output's length in characters when ``output`` is only its first part.
    output_length: int | None = None
    took: str | None = None  # how long an ended tracked job took, in words
    timed_out: bool = False  # no longer followed: Flint may still be running it
    # Recorded, and Flint not yet answered (a --sync run waits up to a minute here).
    starting: bool = False


def view_from_job(job: TrackedJob) -> FlintView:
    meta = (job.result or {}).get("meta") or {}
    status = job.ended_without_answer or job.vendor_status or "starting"
    if job.final and not job.succeeded and status == "complete":
        status = "failed"  # complete with a non-zero exit code
    params = job.params or {}
    mode = "synchronous" if params.get("sync") else "background"
    if params.get("timeout_ms"):
        mode += f", timeout {params['timeout_ms']:,} ms"
    return FlintView(
        flintbit=job.target,
        status=status,
        job_id=job.vendor_job_id,
        user_id=job.user_id,
        elapsed=None if job.final else job.elapsed(),
        exit_code=meta.get("exit-code"),
        output=(job.result or {}).get("output"),
        message=meta.get("message"),
        error=_job_error(job),
        mode=mode,
        tracked_id=job.id,
        final=job.final,
        output_length=_output_length(job),
        took=finished_line(job),
        timed_out=job.ended_without_answer == "timed out",
        starting=job.state == STARTING,
    )


def _output_length(job: TrackedJob) -> int | None:
    length = (job.result or {}).get("output_length")
    return length if isinstance(length, int) else None


def view_from_result(result: dict[str, Any], flintbit: str | None = None) -> FlintView:
    meta = result.get("meta") or {}
    status = str(meta.get("status") or "unknown")
    exit_code = meta.get("exit-code")
    if status == "complete" and exit_code not in (0, None):
        status = "failed"
    timestamp = meta.get("timestamp")
    final = status in ("complete", "failed", "aborted", "error")
    # Flint gives the submit time only, so a finished job's run time is unknown.
    running_for = (
        time.time() - timestamp / 1000 if isinstance(timestamp, int | float) and not final else None
    )
    return FlintView(
        flintbit=flintbit or str(meta.get("context") or "?"),
        status=status,
        job_id=meta.get("job-id"),
        user_id=None,
        elapsed=running_for,
        exit_code=exit_code,
        output=result.get("output"),
        message=meta.get("message"),
        error=None,
        mode="fetched",
        tracked_id=None,
        final=final,
    )


def _job_error(job: TrackedJob) -> str | None:
    ended = job.ended_without_answer
    if ended == "not started":
        return job.error or "Flint did not start the job."
    if ended == "timed out":
        return (
            "Stopped following this job: it did not finish in time. "
            f"Check it later with `/flint result {job.vendor_job_id}`."
        )
    if ended == "unknown":
        return (
            "The app restarted while Flint was starting this job, so whether it ran is "
            "unknown. Check Flint, or run it again."
        )
    return None


def readable_output(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if (
        isinstance(output, dict)
        and list(output) == ["message"]
        and isinstance(output["message"], str)
    ):
        return output["message"]
    return json.dumps(output, indent=2, ensure_ascii=False, default=str)


def card(view: FlintView) -> Message:
    icon = _STATUS_ICON.get(view.status, ":small_blue_diamond:")
    title = clip(f"{icon} Flint {code(view.flintbit)} — *{escape(view.status)}*", SECTION)
    fields = [
        f"*Status*\n{escape(view.status)}",
        f"*Job ID*\n{code(view.job_id)}" if view.job_id else "*Job ID*\n—",
    ]
    if view.user_id:
        fields.append(f"*Run by*\n<@{view.user_id}>")
    if view.elapsed is not None:
        fields.append(f"*Elapsed*\n{duration(view.elapsed)}")
    if view.exit_code is not None:
        fields.append(f"*Exit code*\n{escape(view.exit_code)}")
    fields.append(f"*Mode*\n{escape(view.mode)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, FIELD)} for f in fields]},
    ]
    if view.error:
        error = fit(view.error, MESSAGE_ON_CARD)[0]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {error}"}})
    if view.message and view.message not in ("success", view.status):
        said = fit(view.message, MESSAGE_ON_CARD)[0]
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Flint says: {said}"}]}
        )
    text = readable_output(view.output)
    cut = False
    if text:
        # Escaping lengthens the output (< is &lt;): cut it so that the block stays within
        # Slack's limit once escaped, not merely before.
        shown, cut = fit(text, OUTPUT_ON_CARD, code_block)
        cut = cut or view.output_length is not None
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": shown}})
    buttons = _buttons(view, output_cut=cut)
    if cut:
        openable = any(b["action_id"] == FULL_OUTPUT for b in buttons)
        length = view.output_length or len(text)
        blocks.append(_cut_note(length, tracked=bool(view.tracked_id), openable=openable))
    if view.took:
        blocks.append(kit.context(view.took))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    # The fallback text is mrkdwn too (notifications, clients without blocks).
    fallback = f"Flint {escape(view.flintbit)}: {escape(view.status)}"
    if view.job_id:
        fallback += f" ({escape(view.job_id)})"
    return Message(text=clip(fallback, SECTION), blocks=blocks)


def _buttons(view: FlintView, *, output_cut: bool) -> list[dict[str, Any]]:
    """Only the buttons that can help now. A running job: Refresh. An ended one: Re-run,
    Re-run with changes, and Full output when the card cut it. One no longer followed
    (timed out) is looked up again in Flint by its job id, as ``/flint result`` would."""
    asks = bool(view.job_id) and _can_ask_about(view.job_id or "")
    buttons = []
    if view.tracked_id and not view.final:
        if not view.starting:  # before Flint has answered there is nothing to ask it
            buttons.append(kit.button("Refresh", REFRESH, view.tracked_id))
    elif view.tracked_id:
        buttons.append(kit.button("Re-run", RERUN, view.tracked_id))
        buttons.append(kit.button("Re-run with changes", RERUN_EDIT, view.tracked_id))
        if output_cut:
            buttons.append(kit.button("Full output", FULL_OUTPUT, view.tracked_id))
        if view.timed_out and asks:
            buttons.append(kit.button("Refresh", REFRESH, f"job:{view.job_id}"))
    elif asks:
        if not view.final:
            buttons.append(kit.button("Refresh", REFRESH, f"job:{view.job_id}"))
        if output_cut:
            buttons.append(kit.button("Full output", FULL_OUTPUT, f"job:{view.job_id}"))
    return buttons


def _cut_note(length: int, *, tracked: bool, openable: bool) -> dict[str, Any]:
    note = f"Output truncated ({length:,} characters)"
    if not tracked:
        note += ": *Full output* shows more of it." if openable else "."
    elif length > OUTPUT_FILE_BYTES:
        note += f"; its first {byte_size(OUTPUT_FILE_BYTES)} is attached in the thread."
    else:
        note += "; the full output is attached in the thread."
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}


def output_view(
    flintbit: str, job_id: str | None, text: str, length: int | None, *, tracked: bool
) -> dict[str, Any]:
    """The Full output modal: as much of ``text`` as a modal holds; ``length`` is the whole
    output's when ``text`` is only its start. The note says what is left out and, for a
    tracked job, that the file in the card's thread has it."""
    shown = code_sections(text)
    whole = max(length or 0, len(text))
    note = None
    if shown.shown < whole:
        note = f"Showing the first {shown.shown:,} of {whole:,} characters."
        if tracked and whole > OUTPUT_FILE_BYTES:
            note += f" Its first {byte_size(OUTPUT_FILE_BYTES)} is attached in the card's thread."
        elif tracked:
            note += " The whole output is attached in the card's thread as a file."
    head = f"Flint {code(flintbit)}" + (f" · job {code(job_id)}" if job_id else "")
    return output_modal("Flint output", head, shown, note)


def _can_ask_about(job_id: str) -> bool:
    """Whether ``/flint result`` takes this job id. Flint may answer any id: one that it
    refuses gets no Refresh button, which could not work and might not fit in a button's
    value (Slack's limit is 2,000 characters); a valid one is at most 128."""
    try:
        validate_job_id(job_id)
    except ValueError:
        return False
    return True


def job_card(job: TrackedJob) -> Message:
    return card(view_from_job(job))


def thread_notice(job: TrackedJob) -> Message | None:
    """Failures are also said in the thread, mentioning whoever ran the job."""
    if job.succeeded:
        return None
    view = view_from_job(job)
    reason = view.error or (view.message if view.message else "")
    detail = f" (exit code {view.exit_code})" if view.exit_code not in (None, 0) else ""
    text = f":x: <@{job.user_id}> {code(job.target)} ended *{escape(view.status)}*{detail}."
    if reason:
        text += f" {fit(reason, MESSAGE_ON_CARD)[0]}"
    text = clip(text, SECTION)  # the status is Flint's, of any length
    return Message(
        text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )


def full_output(job: TrackedJob) -> list[FileUpload]:
    """The stored output as a file, when the card could not show all of it."""
    text = readable_output((job.result or {}).get("output"))
    if not text or not fit(text, OUTPUT_ON_CARD, code_block)[1]:
        return []  # all of it is on the card
    return output_file(job, text)


def output_file(job: TrackedJob, text: str, length: int | None = None) -> list[FileUpload]:
    """``text`` as the output's file, cut to OUTPUT_FILE_BYTES; ``length`` is the whole
    output's (when ``text`` is only its start). The title says when the file is cut."""
    content = _first_bytes(text, OUTPUT_FILE_BYTES)
    length = max(length or 0, len(text))
    title = f"{job.target} output"
    if len(content) < length:
        title += f" (cut: its first {len(content):,} of {length:,} characters)"
    name = (job.vendor_job_id or job.id).replace("/", "_")
    return [FileUpload(filename=f"{name}-output.txt", content=content, title=title)]


def _first_bytes(text: str, limit: int) -> str:
    """The longest start of ``text`` that is at most ``limit`` bytes in UTF-8."""
    if len(text) * 4 <= limit:
        return text  # even all 4-byte characters would fit
    head = text[:limit].encode()[:limit]
    return head.decode(errors="ignore")  # a character cut in half is dropped
