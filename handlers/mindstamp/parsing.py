"""``/mindstamp`` text → a request, validated before anything talks to Mindstamp."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.base import shorten
from adapters.mindstamp import SummaryPeriod, validate_id
from handlers.common.commands import Help
from handlers.common.digest import DigestCommand, parse_digest
from handlers.common.held import holdable
from handlers.common.text import UsageError, normalize, one_of, split_args

# What `/mindstamp summary` may be asked for; without one it is the overall summary.
PERIODS: tuple[SummaryPeriod, ...] = ("week", "month")
SUMMARY_TAKES = "`/mindstamp summary` takes `week`, `month` or nothing (overall)."


@holdable
@dataclass(frozen=True)
class SummaryRequest:
    period: SummaryPeriod = "all"


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


def policy_view(request) -> tuple[str, str | None]:
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
        if len(rest) > 1:
            raise UsageError(SUMMARY_TAKES)
        return SummaryRequest(summary_period(rest[0]) if rest else "all")
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


def summary_period(word: str) -> SummaryPeriod:
    """The period ``/mindstamp summary`` is asked for, as the command reads it (a Workflow
    Builder step's Period too)."""
    period = one_of(word.lower(), PERIODS)
    if period is None:
        raise UsageError(f"`{shorten(word)}` is no period: {SUMMARY_TAKES}")
    return period
