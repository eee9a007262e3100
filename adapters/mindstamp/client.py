"""Mindstamp's REST API, the part the product reads: the account, view summaries, videos
with their views and interactions, and the week's most viewed videos.

Every URL is the configured base URL (``MINDSTAMP_URL``, ``…/api/v1``) plus a fixed path
from the document's endpoint table and validated ids, so nothing a user types can change
the path. Every request carries ``Authorization: Bearer <MINDSTAMP_TOKEN>``. Every failure
is a VendorError; bad arguments are ValueError raised before anything is sent. Every call
is a read (GET).

Where the document is silent, these are our choices:

- Rate limits. Every attempt first takes a slot from the ``RateLimiter`` it is given (100
  a minute and 1,000 an hour, the document's numbers): the wiring builds one per process
  (bot/wiring/vendors.py), so they hold for the whole app. A slot more than 10 s away is
  VendorRateLimited at once, never tried again. The slot is taken on behalf of the caller
  set with ``acting_for`` (None: background work): one caller gets at most a share of the
  budget and a reserve is kept for background work (see ``ratelimit.py``).
- 503 is Mindstamp's "Rate Limit Exceeded" (429 is read the same). Every call is a read,
  so it is tried again as adapters/retries.py tries reads (``RETRIES``: up to 3 more
  times, also after a transport failure, 502 or 504), waiting as ``Retry-After`` says when
  it is there, up to 10 s (a longer one is reported at once), else about 1, 2, 4 s. Still
  503: VendorRateLimited "Mindstamp's rate limit is reached; try again in N s", N from
  Retry-After, or 60 s (the minute window) when Mindstamp gave none.
- Other errors: 401/403 VendorAuthError, 404 VendorNotFound, other 4xx (422 …)
  VendorRejected with Mindstamp's message (``message``/``error``/``errors``/``detail`` of
  a JSON body, or short plain text), other 5xx and transport VendorUnavailable, a 2xx we
  cannot read VendorResponseInvalid.
- Answers. A list endpoint may answer a JSON array or an object holding it under
  ``data``, ``items``, the resource's name (``videos``, ``views`` …) or as its only array;
  ``total``/``count`` there is read as the number of items. A single object may come bare
  (the document's example) or under ``data`` or its own name (``video``).
- Paging: ``limit`` 1..100 (default 25) and ``offset`` ≥ 0 as query parameters.
  Counting asks for pages of 100 and stops at an empty or short page, or takes ``total``.
- Paths are the table's, relative to the base URL: ``/user/me``, ``/views/summary[/week|
  /month]``, ``/views``, ``/videos``, ``/videos/{id}`` and its ``/views`` and
  ``/interactions``.
- Summaries: ``summary()`` reads ``/views/summary``, ``summary("week")`` the past seven
  days, ``summary("month")`` the current month. An array answer is kept as ``count``
  (its length) and ``items``.
- ``top_videos`` has no endpoint: it counts the views ``/views`` lists (reading about
  ``max_views``, in pages of 100) whose ``created_at`` falls in the period (the last 7
  days, or since the 1st of this month, UTC); views without a date are not counted.
- ``ping`` reads ``/user/me``: authenticated, cheap, changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from adapters.base import VendorClient
from adapters.errors import VendorError, VendorNotFound, VendorRejected, VendorResponseInvalid
from adapters.http import invalid_response
from adapters.mindstamp.models import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Count,
    Interaction,
    Page,
    Period,
    Summary,
    SummaryPeriod,
    TopVideos,
    User,
    Video,
    VideoCount,
    VideoCounts,
    View,
    validate_id,
    validate_period,
)
from adapters.mindstamp.ratelimit import RateLimiter, current_caller, rate_limited
from adapters.retries import Retries, retry_after

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

VENDOR = "Mindstamp"
DEFAULT_URL = "https://api.mindstamp.com/api/v1"
RATE_LIMIT_CODES = frozenset({503, 429})
# Three more tries after 1, 2 and 4 s: Mindstamp's 503 is its rate limit, which eases.
RETRIES = Retries(attempts=4, backoff=1.0, max_wait=10.0)
# Said when Mindstamp's 503 has no Retry-After: its shorter window is a minute.
UNKNOWN_RETRY_AFTER_S = 60.0
MAX_COUNT = 10_000
MAX_TOP_VIEWS = 2_000

Fetch = Callable[..., Awaitable[Page[T]]]


class MindstampClient(VendorClient):
    """Talks to Mindstamp through a shared ``httpx.AsyncClient`` (no base_url on it), each
    call waiting on ``limiter``: give every client of one account the same one."""

    vendor = VENDOR
    base_url_name = "The Mindstamp URL"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_URL,
        token: str,
        limiter: RateLimiter,
        retries: Retries = RETRIES,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("Mindstamp needs a bearer token (MINDSTAMP_TOKEN)")
        if any(ch < " " or ch == "\x7f" for ch in token):
            raise ValueError("The Mindstamp token must not contain control characters")
        super().__init__(http, base_url=base_url, retries=retries)
        self._token = token.strip()
        self.limiter = limiter

    # -- account and summaries ----------------------------------------------------------

    async def user(self) -> User:
        """The account the token belongs to."""
        return await self._get_one("/user/me", User, ("user", "me"))

    async def ping(self) -> User:
        """Prove Mindstamp answers and takes our token (for ``chatops check``)."""
        return await self.user()

    async def summary(self, period: SummaryPeriod | None = None) -> Summary:
        """The views summary: overall (``all`` or None), the past seven days (``week``) or
        this month."""
        overall = period is None or period == "all"
        path = "/views/summary" if overall else f"/views/summary/{validate_period(period)}"
        response = await self._get(path)
        document = self._document(response)
        if isinstance(document, list):
            return Summary.model_validate({"count": len(document), "items": document})
        data = _unwrap(document, ("data", "summary"))
        if not isinstance(data, dict):
            raise _invalid(response, "the summary is not a JSON object")
        return Summary.model_validate(data)

    # -- videos -------------------------------------------------------------------------

    async def videos(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[Video]:
        return await self._page("/videos", Video, ("videos",), offset, limit)

    async def video(self, video_id: str) -> Video:
        return await self._get_one(_path("videos", video_id, "video"), Video, ("video",))

    async def video_views(
        self, video_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[View]:
        path = _path("videos", video_id, "video", "views")
        return await self._page(path, View, ("views",), offset, limit)

    async def video_interactions(
        self, video_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Interaction]:
        path = _path("videos", video_id, "video", "interactions")
        return await self._page(path, Interaction, ("interactions",), offset, limit)

    # -- views --------------------------------------------------------------------------

    async def views(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[View]:
        return await self._page("/views", View, ("views",), offset, limit)

    # -- counting -----------------------------------------------------------------------

    async def count(self, fetch: Fetch[Any], *args: Any, max_items: int = MAX_COUNT) -> Count:
        """How many items a list endpoint holds: its ``total`` when Mindstamp gives one (one
        call), else counted page by page up to ``max_items``."""
        first = await fetch(*args, offset=0, limit=MAX_LIMIT)
        if first.total is not None:
            return Count(first.total, True)
        if not first.has_more:
            return Count(len(first.items), True)
        total = len(first.items)
        offset = first.next_offset
        while total < max_items:
            page = await fetch(*args, offset=offset, limit=MAX_LIMIT)
            total += len(page.items)
            if not page.has_more:
                return Count(total, True)
            offset = page.next_offset
        return Count(total, False)

    async def video_counts(self, video_id: str, *, max_items: int = MAX_COUNT) -> VideoCounts:
        """How many views and interactions a video has."""
        video_id = validate_id(video_id, "video")
        views = await self.count(self.video_views, video_id, max_items=max_items)
        interactions = await self.count(self.video_interactions, video_id, max_items=max_items)
        return VideoCounts(views=views, interactions=interactions)

    async def top_videos(
        self,
        period: Period,
        n: int = 5,
        *,
        max_views: int = MAX_TOP_VIEWS,
        now: datetime | None = None,
    ) -> TopVideos:
        """The ``n`` most viewed videos of the past week or this month, counted from views.

        Reads pages of 100 views until there are no more or ``max_views`` were read
        (``complete`` says whether that was all of them), then each top video's details (a
        video that cannot be read is listed by its id alone).
        """
        validate_period(period)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_LIMIT:
            raise ValueError(f"n is a whole number from 1 to {MAX_LIMIT}")
        since = period_start(period, now)
        counts: Counter[str] = Counter()
        known: dict[str, Video] = {}
        read, offset, complete = 0, 0, True
        while True:
            page = await self.views(offset=offset, limit=MAX_LIMIT)
            read += len(page.items)
            for view in page.items:
                if view.video_id and view.created_at is not None and view.created_at >= since:
                    counts[view.video_id] += 1
                    if view.video is not None and view.video.title:
                        known.setdefault(view.video_id, view.video)
            if not page.has_more:
                break
            if read >= max_views:
                complete = False
                break
            offset = page.next_offset
        top: list[VideoCount] = []
        for video_id, views in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]:
            video = known.get(video_id)
            if video is None:
                try:
                    video = await self.video(video_id)
                except (ValueError, VendorNotFound, VendorRejected, VendorResponseInvalid):
                    video = None  # listed by its id alone
            top.append(VideoCount(video_id, views, video))
        return TopVideos(
            period=period,
            since=since,
            videos=top,
            views_counted=sum(counts.values()),
            views_read=read,
            complete=complete,
        )

    # -- plumbing -----------------------------------------------------------------------

    async def _get_one(self, path: str, model: type[M], names: tuple[str, ...]) -> M:
        response = await self._get(path)
        data = _unwrap(self._document(response), ("data", *names))
        return _model(response, model, data)

    async def _page(
        self,
        path: str,
        model: type[M],
        names: tuple[str, ...],
        offset: int,
        limit: int,
    ) -> Page[M]:
        params = {"offset": str(_offset(offset)), "limit": str(_limit(limit))}
        response = await self._get(path, params=params)
        items, total = _list(response, self._document(response), names)
        parsed = [_model(response, model, item) for item in items if item is not None]
        return Page(parsed, offset, limit, total)

    async def _get(self, path: str, *, params: dict[str, str] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"}
        return await self._send("GET", path, params=params, headers=headers)

    async def _turn(self) -> None:
        await self.limiter.acquire(current_caller())

    def _error(self, response: httpx.Response) -> VendorError:
        if response.status_code not in RATE_LIMIT_CODES:
            return super()._error(response)
        wait = retry_after(response)
        return rate_limited(
            UNKNOWN_RETRY_AFTER_S if wait is None else wait,
            request=response.request,
            response=response,
        )

    def _secrets(self) -> Iterable[str]:
        return (self._token,)


def period_start(period: Period, now: datetime | None = None) -> datetime:
    """Where a period starts: seven days ago (``week``) or the 1st of this month, UTC."""
    validate_period(period)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if period == "week":
        return now - timedelta(days=7)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


# -- arguments ---------------------------------------------------------------------------


def _path(resource: str, item_id: str, what: str, *rest: str) -> str:
    segment = quote(validate_id(item_id, what), safe="")
    return "/".join(("", resource, segment, *rest))


def _offset(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("offset is a whole number, at least 0")
    return value


def _limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"limit is a whole number from 1 to {MAX_LIMIT}")
    return value


# -- answers -----------------------------------------------------------------------------

_LIST_KEYS = ("data", "items")
_TOTAL_KEYS = ("total", "count", "totalCount", "total_count")


def _unwrap(document: Any, names: tuple[str, ...]) -> Any:
    """A bare object as it is; an object held under ``data`` or its own name, unwrapped."""
    if isinstance(document, dict) and not ({"id", "token"} & document.keys()):
        for name in names:
            if isinstance(document.get(name), dict):
                return document[name]
    return document


def _list(
    response: httpx.Response, document: Any, names: tuple[str, ...]
) -> tuple[list, int | None]:
    """The items of a list answer and, when given, how many there are in all."""
    if isinstance(document, list):
        return document, None
    if isinstance(document, dict):
        items: Any = None
        for key in (*_LIST_KEYS, *names):
            if isinstance(document.get(key), list):
                items = document[key]
                break
        else:
            arrays = [value for value in document.values() if isinstance(value, list)]
            if len(arrays) == 1:
                items = arrays[0]
        if items is not None:
            total = None
            for key in _TOTAL_KEYS:
                value = document.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    total = value
                    break
            return items, total
    raise _invalid(response, f"no list of {names[0]}")


def _model(response: httpx.Response, model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise _invalid(response, f"a {model.__name__.lower()} that is not a JSON object")
    return model.model_validate(data)


def _invalid(response: httpx.Response, why: str) -> VendorResponseInvalid:
    return invalid_response(VENDOR, response, why)
