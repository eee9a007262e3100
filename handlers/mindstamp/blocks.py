"""Pure functions: Mindstamp figures and videos → Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeGuard

from adapters.mindstamp import Video, VideoCount
from bot.messages import Message
from handlers.common import blocks as kit
from handlers.common.text import clip, code, duration, escape, link

MORE = "mindstamp_more"
SHOW = "mindstamp_video"
PAGE = 10
# Slack allows 50 blocks a message: at most 20 sections of 10 figures, the rest counted.
MAX_FIGURES = 200


def _number(value: Any) -> str:
    """A figure exactly as Mindstamp sent it (the contract: values verbatim)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(value)
    return repr(value)


def _change(value: int | float, before: int | float) -> str:
    """`(:arrow_up: 3)`; float noise from the subtraction (0.1 + 0.2) is rounded away."""
    delta = value - before
    if isinstance(delta, float):
        delta = round(delta, 6)
    if not delta:
        return "(± 0)"
    arrow = ":arrow_up:" if delta > 0 else ":arrow_down:"
    return f"({arrow} {_number(abs(delta))})"


def figures(title: str, numbers: list[tuple[str, Any]], previous: dict[str, Any] | None = None):
    """Name/value pairs as fields (10 per section), with the change since ``previous``."""
    blocks: list[dict[str, Any]] = [kit.section(title)]
    if not numbers:
        blocks.append(kit.context("Mindstamp gave no figures for this period."))
    fields = []
    for name, value in numbers[:MAX_FIGURES]:
        text = f"*{escape(name)}*\n{_number(value)}"
        before = (previous or {}).get(name)
        if _is_number(before) and _is_number(value):
            text += f"  {_change(value, before)}"
        fields.append({"type": "mrkdwn", "text": clip(text, 2000)})
    for start in range(0, len(fields), 10):
        blocks.append({"type": "section", "fields": fields[start : start + 10]})
    if len(numbers) > MAX_FIGURES:
        blocks.append(kit.context(f"…and {len(numbers) - MAX_FIGURES} more figures."))
    return blocks


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def period_name(period: str) -> str:
    """What ``summary(period)`` covers: all time, the past seven days, or the month so far."""
    if period == "all":
        return "all time"
    return "the past 7 days" if period == "week" else f"this {period}"


def summary(period: str, numbers: list[tuple[str, Any]]) -> Message:
    blocks = figures(f":bar_chart: *Mindstamp — {escape(period_name(period))}*", numbers)
    return Message(text=f"Mindstamp summary for {period_name(period)}", blocks=blocks)


def video_line(video: Video) -> str:
    title = link(video.url, video.name) if video.url else escape(video.name)
    parts = [f"*{title}*"]
    if video.duration is not None:
        parts.append(duration(float(video.duration)))
    if video.created is not None:
        parts.append(f"created {video.created.astimezone(UTC):%Y-%m-%d}")
    return " · ".join(parts)


def videos(page: list[Video], *, offset: int, has_more: bool) -> Message:
    title = ":film_frames: *Mindstamp videos*" + (f" (from #{offset + 1})" if offset else "")
    blocks: list[dict[str, Any]] = [kit.section(title)]
    if not page:
        blocks.append(kit.context("No videos." if not offset else "No more videos."))
    # Mindstamp may answer more than the PAGE asked for, and Slack takes 50 blocks: the
    # rest is the next page, which More asks for from offset + PAGE.
    has_more = has_more or len(page) > PAGE
    for video in page[:PAGE]:
        section = kit.section(video_line(video))
        if video.key:
            section["accessory"] = kit.button("Details", SHOW, video.key)
        blocks.append(section)
    if has_more:
        value = json.dumps({"o": offset + PAGE})
        blocks.append({"type": "actions", "elements": [kit.button("More", MORE, value)]})
    return Message(text="Mindstamp videos", blocks=blocks)


def video(item: Video, views: Any, interactions: Any) -> Message:
    def count(c: Any) -> str:
        return f"{c.total:,}" + ("" if c.complete else "+")

    fields = [
        f"*Views*\n{count(views)}",
        f"*Interactions*\n{count(interactions)}",
        f"*Duration*\n{duration(float(item.duration)) if item.duration is not None else '—'}",
        f"*Created*\n{item.created.astimezone(UTC):%Y-%m-%d}" if item.created else "*Created*\n—",
    ]
    blocks = [
        kit.section(f":film_frames: {video_line(item)}"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if item.key:
        blocks.append(kit.context(f"id {code(item.key)}"))
    # The fallback text is mrkdwn too (notifications, clients without blocks).
    return Message(text=clip(f"Mindstamp video {escape(item.name)}", 3000), blocks=blocks)


def digest(
    numbers: list[tuple[str, Any]],
    previous: dict[str, Any] | None,
    top: list[VideoCount],
    *,
    since: float,
) -> Message:
    when = datetime.fromtimestamp(since, UTC)
    title = ":newspaper: *Mindstamp digest* — views in the past 7 days"
    blocks = figures(title, numbers, previous)
    if previous is None:
        blocks.append(kit.context("The first digest here: the next one shows the change."))
    else:
        blocks.append(kit.context(f"Change since the last digest ({when:%Y-%m-%d %H:%M} UTC)."))
    if top:
        lines = [
            f"{rank}. {escape(entry.name)} — {entry.views:,} view{'s' if entry.views != 1 else ''}"
            for rank, entry in enumerate(top, 1)
        ]
        blocks.append(kit.section("*Top videos of the past 7 days*\n" + "\n".join(lines)))
    return Message(text="Mindstamp digest", blocks=blocks)
