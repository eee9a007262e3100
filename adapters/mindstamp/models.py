"""Mindstamp's answers as typed values, and the ids a user may type for them.

The document promises little: "A JSON object field that does not have data will come back
as null. Your application should not assume that any field is populated." So every field
here is optional, ``null`` is an ordinary value, unknown fields are kept (``extra``), and a
value of an unexpected type reads as ``None`` instead of making the whole object unreadable.
Mindstamp's own spellings (``created_at``, ``createdAt``, ``created`` …) are all accepted.

The summary objects are undocumented: ``Summary`` keeps every field it is given and
``numeric_fields`` lists the numeric ones with a readable name made from the key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from adapters.base import shorten
from adapters.timestamps import parse_time

Period = Literal["week", "month"]
PERIODS: tuple[Period, ...] = ("week", "month")
# A views summary's period: "all" is the overall summary (``/views/summary``).
SummaryPeriod = Literal["all", "week", "month"]
# The field names a summary's total views may go by (it is undocumented), compared
# without case, spaces, "_" or "-"; the first one present is the total.
VIEWS_FIELDS = ("totalviews", "views", "viewcount", "viewscount", "total")

# Paging: "The default limit is 25, but can be set to retrieve up to 100 results."
DEFAULT_LIMIT = 25
MAX_LIMIT = 100

MAX_ID = 128
# Tokens (``KMxPjRVlrPnH``), UUIDs and numbers; never `/`, `.` or anything that changes a path.
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_ID - 1}}}")

T = TypeVar("T")


def _choices(*names: str) -> Any:
    return Field(None, validation_alias=AliasChoices(*names))


class MindstampModel(BaseModel):
    """Base of every answer: extra fields kept, nulls normal, odd values read as None."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @field_validator("*", mode="wrap")
    @classmethod
    def _lenient(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if value is None:
            return None
        try:
            return handler(value)
        except ValidationError:
            return None

    @field_validator(
        "id",
        "token",
        "video_id",
        "viewer_id",
        "view_id",
        mode="before",
        check_fields=False,
    )
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("created_at", mode="before", check_fields=False)
    @classmethod
    def _created(cls, value: Any) -> datetime | None:
        return parse_time(value)

    def as_dict(self) -> dict[str, Any]:
        """Every field, known and extra, JSON-serialisable."""
        return self.model_dump(mode="json")


class Video(MindstampModel):
    """A video. ``token`` (``KMxPjRVlrPnH``) is what the document puts in URLs."""

    id: str | None = None
    token: str | None = None
    title: str | None = _choices("title", "name")
    message: str | None = None
    duration: float | None = None  # seconds
    link: str | None = _choices("link", "url", "watch_url")
    thumbnail: str | None = None
    created_at: datetime | None = _choices("created_at", "created", "createdAt")

    @property
    def key(self) -> str | None:
        """The id to ask Mindstamp for this video by: its token, else its id."""
        return self.token or self.id

    @property
    def name(self) -> str:
        return self.title or self.key or "Untitled video"

    @property
    def url(self) -> str | None:
        return self.link

    @property
    def created(self) -> datetime | None:
        return self.created_at


def _video_ref(data: Any) -> Any:
    """Fill ``video_id`` from a nested ``video`` (token, id or object) when it is missing."""
    if not isinstance(data, dict):
        return data
    names = ("video_id", "videoId", "video_token", "videoToken")
    if any(data.get(name) is not None for name in names):
        return data
    video = data.get("video")
    if isinstance(video, str | int) and not isinstance(video, bool):
        return {**data, "video_id": str(video), "video": None}
    if isinstance(video, dict):
        ref = video.get("token") or video.get("id")
        if isinstance(ref, str | int) and not isinstance(ref, bool):
            return {**data, "video_id": str(ref)}
    return data


class _VideoLinked(MindstampModel):
    """An object that names its video as ``video_id`` or as a nested ``video``."""

    @model_validator(mode="before")
    @classmethod
    def _video_ref(cls, data: Any) -> Any:
        return _video_ref(data)


class View(_VideoLinked):
    """One viewing of a video."""

    id: str | None = None
    token: str | None = None
    video_id: str | None = _choices("video_id", "videoId", "video_token", "videoToken")
    video: Video | None = None
    viewer_id: str | None = _choices("viewer_id", "viewerId")
    created_at: datetime | None = _choices("created_at", "created", "createdAt")
    watch_time: float | None = _choices("watch_time", "watchTime", "seconds_watched")
    duration: float | None = None


class Interaction(_VideoLinked):
    """A viewer's interaction with a video (a question answered, a button clicked, …)."""

    id: str | None = None
    token: str | None = None
    type: str | None = _choices("type", "kind")
    title: str | None = _choices("title", "prompt", "question", "text")
    video_id: str | None = _choices("video_id", "videoId", "video_token", "videoToken")
    view_id: str | None = _choices("view_id", "viewId")
    viewer_id: str | None = _choices("viewer_id", "viewerId")
    time: float | None = None  # position in the video, seconds
    response: Any = None
    created_at: datetime | None = _choices("created_at", "created", "createdAt")


class User(MindstampModel):
    """The account the token belongs to (``/user/me``)."""

    id: str | None = None
    name: str | None = None
    email: str | None = None
    company: str | None = _choices("company", "organization")
    created_at: datetime | None = _choices("created_at", "created", "createdAt")


class Summary(MindstampModel):
    """An undocumented summary object: every field kept as Mindstamp sent it."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint. ``total`` only when Mindstamp said how many there are."""

    items: list[T]
    offset: int
    limit: int
    total: int | None = None

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.items)

    @property
    def has_more(self) -> bool:
        if not self.items:
            return False
        if self.total is not None:
            return self.next_offset < self.total
        return len(self.items) >= self.limit


@dataclass(frozen=True)
class VideoCount:
    """How often a video was viewed in a period; ``video`` when its details could be read."""

    video_id: str
    views: int
    video: Video | None = None

    @property
    def name(self) -> str:
        return self.video.name if self.video is not None else self.video_id


@dataclass(frozen=True)
class TopVideos:
    """The most viewed videos of a period, counted from the views Mindstamp lists.

    ``complete`` is false when the count stopped at the client's limit of views to read.
    """

    period: Period
    since: datetime
    videos: list[VideoCount]
    views_counted: int
    views_read: int
    complete: bool


@dataclass(frozen=True)
class Count:
    """How many items a list endpoint holds; ``complete`` false when counting stopped early."""

    total: int
    complete: bool


@dataclass(frozen=True)
class VideoCounts:
    views: Count
    interactions: Count


# -- summaries ---------------------------------------------------------------------------

_WORD_BREAK = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)


def readable_name(key: str) -> str:
    """A field name as words: ``total_views`` → "Total views", ``avgWatchTime`` → "Avg watch
    time", ``viewsLast7Days`` → "Views last 7 days"; acronyms such as ``CTR`` stay upper."""
    spaced = _WORD_BREAK.sub(" ", str(key))
    words = [word for word in re.split(r"[\s_\-.]+", spaced) if word]
    if not words:
        return str(key)
    shown = [word if (word.isupper() and len(word) > 1) else word.lower() for word in words]
    first = shown[0]
    shown[0] = first[0].upper() + first[1:]
    return " ".join(shown)


def _lower_first(name: str) -> str:
    first = name.split(" ", 1)[0]
    return name if first.isupper() and len(first) > 1 else name[0].lower() + name[1:]


def _is_number(value: Any) -> bool:
    # JSON's 1e999 reads as infinity: a figure no card, step output or JSON can hold.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def numeric_fields(summary: Summary | dict[str, Any]) -> list[tuple[str, int | float]]:
    """Every numeric field of a summary as ``(readable name, value)``, in Mindstamp's order.

    Values are exactly as sent (no rounding). Numbers inside a nested object are listed
    as "Parent: child" (``{"byDevice": {"mobile": 3}}`` → "By device: mobile"). Booleans,
    texts, nulls, lists and numbers beyond range (``1e999``) are not numbers and are left
    out.
    """
    data = summary.as_dict() if isinstance(summary, Summary) else summary
    found: list[tuple[str, int | float]] = []

    def walk(prefix: str, obj: dict[str, Any], depth: int) -> None:
        for key, value in obj.items():
            name = f"{prefix}: {_lower_first(readable_name(key))}" if prefix else readable_name(key)
            if _is_number(value):
                found.append((name, value))
            elif isinstance(value, dict) and depth < 3:
                walk(name, value, depth + 1)

    if isinstance(data, dict):
        walk("", data, 0)
    return found


def numeric_values(summary: Summary | dict[str, Any]) -> dict[str, int | float]:
    """Every numeric field of a summary under its own name, values exactly as sent; a
    number in a nested object as "parent.child" (the fields ``numeric_fields`` shows)."""
    data = summary.as_dict() if isinstance(summary, Summary) else summary
    found: dict[str, int | float] = {}

    def walk(prefix: str, obj: dict[str, Any], depth: int) -> None:
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if _is_number(value):
                found[name] = value
            elif isinstance(value, dict) and depth < 3:
                walk(name, value, depth + 1)

    if isinstance(data, dict):
        walk("", data, 0)
    return found


def total_views(summary: Summary | dict[str, Any]) -> int:
    """The summary's total views: its first top-level number named as in VIEWS_FIELDS,
    or 0 when it has none (a count beyond range is none)."""
    data = summary.as_dict() if isinstance(summary, Summary) else summary
    numbers = {
        re.sub(r"[\s_\-]", "", str(key)).lower(): value
        for key, value in (data.items() if isinstance(data, dict) else ())
        if _is_number(value)
    }
    for name in VIEWS_FIELDS:
        if name in numbers:
            return int(numbers[name])
    return 0


# -- what users type ---------------------------------------------------------------------


def validate_id(text: object, what: str = "video") -> str:
    """The id when it is one (letters, digits, `_`, `-`; 1 to 128); else ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if isinstance(text, str) and _ID.fullmatch(text.strip()):
        return text.strip()
    raise ValueError(
        f"`{shorten(text)}` is not a Mindstamp {what} id: use 1 to {MAX_ID} letters, "
        "digits, `_` or `-` (e.g. `KMxPjRVlrPnH`)."
    )


def validate_period(period: object) -> Period:
    for known in PERIODS:
        if period == known:
            return known
    raise ValueError(f"The period is `week` or `month`, not `{shorten(period)}`.")
