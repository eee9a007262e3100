"""Mindstamp's REST API: videos, views, viewers, interactions, summaries; groups, series,
P-Links and access lists.

Every URL is the configured base URL (``MINDSTAMP_URL``, ``…/api/v1``) plus a fixed path
from the document's endpoint table and validated ids, so nothing a user types can change
the path. Every request carries ``Authorization: Bearer <MINDSTAMP_TOKEN>``. Every failure
is a VendorError; bad arguments are ValueError raised before anything is sent.

Where the document is silent, these are our choices:

- Rate limits. Every call first takes a slot from a ``RateLimiter`` (100 a minute and
  1,000 an hour, the document's numbers), shared by every client in the process; a slot
  more than 10 s away is VendorRateLimited at once. The slot is taken on behalf of the
  caller set with ``acting_for`` (None: background work): one caller gets at most a share
  of the budget and a reserve is kept for background work (see ``ratelimit.py``).
- 503 is Mindstamp's "Rate Limit Exceeded" (429 is read the same). A read (GET) is tried
  again up to ``retries`` times (3), waiting as ``Retry-After`` says when it is there and
  at most ``max_retry_wait`` (10 s; a longer Retry-After is reported at once), else
  1, 2, 4 s (times ``backoff``) with a little jitter. A write is never repeated: it may have
  been done. Still 503: VendorRateLimited "Mindstamp's rate limit is reached; try again in
  N s", N from Retry-After, or 60 s (the minute window) when Mindstamp gave none.
- Other errors: 401/403 VendorAuthError, 404 VendorNotFound, other 4xx (422 …)
  VendorRejected with Mindstamp's message (``message``/``error``/``errors``/``detail`` of
  a JSON body, or short plain text), other 5xx and transport VendorUnavailable, a 2xx we
  cannot read VendorResponseInvalid.
- Answers. A list endpoint may answer a JSON array or an object holding it under
  ``data``, ``items``, the resource's name (``videos``, ``plinks`` …) or as its only array;
  ``total``/``count`` there is read as the number of items. A single object may come bare
  (the document's example) or under ``data`` or its own name (``video``).
- Paging: ``limit`` 1..100 (default 25) and ``offset`` ≥ 0 as query parameters.
  Iterators ask for pages of 100 and stop at an empty or short page, or at ``total``.
- Paths are the table's, relative to the base URL. The table's "Invite a user to a group"
  row names ``/series/:id/invite`` (the series row's path), so no group invite is offered.
  Create P-Link posts to ``/plink/`` as written.
- Bodies (undocumented): create group/series/access list ``{"name"}`` (+ ``description``);
  addVideo ``{"video_id"}``; invite ``{"email"}``; create P-Link ``{"video_id", "name",
  "email"}`` (the last two when given); P-Link status ``{"status"}``; access list entry
  add and delete ``{"email"}`` (DELETE with a JSON body).
- Summaries: ``summary()`` reads ``/views/summary``, ``summary("week")`` the past seven
  days, ``summary("month")`` the current month. An array answer is kept as ``count``
  (its length) and ``items``.
- ``top_videos`` has no endpoint: it counts the views ``/views`` lists (reading about
  ``max_views``, in pages of 100) whose ``created_at`` falls in the period (the last 7
  days, or since the 1st of this month, UTC); views without a date are not counted.
- ``ping`` reads ``/user/me``: authenticated, cheap, changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel

from adapters.errors import VendorNotFound, VendorRejected, VendorResponseInvalid
from adapters.http import (
    error_for_status,
    invalid_response,
    parse_retry_after,
    printable,
    send,
)
from adapters.mindstamp.models import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    AccessList,
    Count,
    Group,
    Interaction,
    InteractionResponse,
    Page,
    Period,
    PLink,
    Series,
    Summary,
    TopVideos,
    User,
    Video,
    VideoCount,
    VideoCounts,
    View,
    Viewer,
    validate_email,
    validate_id,
    validate_period,
)
from adapters.mindstamp.ratelimit import (
    DEFAULT_LIMITER,
    RateLimiter,
    current_caller,
    rate_limited,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

VENDOR = "Mindstamp"
DEFAULT_URL = "https://api.mindstamp.com/api/v1"
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
RATE_LIMIT_CODES = frozenset({503, 429})
READ_RETRIES = 3
BACKOFF_S = 1.0
MAX_RETRY_WAIT_S = 10.0
# Said when Mindstamp's 503 has no Retry-After: its shorter window is a minute.
UNKNOWN_RETRY_AFTER_S = 60.0
MAX_VENDOR_MESSAGE = 300
MAX_NAME = 200
MAX_STATUS = 40
MAX_COUNT = 10_000
MAX_TOP_VIEWS = 2_000

Fetch = Callable[..., Awaitable[Page[T]]]


class MindstampClient:
    """Talks to Mindstamp through a shared ``httpx.AsyncClient`` (no base_url on it)."""

    vendor = VENDOR

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_URL,
        token: str,
        limiter: RateLimiter | None = None,
        retries: int = READ_RETRIES,
        backoff: float = BACKOFF_S,
        max_retry_wait: float = MAX_RETRY_WAIT_S,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("Mindstamp needs a bearer token (MINDSTAMP_TOKEN)")
        if any(ch < " " or ch == "\x7f" for ch in token):
            raise ValueError("The Mindstamp token must not contain control characters")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("retries is a whole number, at least 0")
        self._http = http
        self.base_url = _check_base_url(base_url)
        self._token = token.strip()
        self.limiter = limiter if limiter is not None else DEFAULT_LIMITER
        self.retries = retries
        self.backoff = float(backoff)
        self.max_retry_wait = float(max_retry_wait)

    def __repr__(self) -> str:
        return f"MindstampClient({self.base_url!r})"

    # -- account and summaries ----------------------------------------------------------

    async def user(self) -> User:
        """The account the token belongs to."""
        return await self._get_one("/user/me", User, ("user", "me"))

    async def ping(self) -> User:
        """Prove Mindstamp answers and takes our token (for ``chatops check``)."""
        return await self.user()

    async def summary(self, period: Period | None = None) -> Summary:
        """The views summary: overall, the past seven days (``week``) or this month."""
        path = "/views/summary" if period is None else f"/views/summary/{validate_period(period)}"
        response = await self._call("GET", path)
        document = _json(response)
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

    async def view(self, view_id: str) -> View:
        return await self._get_one(_path("views", view_id, "view"), View, ("view",))

    async def view_interactions(
        self, view_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Interaction]:
        path = _path("views", view_id, "view", "interactions")
        return await self._page(path, Interaction, ("interactions",), offset, limit)

    # -- interactions -------------------------------------------------------------------

    async def interactions(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[Interaction]:
        return await self._page("/interactions", Interaction, ("interactions",), offset, limit)

    async def interaction(self, interaction_id: str) -> Interaction:
        path = _path("interactions", interaction_id, "interaction")
        return await self._get_one(path, Interaction, ("interaction",))

    async def interaction_responses(
        self, interaction_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[InteractionResponse]:
        path = _path("interactions", interaction_id, "interaction", "responses")
        return await self._page(path, InteractionResponse, ("responses",), offset, limit)

    # -- viewers ------------------------------------------------------------------------

    async def viewers(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[Viewer]:
        return await self._page("/viewers", Viewer, ("viewers",), offset, limit)

    async def viewer(self, viewer_id: str) -> Viewer:
        return await self._get_one(_path("viewers", viewer_id, "viewer"), Viewer, ("viewer",))

    async def viewer_views(
        self, viewer_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[View]:
        path = _path("viewers", viewer_id, "viewer", "views")
        return await self._page(path, View, ("views",), offset, limit)

    async def viewer_interactions(
        self, viewer_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Interaction]:
        path = _path("viewers", viewer_id, "viewer", "interactions")
        return await self._page(path, Interaction, ("interactions",), offset, limit)

    # -- groups -------------------------------------------------------------------------

    async def groups(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[Group]:
        return await self._page("/groups", Group, ("groups",), offset, limit)

    async def group(self, group_id: str) -> Group:
        return await self._get_one(_path("groups", group_id, "group"), Group, ("group",))

    async def group_videos(
        self, group_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Video]:
        path = _path("groups", group_id, "group", "videos")
        return await self._page(path, Video, ("videos",), offset, limit)

    async def group_views(
        self, group_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[View]:
        path = _path("groups", group_id, "group", "views")
        return await self._page(path, View, ("views",), offset, limit)

    async def group_interactions(
        self, group_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Interaction]:
        path = _path("groups", group_id, "group", "interactions")
        return await self._page(path, Interaction, ("interactions",), offset, limit)

    async def create_group(self, name: str, *, description: str | None = None) -> Group:
        """Create a group. Never retried."""
        body = _named(name, description)
        return await self._write("POST", "/groups/create", body, Group, ("group",))

    async def add_video_to_group(self, group_id: str, video_id: str) -> Group:
        path = _path("groups", group_id, "group", "addVideo")
        body = {"video_id": validate_id(video_id, "video")}
        return await self._write("POST", path, body, Group, ("group",))

    # -- series -------------------------------------------------------------------------

    async def series_list(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[Series]:
        return await self._page("/series", Series, ("series",), offset, limit)

    async def series(self, series_id: str) -> Series:
        return await self._get_one(_path("series", series_id, "series"), Series, ("series",))

    async def series_videos(
        self, series_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Video]:
        path = _path("series", series_id, "series", "videos")
        return await self._page(path, Video, ("videos",), offset, limit)

    async def series_views(
        self, series_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[View]:
        path = _path("series", series_id, "series", "views")
        return await self._page(path, View, ("views",), offset, limit)

    async def series_interactions(
        self, series_id: str, offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> Page[Interaction]:
        path = _path("series", series_id, "series", "interactions")
        return await self._page(path, Interaction, ("interactions",), offset, limit)

    async def create_series(self, name: str, *, description: str | None = None) -> Series:
        """Create a series. Never retried."""
        body = _named(name, description)
        return await self._write("POST", "/series/create", body, Series, ("series",))

    async def add_video_to_series(self, series_id: str, video_id: str) -> Series:
        path = _path("series", series_id, "series", "addVideo")
        body = {"video_id": validate_id(video_id, "video")}
        return await self._write("POST", path, body, Series, ("series",))

    async def invite_to_series(self, series_id: str, email: str) -> dict[str, Any]:
        """Invite someone (by email) to a series; Mindstamp's answer as it came."""
        path = _path("series", series_id, "series", "invite")
        body = {"email": validate_email(email)}
        response = await self._call("POST", path, json_body=body)
        return _answer_object(response)

    # -- P-Links ------------------------------------------------------------------------

    async def plinks(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[PLink]:
        return await self._page("/plink", PLink, ("plinks", "plink", "pLinks"), offset, limit)

    async def plink(self, plink_id: str) -> PLink:
        path = _path("plink", plink_id, "P-Link")
        return await self._get_one(path, PLink, ("plink", "pLink"))

    async def create_plink(
        self, video_id: str, *, name: str | None = None, email: str | None = None
    ) -> PLink:
        """Create a P-Link (a personal link) to a video. Never retried."""
        body: dict[str, Any] = {"video_id": validate_id(video_id, "video")}
        if name is not None:
            body["name"] = _text("name", name, MAX_NAME)
        if email is not None:
            body["email"] = validate_email(email)
        return await self._write("POST", "/plink/", body, PLink, ("plink", "pLink"))

    async def update_plink_status(self, plink_id: str, status: str) -> PLink:
        """Set a P-Link's status (e.g. ``active`` or ``inactive``)."""
        path = _path("plink", plink_id, "P-Link")
        body = {"status": _text("status", status, MAX_STATUS)}
        return await self._write("PATCH", path, body, PLink, ("plink", "pLink"))

    # -- access lists -------------------------------------------------------------------

    async def access_lists(self, offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page[AccessList]:
        names = ("accessLists", "access_lists", "lists")
        return await self._page("/accessLists", AccessList, names, offset, limit)

    async def access_list(self, list_id: str) -> AccessList:
        path = _path("accessLists", list_id, "access list")
        return await self._get_one(path, AccessList, ("accessList", "access_list"))

    async def create_access_list(self, name: str) -> AccessList:
        body = _named(name, None)
        names = ("accessList", "access_list")
        return await self._write("POST", "/accessLists/create", body, AccessList, names)

    async def add_access_list_entry(self, list_id: str, email: str) -> AccessList:
        path = _path("accessLists", list_id, "access list", "add")
        body = {"email": validate_email(email)}
        names = ("accessList", "access_list")
        return await self._write("POST", path, body, AccessList, names)

    async def delete_access_list_entry(self, list_id: str, email: str) -> AccessList:
        path = _path("accessLists", list_id, "access list", "delete")
        body = {"email": validate_email(email)}
        names = ("accessList", "access_list")
        return await self._write("DELETE", path, body, AccessList, names)

    # -- walking and counting -----------------------------------------------------------

    async def iterate(
        self,
        fetch: Fetch[T],
        *args: Any,
        page_size: int = MAX_LIMIT,
        max_items: int | None = None,
    ) -> AsyncIterator[T]:
        """Every item of a list endpoint, page by page: ``iterate(client.video_views, id)``.

        Stops at an empty or short page, at the ``total`` Mindstamp gave, or after
        ``max_items``. A server that ignores ``offset`` is VendorResponseInvalid, not a loop.
        """
        _limit(page_size)
        if max_items is not None and (
            isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0
        ):
            raise ValueError("max_items is a whole number, at least 0")
        offset, seen = 0, 0
        previous: list[Any] | None = None
        while max_items is None or seen < max_items:
            page = await fetch(*args, offset=offset, limit=page_size)
            if previous is not None and page.items and page.items == previous:
                raise VendorResponseInvalid(
                    VENDOR, f"{VENDOR} answered the same page again; paging does not advance"
                )
            for item in page.items:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield item
            if not page.has_more:
                return
            previous, offset = page.items, page.next_offset

    def iter_videos(self, **kw: Any) -> AsyncIterator[Video]:
        """``async for video in client.iter_videos(): …`` (pages of 100)."""
        return self.iterate(self.videos, **kw)

    def iter_views(self, **kw: Any) -> AsyncIterator[View]:
        return self.iterate(self.views, **kw)

    def iter_interactions(self, **kw: Any) -> AsyncIterator[Interaction]:
        return self.iterate(self.interactions, **kw)

    def iter_video_views(self, video_id: str, **kw: Any) -> AsyncIterator[View]:
        return self.iterate(self.video_views, validate_id(video_id, "video"), **kw)

    def iter_video_interactions(self, video_id: str, **kw: Any) -> AsyncIterator[Interaction]:
        return self.iterate(self.video_interactions, validate_id(video_id, "video"), **kw)

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
        response = await self._call("GET", path)
        data = _unwrap(_json(response), ("data", *names))
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
        response = await self._call("GET", path, params=params)
        items, total = _list(response, _json(response), names)
        parsed = [_model(response, model, item) for item in items if item is not None]
        return Page(parsed, offset, limit, total)

    async def _write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        model: type[M],
        names: tuple[str, ...],
    ) -> M:
        response = await self._call(method, path, json_body=body)
        if not response.content.strip():
            return model.model_validate({})
        data = _unwrap(_json(response), ("data", *names))
        if not isinstance(data, dict):
            return model.model_validate({"answer": data})
        return _model(response, model, data)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        request = self._http.build_request(
            method,
            self.base_url + path,
            params=params,
            json=json_body,
            headers=headers,
            timeout=timeout,
        )
        retries = self.retries if method == "GET" else 0
        attempt = 0
        while True:
            await self.limiter.acquire(current_caller())
            response = await send(VENDOR, self._http, request)
            log.debug("mindstamp %s %s -> %s", method, path, response.status_code)
            if response.status_code not in RATE_LIMIT_CODES:
                break
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt >= retries or (
                retry_after is not None and retry_after > self.max_retry_wait
            ):
                raise rate_limited(
                    retry_after if retry_after is not None else UNKNOWN_RETRY_AFTER_S,
                    request=response.request,
                    response=response,
                )
            if retry_after is None:
                retry_after = self.backoff * 2**attempt * random.uniform(1.0, 1.2)
            attempt += 1
            log.info(
                "mindstamp: rate limited on %s %s; retry %d in %.2fs",
                method,
                path,
                attempt,
                retry_after,
            )
            await asyncio.sleep(retry_after)
        if not response.is_success:
            raise error_for_status(VENDOR, response, self._vendor_message(response))
        return response

    def _vendor_message(self, response: httpx.Response) -> str | None:
        message = _vendor_message(response)
        # A vendor that echoes what it was sent must not make us show the token.
        if message and self._token in message:
            message = message.replace(self._token, "***")
        return message


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


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ValueError(f"The {name} is a text of 1 to {limit} characters")
    text = value.strip()
    if any(not ch.isprintable() for ch in text):
        raise ValueError(f"The {name} must not contain control characters")
    return text


def _named(name: str, description: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": _text("name", name, MAX_NAME)}
    if description is not None:
        body["description"] = _text("description", description, 2000)
    return body


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(str(base_url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a URL may carry credentials.
        raise ValueError("The Mindstamp URL must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("The Mindstamp URL must not have a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


# -- answers -----------------------------------------------------------------------------

_LIST_KEYS = ("data", "items")
_TOTAL_KEYS = ("total", "count", "totalCount", "total_count")


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        raise _invalid(response, "the answer is not JSON") from exc


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


def _answer_object(response: httpx.Response) -> dict[str, Any]:
    if not response.content.strip():
        return {}
    document = _json(response)
    return document if isinstance(document, dict) else {"answer": document}


def _vendor_message(response: httpx.Response) -> str | None:
    """Mindstamp's explanation of an error answer, when it gave one we can read."""
    text: Any = None
    try:
        document = json.loads(response.content)
    except (ValueError, RecursionError):
        document = None
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in ("", "text/plain"):
            text = response.text
    if isinstance(document, str):
        text = document
    elif isinstance(document, dict):
        for key in ("message", "error", "errors", "detail", "description"):
            value = document.get(key)
            if isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in list(value.items())[:3])
            if isinstance(value, list) and value:
                value = "; ".join(str(item) for item in value[:3])
            if isinstance(value, str) and value.strip():
                text = value
                break
    if not isinstance(text, str) or not text.strip():
        return None
    return printable(text.strip(), MAX_VENDOR_MESSAGE)


def _invalid(response: httpx.Response, why: str) -> VendorResponseInvalid:
    return invalid_response(VENDOR, response, why)
