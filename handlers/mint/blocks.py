"""Pure functions: Signicat Mint flows and instances → Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.mint import ExecutionLogEntry, Flow, Instance
from bot.audit import redact
from bot.messages import Message
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common.text import clip, code, duration, escape, fit, link, truncate

EXECUTE = "mint_execute"
PUBLISH = "mint_publish"
UNPUBLISH = "mint_unpublish"
INSTANCES = "mint_instances"
MORE = "mint_more"
REFRESH = "mint_refresh"
NOTE = "mint_note"
REPORT = "mint_report"
PAGE = 10
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


def instance_buttons(instance_id: str, refresh_value: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            kit.button("Refresh", REFRESH, refresh_value),
            kit.button("Add note", NOTE, instance_id),
            kit.button("Download report", REPORT, instance_id),
        ],
    }


def log_summary(log: list[ExecutionLogEntry], limit: int = 8) -> str:
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
        blocks.append(instance_buttons(inst.id, f"inst:{inst.id}"))
    return _message(f"Mint instance {escape(inst.id)}: {escape(inst.status_text)}", blocks)


def _fault_text(entry: ExecutionLogEntry) -> str:
    exception = entry.exception
    if isinstance(exception, dict):
        exception = exception.get("message") or json.dumps(exception)[:300]
    return str(exception or entry.message or "no message")


def instances(
    items: list[Instance], *, definition_id: str, status: str | None, offset: int
) -> Message:
    head = f"*Instances of* {code(definition_id)}" + (f" — {escape(status)}" if status else "")
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
    return _message(f"Instances of {escape(definition_id)}", blocks)


# -- tracked executions ------------------------------------------------------------------


def job_card(job: TrackedJob) -> Message:
    result = job.result or {}
    inst = result.get("instance") or {}
    params = job.params or {}
    status = job.ended_without_answer or status_of(inst, "starting")
    icon = _ICON.get(status.lower(), ":hourglass_flowing_sand:")
    title = (
        f"{icon} Signicat Mint *{escape(params.get('title') or job.target)}* — *{escape(status)}*"
    )
    fields = [
        f"*Status*\n{escape(status)}",
        f"*Instance*\n{code(job.vendor_job_id or '—')}",
        f"*Started by*\n<@{job.user_id}>",
        f"*Elapsed*\n{duration(job.elapsed())}",
    ]
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
    if job.vendor_job_id:
        blocks.append(instance_buttons(job.vendor_job_id, job.id))
    return _message(f"Signicat Mint {escape(job.target)}: {escape(status)}", blocks)


def thread_notice(job: TrackedJob) -> Message | None:
    status = job.ended_without_answer or status_of(
        (job.result or {}).get("instance"), job.outcome or "?"
    )
    if status.lower() == "finished":
        return None
    failing = (job.result or {}).get("failing_step") or {}
    text = f":x: <@{job.user_id}> {code(job.target)} ended *{escape(status)}*"
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
    return Message(text=f"Signicat Mint digest: {len(problems)} problems", blocks=blocks)
