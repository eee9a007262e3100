"""App Home's page as Block Kit: pure functions from what the page shows to a ``home``
view. Every text from a user, a vendor or the settings is escaped here; the page keeps
within Slack's 100 blocks however many jobs, digests and vendors there are."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from bot.store.jobs import FAILED, NOT_STARTED, SUCCEEDED, TIMED_OUT, UNKNOWN, TrackedJob
from handlers.common.blocks import button, context, section
from handlers.common.text import clip, code, escape, link

MAX_BLOCKS = 100  # Slack's limit for a view
REFRESH = "chatops_home_refresh"
DIGEST_OFF = "chatops_home_digest_off"
# One action id per quick action (``<prefix><step callback id>``): a block may not hold
# two elements with the same action id.
OPEN_FORM = "chatops_home_form_"

_OUTCOMES = {
    SUCCEEDED: ":white_check_mark: succeeded",
    FAILED: ":x: failed",
    TIMED_OUT: ":hourglass: timed out",
    NOT_STARTED: ":no_entry_sign: not started",
    UNKNOWN: ":grey_question: outcome unknown",
}
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,40}")


@dataclass(frozen=True)
class JobLine:
    job: TrackedJob
    vendor: str  # display name
    permalink: str | None  # the card; None when there is none, or Slack would not say
    rerun: dict[str, Any] | None  # a Re-run button, when the policy allows it


@dataclass(frozen=True)
class DigestLine:
    vendor: str  # display name
    channel_id: str
    schedule: str
    off: str | None  # the Off button's value, when the policy lets the user turn it off


@dataclass(frozen=True)
class VendorLine:
    name: str
    configured: bool
    missing: str  # the variables to set
    partial: str  # what is missing when some are set ("" otherwise)
    problem: str | None = None  # why a configured vendor is not reachable; None: it is


@dataclass(frozen=True)
class QuickAction:
    step: str  # the Workflow Builder step the form is made from (its callback id)
    label: str


@dataclass(frozen=True)
class Page:
    jobs: list[JobLine]
    digests: list[DigestLine]
    more_digests: int  # subscriptions left off the page
    vendors: list[VendorLine]
    actions: list[QuickAction]


def home_view(page: Page, now: float | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        _header("chatops-hub"),
        {
            **section("Your recent jobs, your digests, the vendors and quick actions."),
            "accessory": button("Refresh", REFRESH, "home"),
        },
        _header("Your recent jobs"),
    ]
    blocks += [_job(line) for line in page.jobs] or [
        context("No jobs yet. Start one with a quick action below, or a slash command.")
    ]
    blocks += [{"type": "divider"}, _header("Digests you subscribed")]
    blocks += [_digest(line) for line in page.digests] or [
        context("None yet. `/stomt digest daily` (or another vendor's) subscribes a channel.")
    ]
    if page.more_digests:
        blocks.append(context(f"… and {page.more_digests} more."))
    blocks += [{"type": "divider"}, _header("Vendors")]
    blocks += [_vendor(line) for line in page.vendors]
    blocks += [{"type": "divider"}, _header("Quick actions")]
    buttons = [button(a.label, OPEN_FORM + a.step, a.step) for a in page.actions]
    blocks += [
        {"type": "actions", "elements": buttons[i : i + 25]} for i in range(0, len(buttons), 25)
    ] or [context("None that the access policy lets you run.")]
    updated = context(f"Updated {_when(time.time() if now is None else now)}.")
    if len(blocks) >= MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 2], context("… more than a page can show.")]
    return {"type": "home", "blocks": [*blocks, updated]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _job(line: JobLine) -> dict[str, Any]:
    job = line.job
    state = _OUTCOMES.get(job.outcome or "", "")
    if not job.final:
        state = ":arrows_counterclockwise: running"
        status = (job.vendor_status or "").strip()
        if status and status.lower() != "running":
            state += f" ({escape(status)})"
    parts = [f"*{escape(line.vendor)}* {_target(job)}", state, _when(job.created_at)]
    if line.permalink:
        parts.append(link(line.permalink, "the card"))
    block = section(clip(" · ".join(parts), 3000))
    if line.rerun is not None:
        block["accessory"] = line.rerun
    return block


def _target(job: TrackedJob) -> str:
    """What the job ran: the title it recorded when it started (Mint's flow title: its id
    tells a reader nothing), else its target. Recorded, never looked up here, so the page
    never waits on a vendor."""
    title = (job.params or {}).get("title")
    if isinstance(title, str) and title.strip() and title.strip() != job.target:
        return clip(escape(title.strip()), 200)
    return code(job.target)


def _digest(line: DigestLine) -> dict[str, Any]:
    channel = (
        f"<#{line.channel_id}>" if _CHANNEL_ID.fullmatch(line.channel_id) else code(line.channel_id)
    )
    block = section(f"*{escape(line.vendor)}* in {channel}: {escape(line.schedule)}")
    if line.off is not None:
        block["accessory"] = button("Off", DIGEST_OFF, line.off)
    return block


def _vendor(line: VendorLine) -> dict[str, Any]:
    name = f"*{escape(line.name)}*"
    if not line.configured:
        why = f"{escape(line.partial)}; set" if line.partial else "not configured: set"
        return section(f":white_circle: {name} — {why} {escape(line.missing)}")
    if line.problem is not None:
        return section(f":red_circle: {name} — configured, not reachable: {escape(line.problem)}")
    return section(f":large_green_circle: {name} — configured and reachable")


def _when(at: float) -> str:
    """A moment in the reader's own time zone (Slack's date formatting), with a fallback."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short_pretty}} {{time}}|{fallback}>"
