"""Pure functions: Signicat Mint flows and instances → Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.mint import ExecutionLogEntry, Flow, Instance
from bot.audit import redact
from bot.messages import Message, Picture
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common import charts
from handlers.common.job_cards import finished_line, line_sections, output_modal
from handlers.common.text import clip, code, duration, escape, fit, link, truncate

EXECUTE = "mint_execute"
PUBLISH = "mint_publish"
UNPUBLISH = "mint_unpublish"
INSTANCES = "mint_instances"
MORE = "mint_more"
REFRESH = "mint_refresh"
NOTE = "mint_note"
REPORT = "mint_report"
RERUN = "mint_rerun"
RERUN_EDIT = "mint_rerun_edit"  # registered by the forms (handlers/mint/forms.py)
FULL_LOG = "mint_full_output"
PAGE = 10
LOG_ON_CARD = 8  # execution log entries an instance's card shows
_ICON = {
    "finished": ":white_check_mark:",
    "faulted": ":x:",
    "cancelled": ":no_entry_sign:",
    "suspended": ":double_vertical_bar:",
    "running": ":gear:",
    "idle": ":hourglass_flowing_sand:",
    # How tracking ended when Mint never said (the same icons as Flint's).
    "not started": ":warning:",
    "timed out": ":alarm_clock:",
    "unknown": ":grey_question:",
}


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    """The fallback ``text`` is mrkdwn too (notifications, clients without blocks): it is
    built from escaped parts like the blocks."""
    return Message(text=clip(text, 3000), blocks=blocks)


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if value else "—"


# -- flows --------------------------------------------------------------------------------


def flow_blocks(flow: Flow) -> list[dict[str, Any]]:
    fid = flow.definition_id or ""
    title = f":bookmark_tabs: *{escape(flow.name)}*"
    if flow.description:
        title += f"\n{escape(truncate(flow.description, 300)[0])}"
    state = ":large_green_circle: published" if flow.published else ":white_circle: draft"
    facts = [f"{state}", f"version {flow.version or '—'}", f"created {_when(flow.created_at)}"]
    if flow.published and flow.link:
        facts.append(link(flow.link, "open"))
    toggle = (
        kit.button("Unpublish", UNPUBLISH, fid)
        if flow.published
        else kit.button("Publish", PUBLISH, fid)
    )
    return [
        kit.section(title),
        kit.context(" · ".join(facts) + f" · id {code(fid)}"),
        {
            "type": "actions",
            "elements": [
                kit.button("Execute", EXECUTE, fid, "primary"),
                toggle,
                kit.button("Instances", INSTANCES, fid),
            ],
        },
    ]


def flows(items: list[Flow], search: str | None) -> Message:
    head = "*Signicat Mint flows*" + (f" matching “{escape(search)}”" if search else "")
    blocks = [kit.section(head)]
    if not items:
        blocks.append(kit.context("No flows found."))
    for flow in items[:12]:
        blocks.extend(flow_blocks(flow))
    if len(items) > 12:
        blocks.append(
            kit.context(f"…and {len(items) - 12} more: narrow it with `/mint flows SEARCH`.")
        )
    return _message(f"{len(items)} Signicat Mint flows", blocks)


def published(flow: Flow, publish: bool, user_id: str) -> Message:
    verb = "published" if publish else "unpublished"
    text = f":white_check_mark: <@{user_id}> {verb} *{escape(flow.name)}*"
    if flow.version:
        text += f" (version {flow.version})"
    if publish and flow.link:
        text += f": {link(flow.link, flow.link)}"
    return _message(f"{escape(flow.name)} {verb}", [kit.section(text)])


# -- instances ----------------------------------------------------------------------------


def status_of(instance: dict[str, Any] | None, fallback: str) -> str:
    return str((instance or {}).get("status") or fallback)


def instance_fields(inst: Instance) -> list[str]:
    started, ended = inst.started, inst.ended
    fields = [
        f"*Status*\n{_ICON.get(inst.status_text.lower(), '')} {escape(inst.status_text)}",
        f"*Instance*\n{code(inst.id or '—')}",
        f"*Started*\n{_when(started)}",
        f"*Ended*\n{_when(ended)}",
    ]
    if started and ended:
        fields.append(f"*Took*\n{duration((ended - started).total_seconds())}")
    return fields


def instance_buttons(
    instance_id: str, refresh_value: str | None, *, full_log: bool = False
) -> list[dict[str, Any]]:
    """An instance's buttons: Refresh (None: nothing left to refresh), Add note, Download
    report, and Full log where the card does not show the whole log."""
    buttons = [kit.button("Refresh", REFRESH, refresh_value)] if refresh_value else []
    buttons.append(kit.button("Add note", NOTE, instance_id))
    buttons.append(kit.button("Download report", REPORT, instance_id))
    if full_log:
        buttons.append(kit.button("Full log", FULL_LOG, instance_id))
    return buttons


def _actions(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "elements": buttons}


def log_summary(log: list[ExecutionLogEntry], limit: int = LOG_ON_CARD) -> str:
    lines = []
    for entry in log[-limit:]:
        status = entry.status or entry.event_name or ""
        mark = ":x:" if entry.is_fault else "•"
        line = f"{mark} {escape(entry.step_name)} — {escape(status)}"
        if entry.when:
            line += f" ({entry.when.astimezone(UTC):%H:%M:%S})"
        lines.append(line)
    more = f"\n…{len(log) - limit} earlier entries" if len(log) > limit else ""
    return "\n".join(lines) + more


def instance_detail(inst: Instance, log: list[ExecutionLogEntry], failing) -> Message:
    title = f"*{escape(inst.title or inst.definition_id or 'Flow')}* — instance"
    blocks = [kit.section(title), kit.fields(instance_fields(inst))]
    if failing is not None:
        fault = fit(_fault_text(failing), 1000)[0]
        blocks.append(kit.section(f":x: *Failed at* {escape(failing.step_name)}: {fault}"))
    if log:
        blocks.append(kit.section("*Execution log*\n" + log_summary(log)))
    if inst.id:
        # An instance that has ended for good would look the same refreshed.
        ended = inst.status_text.lower() in ("finished", "faulted", "cancelled")
        refresh = None if ended else f"inst:{inst.id}"
        more = len(log) > LOG_ON_CARD
        blocks.append(_actions(instance_buttons(inst.id, refresh, full_log=more)))
    return _message(f"Mint instance {escape(inst.id)}: {escape(inst.status_text)}", blocks)


def log_view(instance_id: str, title: str, log: list[ExecutionLogEntry]) -> dict[str, Any]:
    """The Full log modal: every entry of the execution log, each fault with its message;
    the latest entries when not all fit, and a note saying how many are left out."""
    lines = []
    for entry in log:
        status = entry.status or entry.event_name or ""
        mark = ":x:" if entry.is_fault else "•"
        line = f"{mark} *{escape(entry.step_name)}* — {escape(status)}"
        if entry.when:
            line += f" ({entry.when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"
        if entry.is_fault:
            line += f"\n      {fit(_fault_text(entry), 1000)[0]}"
        lines.append(line)
    shown = line_sections(lines, last=True)
    note = None
    if shown.shown < shown.whole:
        note = (
            f"Showing the last {shown.shown:,} of {shown.whole:,} entries; "
            "*Download report* has the whole instance."
        )
    head = f"Signicat Mint *{escape(title)}* · instance {code(instance_id)}"
    if not log:
        head += " · the log is empty"
    return output_modal("Execution log", head, shown, note)


def _fault_text(entry: ExecutionLogEntry) -> str:
    exception = entry.exception
    if isinstance(exception, dict):
        exception = exception.get("message") or json.dumps(exception)[:300]
    return str(exception or entry.message or "no message")


def instances(
    items: list[Instance],
    *,
    definition_id: str,
    status: str | None,
    offset: int,
    title: str | None = None,
) -> Message:
    """A page of a flow's instances, headed by the flow's title (its id when unknown)."""
    name = f"*{escape(title)}*" if title else code(definition_id)
    head = f"*Instances of* {name}" + (f" — {escape(status)}" if status else "")
    if offset:
        head += f" (from #{offset + 1})"
    blocks = [kit.section(head)]
    if not items:
        blocks.append(kit.context("No instances." if not offset else "No more instances."))
    for inst in items[:PAGE]:
        icon = _ICON.get(inst.status_text.lower(), "•")
        text = (
            f"{icon} {code(inst.id or '?')} — {escape(inst.status_text)} · "
            f"started {_when(inst.started)}"
        )
        section = kit.section(text)
        if inst.id:
            section["accessory"] = kit.button("Details", REFRESH, f"inst:{inst.id}")
        blocks.append(section)
    if len(items) >= PAGE:
        value = json.dumps({"d": definition_id, "s": status, "o": offset + PAGE})
        blocks.append({"type": "actions", "elements": [kit.button("More", MORE, value)]})
    return _message(f"Instances of {escape(title or definition_id)}", blocks)


# -- tracked executions ------------------------------------------------------------------


def flow_title(job: TrackedJob) -> str:
    """The executed flow's title as it was when the job started; its id when unknown."""
    title = (job.params or {}).get("title")
    return title if isinstance(title, str) and title.strip() else job.target


def job_card(job: TrackedJob) -> Message:
    result = job.result or {}
    inst = result.get("instance") or {}
    params = job.params or {}
    status = job.ended_without_answer or status_of(inst, "starting")
    icon = _ICON.get(status.lower(), ":hourglass_flowing_sand:")
    title = f"{icon} Signicat Mint *{escape(flow_title(job))}* — *{escape(status)}*"
    fields = [
        f"*Status*\n{escape(status)}",
        f"*Instance*\n{code(job.vendor_job_id or '—')}",
        f"*Started by*\n<@{job.user_id}>",
    ]
    if not job.final:
        fields.append(f"*Elapsed*\n{duration(job.elapsed())}")
    if params.get("input"):
        # A public card: secret-looking inputs are shown redacted, as in the audit log.
        shown = truncate(json.dumps(redact(params["input"]), ensure_ascii=False), 200)[0]
        fields.append(f"*Input*\n{code(shown)}")
    blocks = [kit.section(title), kit.fields(fields)]
    failing = result.get("failing_step")
    if failing:
        fault = fit(str(failing.get("message") or ""), 1000)[0]
        blocks.append(kit.section(f":x: *Failed at* {escape(failing.get('name'))}: {fault}"))
    error = {
        "not started": job.error or "Signicat Mint did not start the flow.",
        "timed out": "Stopped following this instance: it did not end in time. "
        f"Check it with `/mint instance {job.vendor_job_id}`.",
        "unknown": "The app restarted while starting this flow, so whether it ran is unknown.",
    }.get(job.ended_without_answer or "")
    if error:
        blocks.append(kit.section(f":warning: {fit(error, 1000)[0]}"))
    if inst.get("workflowUrl") or inst.get("workflow_url"):
        url = inst.get("workflowUrl") or inst.get("workflow_url")
        blocks.append(kit.context(link(url, "Open the workflow")))
    took = finished_line(job)
    if took:
        blocks.append(kit.context(took))
    buttons = _job_buttons(job)
    if buttons:
        blocks.append(_actions(buttons))
    return _message(f"Signicat Mint {escape(flow_title(job))}: {escape(status)}", blocks)


def _job_buttons(job: TrackedJob) -> list[dict[str, Any]]:
    """Only what can help now. While the flow runs: Refresh and the instance's buttons;
    once it has ended (or was never started): Re-run and Re-run with changes too, and no
    Refresh, as nothing would change, unless it is no longer followed (timed out): then
    Refresh shows the instance as Mint has it now."""
    buttons = []
    if job.vendor_job_id:
        followed = not job.final or job.ended_without_answer == "timed out"
        refresh = job.id if followed else None
        buttons += instance_buttons(job.vendor_job_id, refresh, full_log=True)
    if job.final:
        buttons.append(kit.button("Re-run", RERUN, job.id))
        buttons.append(kit.button("Re-run with changes", RERUN_EDIT, job.id))
    return buttons


def thread_notice(job: TrackedJob) -> Message | None:
    status = job.ended_without_answer or status_of(
        (job.result or {}).get("instance"), job.outcome or "?"
    )
    if status.lower() == "finished":
        return None
    failing = (job.result or {}).get("failing_step") or {}
    text = f":x: <@{job.user_id}> *{escape(flow_title(job))}* ended *{escape(status)}*"
    if failing:
        fault = fit(str(failing.get("message") or ""), 1000)[0]
        text += f" at *{escape(failing.get('name'))}*: {fault}"
    elif job.error:
        text += f": {fit(job.error, 1000)[0]}"
    return _message(text, [kit.section(text)])


def digest(problems: list[Instance], *, since: float) -> Message:
    when = datetime.fromtimestamp(since, UTC)
    by_flow: dict[str, list[Instance]] = {}
    for inst in problems:
        by_flow.setdefault(inst.title or inst.definition_id or "unknown flow", []).append(inst)
    head = (
        f":newspaper: *Signicat Mint digest* — {len(problems)} faulted or cancelled "
        f"instance{'s' if len(problems) != 1 else ''} since {when:%Y-%m-%d %H:%M} UTC"
    )
    blocks = [kit.section(head)]
    if not problems:
        blocks.append(kit.context("Nothing faulted or was cancelled."))
    for flow_name, items in list(by_flow.items())[:20]:
        lines = [
            f"{_ICON.get(i.status_text.lower(), '•')} {code(i.id or '?')} "
            f"{escape(i.status_text)} {_when(i.ended or i.started)}"
            for i in items[:10]
        ]
        blocks.append(kit.section(f"*{escape(flow_name)}*\n" + "\n".join(lines)))
    text = f"Signicat Mint digest: {len(problems)} problems"
    if not problems:
        return Message(text=text, blocks=blocks)
    bars, chart = faults_per_flow(by_flow)
    blocks.append(kit.context(bars))  # just above the chart, posted next
    return Message(text=text, blocks=blocks, files=(chart,))


def faults_per_flow(by_flow: dict[str, list[Instance]]) -> tuple[str, Picture]:
    """Faulted and cancelled instances per flow, the most first: as text bars (for clients
    showing no images, and the chart's alt text) and as a chart of horizontal bars."""
    counts = [
        (
            name,
            sum(1 for i in items if i.status_text.lower() == "faulted"),
            sum(1 for i in items if i.status_text.lower() != "faulted"),
        )
        for name, items in by_flow.items()
    ]
    counts.sort(key=lambda row: (-(row[1] + row[2]), row[0]))
    shown = counts[: charts.MAX_BARS]
    largest = max(faulted + cancelled for _, faulted, cancelled in shown)
    lines = [
        (
            charts.text_bar(faulted + cancelled, largest, 10),
            name[:60],
            f"{faulted} faulted, {cancelled} cancelled",
        )
        for name, faulted, cancelled in shown
    ]
    more = f"\n…and {len(counts) - len(shown)} more flows" if len(counts) > len(shown) else ""
    text = "*Per flow*\n" + "\n".join(f"{b} {escape(n)}: {c}" for b, n, c in lines) + more
    alt = "Per flow: " + "; ".join(f"{n}: {c}" for _, n, c in lines) + more.replace("\n", "; ")
    chart = charts.bar_chart(
        "Faulted and cancelled instances per flow",
        [(name, (faulted, cancelled)) for name, faulted, cancelled in shown],
        ("faulted", "cancelled"),
        filename="mint-faults-per-flow.png",
        alt_text=alt,
    )
    return clip(text, 3000), chart
