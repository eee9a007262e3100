"""Pure functions: Mindstamp figures and videos → Block Kit."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from adapters.mindstamp import Video, VideoCount
from bot.messages import Message, Picture
from handlers.common import blocks as kit
from handlers.common import charts
from handlers.common.text import clip, code, duration, escape, link

MORE = "mindstamp_more"
SHOW = "mindstamp_video"
PAGE = 10
# Slack allows 50 blocks a message: at most 20 sections of 10 figures, the rest counted.
MAX_FIGURES = 200
# Mindstamp's summaries are undocumented (CONTRACT.md), so a figure's unit is read from
# the words of its name. Counted things, by the noun naming them (plural → singular):
COUNTED = {
    "views": "view",
    "plays": "play",
    "viewers": "viewer",
    "interactions": "interaction",
    "videos": "video",
    "responses": "response",
    "answers": "answer",
    "clicks": "click",
    "completions": "completion",
    "sessions": "session",
    "impressions": "impression",
    "comments": "comment",
    "shares": "share",
    "users": "user",
    "visitors": "visitor",
}
PERCENT = {"percent", "percentage", "pct"}
FRACTION = {"rate", "ratio"}  # a value between 0 and 1 is a fraction: shown as % too
MINUTES = {"minutes", "mins", "min"}
HOURS = {"hours", "hrs"}
SECONDS = {"seconds", "secs", "time", "duration"}  # watch time, as views' watch_time


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


def _plural(count: int | float, one: str, many: str) -> str:
    return one if count == 1 else many


def with_unit(name: str, value: Any) -> str:
    """A figure verbatim, followed by its unit when its name says one: ``12 views``,
    ``1 view``, ``30.0 s``, ``125 s (2 min 5 s)``, ``12 min``, ``45 %``, ``0.667 (66.7 %)``.
    Nothing is added to a name that says no unit, nor to anything not a number."""
    shown = _number(value)
    if not _is_number(value):
        return shown
    words = re.findall(r"[a-z]+", str(name).lower())
    if "per" in words:  # views per day, …: a ratio of two units, not one
        return shown
    if PERCENT & set(words):
        return f"{shown} %"
    if FRACTION & set(words):
        return f"{shown} ({round(value * 100, 1):g} %)" if 0 <= value <= 1 else shown
    if MINUTES & set(words):
        return f"{shown} min"
    if HOURS & set(words):
        return f"{shown} h"
    if SECONDS & set(words):
        return f"{shown} s" + (f" ({duration(value)})" if value >= 60 else "")
    counted = [word for word in words if word in COUNTED]
    if counted:
        noun = counted[-1]
        return f"{shown} {_plural(value, COUNTED[noun], noun)}"
    return shown


def figures(title: str, numbers: list[tuple[str, Any]], previous: dict[str, Any] | None = None):
    """Name/value pairs as fields (10 per section), with units and the change since
    ``previous``."""
    blocks: list[dict[str, Any]] = [kit.section(title)]
    if not numbers:
        blocks.append(kit.context("Mindstamp gave no figures for this period."))
    fields = []
    for name, value in numbers[:MAX_FIGURES]:
        text = f"*{escape(name)}*\n{with_unit(name, value)}"
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
    def count(c: Any, one: str, many: str) -> str:
        return f"{c.total:,}" + ("" if c.complete else "+") + f" {_plural(c.total, one, many)}"

    fields = [
        f"*Views*\n{count(views, 'view', 'views')}",
        f"*Interactions*\n{count(interactions, 'interaction', 'interactions')}",
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
    history: Sequence[tuple[float, int]] = (),
    timezone: str = "UTC",
    subscribed: bool = True,
) -> Message:
    """``subscribed``: the channel has a subscription, which keeps these figures for the
    next digest to compare with (a `digest now` without one keeps nothing)."""
    when = datetime.fromtimestamp(since, UTC)
    title = ":newspaper: *Mindstamp digest* — views in the past 7 days"
    blocks = figures(title, numbers, previous)
    if not subscribed:
        blocks.append(
            kit.context(
                "No digest is subscribed here, so there is nothing to compare with: "
                "`/mindstamp digest weekly` subscribes this channel."
            )
        )
    elif previous is None:
        blocks.append(kit.context("The first digest here: the next one shows the change."))
    else:
        blocks.append(kit.context(f"Change since the last digest ({when:%Y-%m-%d %H:%M} UTC)."))
    if top:
        lines = [
            f"{rank}. {escape(entry.name)} — {entry.views:,} view{'s' if entry.views != 1 else ''}"
            for rank, entry in enumerate(top, 1)
        ]
        blocks.append(kit.section("*Top videos of the past 7 days*\n" + "\n".join(lines)))
    if not history:
        return Message(text="Mindstamp digest", blocks=blocks)
    trend = views_trend(history)
    blocks.append(kit.context(escape(trend)))
    return Message(
        text=f"Mindstamp digest: {trend}",
        blocks=blocks,
        files=(views_chart(history, ZoneInfo(timezone), trend),),
    )


def views_trend(history: Sequence[tuple[float, int]]) -> str:
    """The sparkline of the last digests' total views, in words too: it is the message's
    picture for clients showing no images, and the chart's alt text."""
    totals = [views for _, views in history]
    if len(totals) == 1:
        return f"Views in the past 7 days at this digest: {totals[0]:,}"
    return (
        f"Views in the past 7 days, last {len(totals)} digests: {charts.sparkline(totals)} "
        + " → ".join(f"{views:,}" for views in totals)
    )


def views_chart(history: Sequence[tuple[float, int]], tz: ZoneInfo, trend: str) -> Picture:
    moments = [datetime.fromtimestamp(when, tz) for when, _ in history]
    same_day = len({m.date() for m in moments}) < len(moments)
    shape = "%d %b\n%H:%M" if same_day else "%d %b"
    points = [(m.strftime(shape), views) for m, (_, views) in zip(moments, history, strict=True)]
    return charts.line_chart(
        "Views in the past 7 days, at each digest",
        points,
        filename="mindstamp-views.png",
        alt_text=trend,
    )
