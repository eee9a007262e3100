"""``/mindstamp`` text → a request, validated before anything talks to Mindstamp."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.mindstamp import validate_id
from handlers.common.commands import Help
from handlers.common.digest import USAGE_LINE, DigestCommand, parse_digest
from handlers.common.held import holdable
from handlers.common.text import UsageError, normalize, split_args

USAGE = f"""*Mindstamp* — how your interactive videos are doing
• `/mindstamp summary [week|month]` — the account's figures for the period
• `/mindstamp videos` — your videos (title, duration, link, created), a page at a time
• `/mindstamp video VIDEO_ID` — one video with its views and interactions
• `/mindstamp digest …` — views, change since the last digest and top videos, posted \
here on a schedule: {USAGE_LINE}
• `/mindstamp help` — this message"""

PERIODS = ("week", "month")


@holdable
@dataclass(frozen=True)
class SummaryRequest:
    period: str = "week"


@holdable
@dataclass(frozen=True)
class VideosRequest:
    offset: int = 0


@holdable
@dataclass(frozen=True)
class VideoRequest:
    video_id: str


@holdable
@dataclass(frozen=True)
class DigestRequest:
    command: DigestCommand


def action(request) -> tuple[str, str | None]:
    """The request as the access policy sees it: (subcommand, target)."""
    if isinstance(request, SummaryRequest):
        return "summary", None
    if isinstance(request, VideosRequest):
        return "videos", None
    if isinstance(request, VideoRequest):
        return "video", request.video_id
    return "digest", None


def parse(text: str | None):
    args = split_args(normalize(text))
    if not args or args[0].lower() in ("help", "-h", "--help"):
        return Help()
    sub, rest = args[0].lower(), args[1:]
    if sub == "summary":
        if len(rest) > 1 or (rest and rest[0].lower() not in PERIODS):
            raise UsageError("`/mindstamp summary` takes `week` or `month`.")
        return SummaryRequest(rest[0].lower() if rest else "week")
    if sub == "videos":
        if rest:
            raise UsageError("`/mindstamp videos` takes nothing more; use More to page.")
        return VideosRequest()
    if sub == "video":
        if len(rest) != 1:
            raise UsageError("`/mindstamp video` takes exactly one video id.")
        try:
            return VideoRequest(validate_id(rest[0]))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if sub == "digest":
        return DigestRequest(parse_digest(rest))
    shown = sub[:40].replace("`", "'")
    raise UsageError(f"Unknown subcommand `{shown}`.")
