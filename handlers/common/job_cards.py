"""What every tracked job's card shares: how long the job has run (or took), the modal
that shows its whole output, and Re-run, which starts the job's request again.

A card shows only the buttons that can help in its state: a running job can be refreshed,
an ended one run again, and a cut output opened whole. None of the vendors' documents
has a way to stop a run (Flint runs and fetches results, Mint executes and reads
instances, Stintmint posts and fetches), so no card has a Cancel button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.store.jobs import TIMED_OUT
from bot.tracking import TrackedJob
from handlers.common import blocks as kit
from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import RESTARTING, ephemeral
from handlers.common.text import clip, code_block, duration
from handlers.common.tracked import tracked_job
from handlers.deps import Deps

SECTION = 3000  # characters of a section's text (Slack's limit)
# Sections of text in the output modal: Slack allows 100 blocks in a view, but a view
# this size (about 29,000 characters) is as much as anyone reads in a modal.
MODAL_SECTIONS = 10
MODAL_TITLE = 24  # characters (Slack's limit)


def finished_line(job: TrackedJob) -> str | None:
    """How long an ended job took, in words for the card ("Finished in 3 min 4 s"); None
    while it runs, and for a job that never ran as far as we know (not started, or the
    app restarted before the vendor answered)."""
    if not job.final or job.finished_at is None:
        return None
    took = duration(job.elapsed())
    if job.outcome == TIMED_OUT:
        return f"Stopped following it after {took}"
    if job.ended_without_answer:
        return None
    return f"Finished in {took}"


# -- the output modal ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """Text split into sections for a modal, and how much of the whole they hold."""

    sections: list[str]  # rendered mrkdwn, each within a section's limit
    shown: int  # characters (or lines) of the whole in them
    whole: int


def code_sections(text: str, limit: int = MODAL_SECTIONS) -> Shown:
    """The start of ``text`` as code blocks, each within a section's limit once escaped,
    split at a line end where one is near."""
    sections: list[str] = []
    start = 0
    while start < len(text) and len(sections) < limit:
        size = min(len(text) - start, SECTION - 10)
        while True:
            piece = text[start : start + size]
            if start + size < len(text):
                newline = piece.rfind("\n")
                if newline > size * 0.6:
                    piece = piece[: newline + 1]
            rendered = code_block(piece)
            if len(rendered) <= SECTION or size <= 1:
                break
            size = max(1, size * SECTION // len(rendered) - 1)
        sections.append(rendered)
        start += len(piece)
    return Shown(sections, start, len(text))


def line_sections(lines: list[str], limit: int = MODAL_SECTIONS, *, last: bool = False) -> Shown:
    """Rendered mrkdwn lines packed into sections; ``last`` keeps the latest lines when
    not all fit (a log), else the first (a list)."""
    order = list(reversed(lines)) if last else list(lines)
    packed: list[list[str]] = []
    size = 0
    for line in order:
        line = clip(line, SECTION)
        if packed and size + len(line) + 1 <= SECTION:
            packed[-1].append(line)
            size += len(line) + 1
        elif len(packed) < limit:
            packed.append([line])
            size = len(line)
        else:
            break
    count = sum(len(group) for group in packed)
    if last:
        packed = [list(reversed(group)) for group in reversed(packed)]
    return Shown(["\n".join(group) for group in packed], count, len(lines))


def output_modal(title: str, heading: str, shown: Shown, note: str | None) -> dict[str, Any]:
    """A modal (no submit) showing ``shown``, under ``heading`` (mrkdwn), with ``note``
    saying what was left out and where it is."""
    blocks = [kit.context(heading)]
    blocks += [kit.section(text) for text in shown.sections] or [kit.section("_(empty)_")]
    if note:
        blocks.append(kit.context(note))
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:MODAL_TITLE]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


async def open_modal(x: Interaction, view: dict[str, Any]) -> None:
    """Open ``view`` for the clicker; when Slack will not (the click's trigger expired: it
    lives 3 s), its blocks go beside the card instead, to the clicker alone."""
    try:
        await x.client.views_open(trigger_id=x.trigger, view=view)
    except SlackApiError:
        if not x.response_url:
            raise
        await x.beside(response_type="ephemeral", text=view["title"]["text"], blocks=view["blocks"])


# -- Re-run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Again:
    """A job's request to run again: what the access policy is asked (as the command it
    is), and the request with the command text a confirmation or approval shows."""

    name: str  # "flint run"
    target: str | None
    redo: Redo


# A vertical's start function: (deps, request, *, channel_id, user_id, respond).
Start = Callable[..., Awaitable[None]]


async def rerun(
    deps: Deps,
    x: Interaction,
    *,
    vendor: str,
    stale: str,
    again: Callable[[TrackedJob], Again],
    start: Start,
) -> None:
    """Run the request of the job a Re-run button names once more, as whoever clicked,
    in the job's channel, through the access policy as the command would go."""
    if not deps.work.accepting:
        await x.respond(**ephemeral(RESTARTING))
        return
    job = await tracked_job(deps, x.value, vendor, stale)
    if not x.channel:
        # Clicked on App Home: it runs in the job's channel, so the policy (and any
        # confirmation or approval) is asked for there, as a click on the card would be.
        x = replace(x, channel=job.channel_id)
    what = again(job)
    if not await button_permitted(deps, x, what.name, what.target, redo=what.redo):
        return
    await start(deps, what.redo.request, channel_id=x.channel, user_id=x.user, respond=x.respond)
