"""A Mindstamp server faithful to Mindstamp's API document, for the console, development and
tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point
``MINDSTAMP_URL`` at ``http://host:port/mindstamp`` with ``MINDSTAMP_TOKEN`` =
``DEMO_TOKEN``. It serves every endpoint of the document's table (paths relative to the
base URL, which stands for ``https://api.mindstamp.com/api/v1``):

    GET    /views  /views/summary  /views/summary/month  /views/summary/week
    GET    /views/{id}  /views/{id}/interactions
    GET    /interactions  /interactions/{id}  /interactions/{id}/responses
    GET    /videos  /videos/{id}  /videos/{id}/views  /videos/{id}/interactions
    GET    /viewers  /viewers/{id}  /viewers/{id}/views  /viewers/{id}/interactions
    GET    /user/me
    GET    /groups  /groups/{id}  /groups/{id}/videos|views|interactions
    POST   /groups/create {"name"}  /groups/{id}/addVideo {"video_id"}
    GET    /series  /series/{id}  /series/{id}/videos|views|interactions
    POST   /series/create {"name"}  /series/{id}/addVideo {"video_id"}
    POST   /series/{id}/invite {"email"}
    GET    /plink  /plink/{id}      PATCH /plink/{id} {"status"}   POST /plink/ {"video_id", …}
    GET    /accessLists  /accessLists/{id}
    POST   /accessLists/create {"name"}  /accessLists/{id}/add {"email"}
    DELETE /accessLists/{id}/delete {"email"}

As the document says: a Bearer token on every request (else 401); objects whose empty
fields are ``null``; ``limit`` (default 25, up to 100) and ``offset`` paging; 503 when more
than ``per_minute`` calls came in the last minute or ``per_hour`` in the last hour, with a
``Retry-After`` (whole seconds) unless ``retry_after_header=False``. Where it is silent: a
``limit`` over 100 or a malformed one is 422, as is a write missing a field; errors are
``{"status": N, "message": "…"}``; lists are JSON arrays (``list_shape="array"``) or an
object ``{"data"|"items"|<resource name>: [...], "total", "offset", "limit"}``; a video is
found by its token (the id the document uses in URLs) or its uuid; only calls that were
answered (not 401 nor 503) count towards the limits.

The seed: a dozen videos (one with no title, one with no duration and no thumbnail, …),
viewers, about 160 views over the last six weeks with interactions and responses, groups,
series, P-Links and an access list. The summaries are objects with numeric fields
(``total_views``, ``uniqueViewers``, ``avgWatchTime`` …) and others (``period``, dates,
``top_video``, a null ``engagementScore``).

``app.state.calls`` records each answer as it is sent: ``Call(at=time.monotonic(), method,
path, status)``; ``app.state.sandbox`` has the test hooks ``force_503(n, retry_after=…)``,
``count(path, method)`` (calls per route path), ``add_video(…)``/``add_videos(n)``,
``add_view(…)`` and ``reset_rate_limit()``.
"""

from __future__ import annotations

import hmac
import json
import math
import random
import string
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.sandbox_calls import Call, RecordCalls

SANDBOX_PREFIX = "/mindstamp"
DEMO_TOKEN = "mindstamp-sandbox-demo-token"  # noqa: S105 - the sandbox's demo token only
EXAMPLE_VIDEO = "KMxPjRVlrPnH"  # the document's example video
WATCH_BASE = "https://api.mindstamp.com/watch/"
THUMB_BASE = "https://mindstamp-resources.s3-us-west-2.amazonaws.com/thumbs/"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR
PLINK_STATUSES = ("active", "inactive")

ListShape = Literal["array", "data", "items", "named"]
LIST_SHAPES: tuple[str, ...] = ("array", "data", "items", "named")


class ApiError(Exception):
    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


@dataclass
class VideoRecord:
    id: str
    token: str
    title: str | None
    duration: float | None
    created_at: float
    message: str | None = None
    thumbnail: str | None = None


@dataclass
class ViewerRecord:
    id: str
    name: str | None
    email: str | None
    created_at: float


@dataclass
class ViewRecord:
    id: str
    video: str  # token
    viewer_id: str | None
    created_at: float
    watch_time: float | None
    device: str | None


@dataclass
class InteractionRecord:
    id: str
    view_id: str
    video: str
    viewer_id: str | None
    type: str
    title: str | None
    time: float
    created_at: float
    response: Any = None
    correct: bool | None = None


@dataclass
class CollectionRecord:
    """A group or a series."""

    id: str
    name: str
    description: str | None
    created_at: float
    videos: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)


@dataclass
class PLinkRecord:
    id: str
    token: str
    video: str
    name: str | None
    email: str | None
    status: str
    created_at: float


@dataclass
class AccessListRecord:
    id: str
    name: str
    created_at: float
    entries: list[str] = field(default_factory=list)


SEED_VIDEOS: list[tuple[str | None, float | None, int]] = [
    # (title, duration seconds, age in days)
    ("Interactive Video #12", 45, 400),
    ("Welcome to ChatOps Hub", 92, 180),
    ("Onboarding: your first week", 610, 150),
    ("Product tour 2024", 305, 120),
    ("Security awareness training", 1280, 95),
    ("Quarterly all-hands recap", 2710, 60),
    ("How to file an expense report", 148, 45),
    ("Customer success stories", 420, 30),
    ("Sales demo: interactive pricing", 515, 21),
    ("Support escalation playbook", 760, 12),
    (None, 33, 5),  # an untitled draft
    ("Holiday party invitation", None, 2),  # still processing: no duration yet
]
SEED_VIEWERS: list[tuple[str | None, str | None]] = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Linus Torvalds", "linus@example.com"),
    ("Margaret Hamilton", None),
    (None, "anonymous-42@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Katherine Johnson", "katherine@example.com"),
    (None, None),
]
INTERACTION_KINDS: list[tuple[str, str | None, list[Any]]] = [
    ("question", "Which plan fits your team?", ["Starter", "Team", "Enterprise"]),
    ("button", "Book a demo", [True]),
    ("poll", "How useful was this video?", [1, 2, 3, 4, 5]),
    ("hotspot", None, [None]),
    ("form", "Leave your email", ["ada@example.com", None]),
]


class MindstampSandbox:
    """The sandbox's state and endpoints; ``create_app`` wraps it in Starlette."""

    def __init__(
        self,
        *,
        token: str,
        per_minute: int,
        per_hour: int,
        retry_after_header: bool,
        list_shape: ListShape,
        seed: int,
    ) -> None:
        if per_minute < 1 or per_hour < 1:
            raise ValueError("per_minute and per_hour are at least 1")
        if list_shape not in LIST_SHAPES:
            raise ValueError(f"list_shape is one of {', '.join(LIST_SHAPES)}")
        self.token = token
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.retry_after_header = retry_after_header
        self.list_shape = list_shape
        self.videos: dict[str, VideoRecord] = {}  # by token
        self.viewers: dict[str, ViewerRecord] = {}
        self.views: dict[str, ViewRecord] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.groups: dict[str, CollectionRecord] = {}
        self.series: dict[str, CollectionRecord] = {}
        self.plinks: dict[str, PLinkRecord] = {}
        self.access_lists: dict[str, AccessListRecord] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self._answered: deque[float] = deque()  # monotonic times of counted calls
        self._forced: deque[float | None] = deque()
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._seed()

    # -- test hooks ---------------------------------------------------------------------

    def force_503(self, n: int = 1, *, retry_after: float | None = None) -> None:
        """The next ``n`` authenticated calls answer 503, with ``Retry-After`` when given."""
        with self._lock:
            self._forced.extend([retry_after] * n)

    def count(self, path: str, method: str = "GET") -> int:
        """How many calls reached ``path`` (relative to the base URL, e.g. ``/videos``)."""
        with self._lock:
            return self.hits[(method.upper(), path)]

    def reset_rate_limit(self) -> None:
        with self._lock:
            self._answered.clear()

    def add_video(
        self,
        title: str | None = "Untitled",
        *,
        duration: float | None = 60.0,
        age: float | timedelta = 0.0,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Add a video created ``age`` seconds ago; its JSON."""
        seconds = age.total_seconds() if isinstance(age, timedelta) else float(age)
        with self._lock:
            record = VideoRecord(
                id=self._uuid(),
                token=self._token(12),
                title=title,
                duration=duration,
                created_at=time.time() - seconds,
                message=message,
            )
            record.thumbnail = f"{THUMB_BASE}{record.token}.jpg"
            self.videos[record.token] = record
            return self._video_json(record)

    def add_videos(self, n: int) -> list[dict[str, Any]]:
        return [self.add_video(f"Generated video {i + 1}", age=i) for i in range(n)]

    def add_view(
        self,
        video: str,
        *,
        viewer_id: str | None = None,
        age: float | timedelta = 0.0,
        watch_time: float | None = 30.0,
    ) -> dict[str, Any]:
        seconds = age.total_seconds() if isinstance(age, timedelta) else float(age)
        with self._lock:
            record = self._find_video(video)
            view = ViewRecord(
                self._token(10), record.token, viewer_id, time.time() - seconds, watch_time, None
            )
            self.views[view.id] = view
            return self._view_json(view)

    # -- the guard every endpoint passes ------------------------------------------------

    def _guard(self, request: Request) -> None:
        path = _route_path(request)
        with self._lock:
            self.hits[(request.method, path)] += 1
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                raise ApiError(401, "Not Authorized")
            if self._forced:
                retry_after = self._forced.popleft()
                headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
                raise ApiError(503, "Rate Limit Exceeded", headers)
            now = time.monotonic()
            while self._answered and self._answered[0] <= now - HOUR:
                self._answered.popleft()
            in_minute = sum(1 for at in self._answered if at > now - MINUTE)
            wait = 0.0
            if in_minute >= self.per_minute:
                recent = [at for at in self._answered if at > now - MINUTE]
                wait = recent[-self.per_minute] + MINUTE - now
            if len(self._answered) >= self.per_hour:
                wait = max(wait, self._answered[-self.per_hour] + HOUR - now)
            if wait > 0:
                headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                raise ApiError(
                    503, "Rate Limit Exceeded", headers if self.retry_after_header else {}
                )
            self._answered.append(now)

    def endpoint(self, handler: Callable[[Request], Awaitable[Any]]) -> Callable:
        async def handle(request: Request) -> Response:
            self._guard(request)
            return JSONResponse(await handler(request))

        return handle

    async def api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _fail(exc.status_code, exc.message, exc.headers)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        return _fail(code, "Method Not Allowed" if code == 405 else "Not Found")

    # -- account and summaries ----------------------------------------------------------

    async def user_me(self, request: Request) -> Any:
        return {
            "id": "7d1c2b8e-4f0a-4e55-9c3e-0d6b2f1a9e11",
            "name": "ChatOps Bot",
            "email": "bot@chatops-hub.example",
            "company": "ChatOps Hub",
            "plan": "enterprise",
            "phone": None,
            "created_at": _iso(time.time() - 500 * DAY),
        }

    async def summary(self, request: Request) -> Any:
        return self._summary("all", None)

    async def summary_week(self, request: Request) -> Any:
        return self._summary("week", time.time() - 7 * DAY)

    async def summary_month(self, request: Request) -> Any:
        start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return self._summary("month", start.timestamp())

    def _summary(self, period: str, since: float | None) -> dict[str, Any]:
        with self._lock:
            views = [v for v in self.views.values() if since is None or v.created_at >= since]
            view_ids = {v.id for v in views}
            interactions = [i for i in self.interactions.values() if i.view_id in view_ids]
            per_video = Counter(v.video for v in views)
            top = per_video.most_common(1)[0][0] if per_video else None
            watched = [v.watch_time for v in views if v.watch_time is not None]
            completed = sum(1 for v in views if self._completed(v))
            return {
                "period": period,
                "start": _iso(since) if since is not None else None,
                "end": _iso(time.time()),
                "total_views": len(views),
                "uniqueViewers": len({v.viewer_id for v in views if v.viewer_id}),
                "totalInteractions": len(interactions),
                "avgWatchTime": round(sum(watched) / len(watched), 1) if watched else 0,
                "completion_rate": round(completed / len(views), 3) if views else 0,
                "videos_watched": len(per_video),
                "top_video": top,
                "top_video_title": self.videos[top].title if top else None,
                "engagementScore": None,
                "live": True,
            }

    # -- videos -------------------------------------------------------------------------

    async def list_videos(self, request: Request) -> Any:
        with self._lock:
            videos = sorted(self.videos.values(), key=lambda v: -v.created_at)
            return self._page(request, "videos", [self._video_json(v) for v in videos])

    async def get_video(self, request: Request) -> Any:
        with self._lock:
            return self._video_json(self._find_video(request.path_params["id"]))

    async def video_views(self, request: Request) -> Any:
        with self._lock:
            token = self._find_video(request.path_params["id"]).token
            return self._views_page(request, lambda v: v.video == token)

    async def video_interactions(self, request: Request) -> Any:
        with self._lock:
            token = self._find_video(request.path_params["id"]).token
            return self._interactions_page(request, lambda i: i.video == token)

    # -- views --------------------------------------------------------------------------

    async def list_views(self, request: Request) -> Any:
        with self._lock:
            return self._views_page(request, lambda v: True)

    async def get_view(self, request: Request) -> Any:
        with self._lock:
            return self._view_json(self._find(self.views, request, "view"))

    async def view_interactions(self, request: Request) -> Any:
        with self._lock:
            view_id = self._find(self.views, request, "view").id
            return self._interactions_page(request, lambda i: i.view_id == view_id)

    # -- interactions -------------------------------------------------------------------

    async def list_interactions(self, request: Request) -> Any:
        with self._lock:
            return self._interactions_page(request, lambda i: True)

    async def get_interaction(self, request: Request) -> Any:
        with self._lock:
            return self._interaction_json(self._find(self.interactions, request, "interaction"))

    async def interaction_responses(self, request: Request) -> Any:
        with self._lock:
            i = self._find(self.interactions, request, "interaction")
            responses = []
            if i.response is not None:
                responses.append(
                    {
                        "id": f"{i.id}-1",
                        "interaction_id": i.id,
                        "view_id": i.view_id,
                        "viewer_id": i.viewer_id,
                        "response": i.response,
                        "correct": i.correct,
                        "created_at": _iso(i.created_at + 2),
                    }
                )
            return self._page(request, "responses", responses)

    # -- viewers ------------------------------------------------------------------------

    async def list_viewers(self, request: Request) -> Any:
        with self._lock:
            viewers = [self._viewer_json(v) for v in self.viewers.values()]
            return self._page(request, "viewers", viewers)

    async def get_viewer(self, request: Request) -> Any:
        with self._lock:
            return self._viewer_json(self._find(self.viewers, request, "viewer"))

    async def viewer_views(self, request: Request) -> Any:
        with self._lock:
            viewer_id = self._find(self.viewers, request, "viewer").id
            return self._views_page(request, lambda v: v.viewer_id == viewer_id)

    async def viewer_interactions(self, request: Request) -> Any:
        with self._lock:
            viewer_id = self._find(self.viewers, request, "viewer").id
            return self._interactions_page(request, lambda i: i.viewer_id == viewer_id)

    # -- groups and series --------------------------------------------------------------

    def _collection_endpoints(self, kind: str, store: dict[str, CollectionRecord]) -> dict:
        name = "groups" if kind == "group" else "series"

        async def listing(request: Request) -> Any:
            with self._lock:
                return self._page(request, name, [self._collection_json(c) for c in store.values()])

        async def get(request: Request) -> Any:
            with self._lock:
                return self._collection_json(self._find(store, request, kind))

        async def videos(request: Request) -> Any:
            with self._lock:
                c = self._find(store, request, kind)
                items = [self._video_json(self.videos[t]) for t in c.videos if t in self.videos]
                return self._page(request, "videos", items)

        async def views(request: Request) -> Any:
            with self._lock:
                tokens = set(self._find(store, request, kind).videos)
                return self._views_page(request, lambda v: v.video in tokens)

        async def interactions(request: Request) -> Any:
            with self._lock:
                tokens = set(self._find(store, request, kind).videos)
                return self._interactions_page(request, lambda i: i.video in tokens)

        async def create(request: Request) -> Any:
            body = await _body(request)
            with self._lock:
                record = CollectionRecord(
                    id=self._token(10),
                    name=_required_text(body, "name"),
                    description=_optional_text(body, "description"),
                    created_at=time.time(),
                )
                store[record.id] = record
                return self._collection_json(record)

        async def add_video(request: Request) -> Any:
            body = await _body(request)
            with self._lock:
                c = self._find(store, request, kind)
                ref = next((body[k] for k in ("video_id", "videoId", "video") if k in body), None)
                if not isinstance(ref, str) or not ref:
                    raise ApiError(422, "video_id is required")
                token = self._find_video(ref).token
                if token not in c.videos:
                    c.videos.append(token)
                return self._collection_json(c)

        async def invite(request: Request) -> Any:
            body = await _body(request)
            with self._lock:
                c = self._find(store, request, kind)
                email = _required_email(body)
                if email not in c.invited:
                    c.invited.append(email)
                return {"success": True, "id": c.id, "email": email, "invited": len(c.invited)}

        return {
            "list": listing,
            "get": get,
            "videos": videos,
            "views": views,
            "interactions": interactions,
            "create": create,
            "add_video": add_video,
            "invite": invite,
        }

    # -- P-Links ------------------------------------------------------------------------

    async def list_plinks(self, request: Request) -> Any:
        with self._lock:
            return self._page(
                request, "plinks", [self._plink_json(p) for p in self.plinks.values()]
            )

    async def get_plink(self, request: Request) -> Any:
        with self._lock:
            return self._plink_json(self._find_plink(request.path_params["id"]))

    async def update_plink(self, request: Request) -> Any:
        body = await _body(request)
        with self._lock:
            plink = self._find_plink(request.path_params["id"])
            status = body.get("status")
            if status not in PLINK_STATUSES:
                raise ApiError(422, f"status must be one of {', '.join(PLINK_STATUSES)}")
            plink.status = status
            return self._plink_json(plink)

    async def create_plink(self, request: Request) -> Any:
        body = await _body(request)
        with self._lock:
            ref = next((body[k] for k in ("video_id", "videoId", "video") if k in body), None)
            if not isinstance(ref, str) or not ref:
                raise ApiError(422, "video_id is required")
            video = self._find_video(ref)
            email = _required_email(body) if body.get("email") is not None else None
            plink = PLinkRecord(
                id=self._uuid(),
                token=self._token(8),
                video=video.token,
                name=_optional_text(body, "name"),
                email=email,
                status="active",
                created_at=time.time(),
            )
            self.plinks[plink.id] = plink
            return self._plink_json(plink)

    # -- access lists -------------------------------------------------------------------

    async def list_access_lists(self, request: Request) -> Any:
        with self._lock:
            lists = [self._access_list_json(a) for a in self.access_lists.values()]
            return self._page(request, "accessLists", lists)

    async def get_access_list(self, request: Request) -> Any:
        with self._lock:
            return self._access_list_json(self._find(self.access_lists, request, "access list"))

    async def create_access_list(self, request: Request) -> Any:
        body = await _body(request)
        with self._lock:
            record = AccessListRecord(self._token(10), _required_text(body, "name"), time.time())
            self.access_lists[record.id] = record
            return self._access_list_json(record)

    async def add_access_list_entry(self, request: Request) -> Any:
        body = await _body(request)
        with self._lock:
            record = self._find(self.access_lists, request, "access list")
            email = _required_email(body)
            if email not in record.entries:
                record.entries.append(email)
            return self._access_list_json(record)

    async def delete_access_list_entry(self, request: Request) -> Any:
        body = await _body(request)
        if "email" not in body and request.query_params.get("email"):
            body = {"email": request.query_params["email"]}
        with self._lock:
            record = self._find(self.access_lists, request, "access list")
            email = _required_email(body)
            if email not in record.entries:
                raise ApiError(404, f"{email} is not on this access list")
            record.entries.remove(email)
            return self._access_list_json(record)

    # -- lookups and paging -------------------------------------------------------------

    def _find(self, store: dict[str, Any], request: Request, what: str) -> Any:
        record = store.get(request.path_params["id"])
        if record is None:
            raise ApiError(404, f"No {what} with this id")
        return record

    def _find_video(self, ref: str) -> VideoRecord:
        record = self.videos.get(ref) or next(
            (v for v in self.videos.values() if v.id == ref), None
        )
        if record is None:
            raise ApiError(404, "No video with this id")
        return record

    def _find_plink(self, ref: str) -> PLinkRecord:
        record = self.plinks.get(ref) or next(
            (p for p in self.plinks.values() if p.token == ref), None
        )
        if record is None:
            raise ApiError(404, "No P-Link with this id")
        return record

    def _page(self, request: Request, name: str, items: list[Any]) -> Any:
        offset = _query_int(request, "offset", 0, 0, None)
        limit = _query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        chunk = items[offset : offset + limit]
        if self.list_shape == "array":
            return chunk
        key = name if self.list_shape == "named" else self.list_shape
        return {key: chunk, "total": len(items), "offset": offset, "limit": limit}

    def _views_page(self, request: Request, keep: Callable[[ViewRecord], bool]) -> Any:
        views = sorted((v for v in self.views.values() if keep(v)), key=lambda v: -v.created_at)
        return self._page(request, "views", [self._view_json(v) for v in views])

    def _interactions_page(
        self, request: Request, keep: Callable[[InteractionRecord], bool]
    ) -> Any:
        items = sorted(
            (i for i in self.interactions.values() if keep(i)), key=lambda i: -i.created_at
        )
        return self._page(request, "interactions", [self._interaction_json(i) for i in items])

    # -- rendering ----------------------------------------------------------------------

    def _video_json(self, v: VideoRecord) -> dict[str, Any]:
        return {
            "id": v.id,
            "token": v.token,
            "title": v.title,
            "message": v.message,
            "created_at": _iso(v.created_at),
            "duration": v.duration,
            "link": WATCH_BASE + v.token,
            "thumbnail": v.thumbnail,
        }

    def _completed(self, v: ViewRecord) -> bool:
        duration = self.videos[v.video].duration
        return bool(duration and v.watch_time is not None and v.watch_time >= 0.9 * duration)

    def _view_json(self, v: ViewRecord) -> dict[str, Any]:
        video = self.videos[v.video]
        viewer = self.viewers.get(v.viewer_id or "")
        percent = None
        if video.duration and v.watch_time is not None:
            percent = round(min(100.0, 100 * v.watch_time / video.duration), 1)
        return {
            "id": v.id,
            "video_id": v.video,
            "video_title": video.title,
            "viewer_id": v.viewer_id,
            "viewer_name": viewer.name if viewer else None,
            "created_at": _iso(v.created_at),
            "watch_time": v.watch_time,
            "percent_watched": percent,
            "completed": self._completed(v),
            "device": v.device,
            "location": None,
        }

    def _interaction_json(self, i: InteractionRecord) -> dict[str, Any]:
        return {
            "id": i.id,
            "type": i.type,
            "title": i.title,
            "video_id": i.video,
            "view_id": i.view_id,
            "viewer_id": i.viewer_id,
            "time": i.time,
            "response": i.response,
            "created_at": _iso(i.created_at),
        }

    def _viewer_json(self, v: ViewerRecord) -> dict[str, Any]:
        return {
            "id": v.id,
            "name": v.name,
            "email": v.email,
            "created_at": _iso(v.created_at),
            "views": sum(1 for view in self.views.values() if view.viewer_id == v.id),
        }

    def _collection_json(self, c: CollectionRecord) -> dict[str, Any]:
        return {
            "id": c.id,
            "name": c.name,
            "description": c.description,
            "created_at": _iso(c.created_at),
            "video_count": len(c.videos),
            "videos": list(c.videos),
        }

    def _plink_json(self, p: PLinkRecord) -> dict[str, Any]:
        return {
            "id": p.id,
            "token": p.token,
            "video_id": p.video,
            "name": p.name,
            "email": p.email,
            "status": p.status,
            "link": f"{WATCH_BASE}{p.video}?p={p.token}",
            "created_at": _iso(p.created_at),
        }

    def _access_list_json(self, a: AccessListRecord) -> dict[str, Any]:
        return {
            "id": a.id,
            "name": a.name,
            "entries": list(a.entries),
            "created_at": _iso(a.created_at),
        }

    # -- seed ---------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _token(self, length: int) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            token = "".join(self._random.choices(alphabet, k=length))
            if token not in self.videos and token not in self.views:
                return token

    def _seed(self) -> None:
        rng = self._random
        now = time.time()
        for n, (title, duration, age_days) in enumerate(SEED_VIDEOS):
            token = EXAMPLE_VIDEO if n == 0 else self._token(12)
            record = VideoRecord(
                id=self._uuid(),
                token=token,
                title=title,
                duration=duration,
                created_at=now - age_days * DAY - rng.uniform(0, DAY),
                message="Created on Mindstamp! This message is customizable"
                if n % 3 == 0
                else None,
                thumbnail=None if duration is None else f"{THUMB_BASE}{token}.jpg",
            )
            self.videos[token] = record
        for n, (name, email) in enumerate(SEED_VIEWERS):
            viewer = ViewerRecord(self._uuid(), name, email, now - (200 - 20 * n) * DAY)
            self.viewers[viewer.id] = viewer
        videos = list(self.videos.values())
        weights = [12, 9, 8, 7, 5, 6, 4, 6, 8, 10, 2, 3]
        viewer_ids: list[str | None] = [*self.viewers, None]
        for _ in range(160):
            video = rng.choices(videos, weights=weights)[0]
            created = max(video.created_at + HOUR, now - rng.uniform(0, 42 * DAY))
            if created > now:
                continue
            full = video.duration or 60
            watch = None if rng.random() < 0.05 else round(rng.uniform(0.1, 1.0) * full, 1)
            view = ViewRecord(
                self._token(10),
                video.token,
                rng.choice(viewer_ids),
                created,
                watch,
                rng.choice(["desktop", "mobile", "tablet", None]),
            )
            self.views[view.id] = view
            for k in range(rng.choice([0, 0, 1, 1, 2])):
                kind, title, answers = rng.choice(INTERACTION_KINDS)
                response = rng.choice(answers)
                interaction = InteractionRecord(
                    id=self._token(10),
                    view_id=view.id,
                    video=video.token,
                    viewer_id=view.viewer_id,
                    type=kind,
                    title=title,
                    time=round(rng.uniform(0, full), 1),
                    created_at=created + 10 * (k + 1),
                    response=response,
                    correct=(response == "Team") if kind == "question" else None,
                )
                self.interactions[interaction.id] = interaction
        tokens = [v.token for v in videos]
        for kind, store, name, description, members in (
            ("group", self.groups, "Onboarding", "Videos every new hire watches", tokens[1:4]),
            ("group", self.groups, "Sales", None, [tokens[0], tokens[8]]),
            ("series", self.series, "Security basics", "A three-part course", tokens[4:7]),
        ):
            record = CollectionRecord(self._token(10), name, description, now - 30 * DAY)
            record.videos = list(members)
            if kind == "series":
                record.invited = ["ada@example.com"]
            store[record.id] = record
        for video, name, email, status in (
            (tokens[0], "Pricing for Ada", "ada@example.com", "active"),
            (tokens[8], "Demo for Grace", "grace@example.com", "active"),
            (tokens[3], None, None, "inactive"),
        ):
            plink = PLinkRecord(
                self._uuid(), self._token(8), video, name, email, status, now - 10 * DAY
            )
            self.plinks[plink.id] = plink
        access = AccessListRecord(self._token(10), "Employees", now - 90 * DAY)
        access.entries = ["ada@example.com", "grace@example.com"]
        self.access_lists[access.id] = access


# -- helpers ----------------------------------------------------------------------------


def _route_path(request: Request) -> str:
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _fail(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": status_code, "message": message}, status_code, headers)


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _query_int(request: Request, name: str, default: int, least: int, most: int | None) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(422, f"{name} must be a whole number") from None
    if value < least or (most is not None and value > most):
        bound = f"between {least} and {most}" if most is not None else f"at least {least}"
        raise ApiError(422, f"{name} must be {bound}")
    return value


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise ApiError(422, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The request body must be a JSON object")
    return body


def _required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{name} is required")
    return value.strip()


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a text")
    return value.strip() or None


def _required_email(body: dict[str, Any]) -> str:
    email = body.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise ApiError(422, "email must be an email address")
    return email.strip()


def create_app(
    *,
    token: str = DEMO_TOKEN,
    per_minute: int = 100,
    per_hour: int = 1000,
    retry_after_header: bool = True,
    list_shape: ListShape = "array",
    seed: int = 7,
) -> Starlette:
    """A Mindstamp sandbox app; its state is ``app.state.sandbox`` and ``app.state.calls``."""
    sandbox = MindstampSandbox(
        token=token,
        per_minute=per_minute,
        per_hour=per_hour,
        retry_after_header=retry_after_header,
        list_shape=list_shape,
        seed=seed,
    )
    calls: list[Call] = []
    s, e = sandbox, sandbox.endpoint
    groups = s._collection_endpoints("group", s.groups)
    series = s._collection_endpoints("series", s.series)

    def get(path: str, handler: Callable[[Request], Awaitable[Any]]) -> Route:
        return Route(path, e(handler), methods=["GET"])

    def post(path: str, handler: Callable[[Request], Awaitable[Any]]) -> Route:
        return Route(path, e(handler), methods=["POST"])

    routes = [
        get("/views", s.list_views),
        get("/views/summary", s.summary),
        get("/views/summary/month", s.summary_month),
        get("/views/summary/week", s.summary_week),
        get("/views/{id}", s.get_view),
        get("/views/{id}/interactions", s.view_interactions),
        get("/interactions", s.list_interactions),
        get("/interactions/{id}", s.get_interaction),
        get("/interactions/{id}/responses", s.interaction_responses),
        get("/videos", s.list_videos),
        get("/videos/{id}", s.get_video),
        get("/videos/{id}/views", s.video_views),
        get("/videos/{id}/interactions", s.video_interactions),
        get("/viewers", s.list_viewers),
        get("/viewers/{id}", s.get_viewer),
        get("/viewers/{id}/views", s.viewer_views),
        get("/viewers/{id}/interactions", s.viewer_interactions),
        get("/user/me", s.user_me),
        get("/groups", groups["list"]),
        post("/groups/create", groups["create"]),
        get("/groups/{id}", groups["get"]),
        get("/groups/{id}/videos", groups["videos"]),
        get("/groups/{id}/views", groups["views"]),
        get("/groups/{id}/interactions", groups["interactions"]),
        post("/groups/{id}/addVideo", groups["add_video"]),
        get("/series", series["list"]),
        post("/series/create", series["create"]),
        get("/series/{id}", series["get"]),
        get("/series/{id}/videos", series["videos"]),
        get("/series/{id}/views", series["views"]),
        get("/series/{id}/interactions", series["interactions"]),
        post("/series/{id}/addVideo", series["add_video"]),
        post("/series/{id}/invite", series["invite"]),
        get("/plink", s.list_plinks),
        post("/plink/", s.create_plink),
        post("/plink", s.create_plink),
        get("/plink/{id}", s.get_plink),
        Route("/plink/{id}", e(s.update_plink), methods=["PATCH"]),
        get("/accessLists", s.list_access_lists),
        post("/accessLists/create", s.create_access_list),
        get("/accessLists/{id}", s.get_access_list),
        post("/accessLists/{id}/add", s.add_access_list_entry),
        Route("/accessLists/{id}/delete", e(s.delete_access_list_entry), methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RecordCalls, calls=calls)],
        exception_handlers={
            ApiError: sandbox.api_error,
            404: sandbox.not_found,
            405: sandbox.not_found,
        },
    )
    app.state.sandbox = sandbox
    app.state.calls = calls
    return app
