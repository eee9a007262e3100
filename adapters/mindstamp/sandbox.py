"""A Mindstamp server faithful to Mindstamp's API document, for the console, development and
tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point
``MINDSTAMP_URL`` at ``http://host:port/mindstamp`` with ``MINDSTAMP_TOKEN`` =
``DEMO_TOKEN``. It serves the rows of the document's endpoint table that the client calls
(paths relative to the base URL, which stands for ``https://api.mindstamp.com/api/v1``);
any other path is 404:

    GET    /views  /views/summary  /views/summary/month  /views/summary/week
    GET    /videos  /videos/{id}  /videos/{id}/views  /videos/{id}/interactions
    GET    /user/me

As the document says: a Bearer token on every request (else 401); objects whose empty
fields are ``null``; ``limit`` (default 25, up to 100) and ``offset`` paging; 503 when more
than ``per_minute`` calls came in the last minute or ``per_hour`` in the last hour, with a
``Retry-After`` (whole seconds) unless ``retry_after_header=False``. Where it is silent: a
``limit`` over 100 or a malformed one is 422; errors are
``{"status": N, "message": "…"}``; lists are JSON arrays (``list_shape="array"``) or an
object ``{"data"|"items"|<resource name>: [...], "total", "offset", "limit"}``; a video is
found by its token (the id the document uses in URLs) or its uuid; only calls that were
answered (not 401 nor 503) count towards the limits.

The seed: a dozen videos (one with no title, one with no duration and no thumbnail, …),
viewers, and about 160 views over the last six weeks with interactions. The summaries are
objects with numeric fields (``total_views``, ``uniqueViewers``, ``avgWatchTime`` …) and
others (``period``, dates, ``top_video``, a null ``engagementScore``).

``app.state.calls`` records each answer as it is sent: ``Call(at=time.monotonic(), method,
path, status)``; ``app.state.sandbox`` has the test hooks ``force_503(n, retry_after=…)``,
``count(path, method)`` (calls per route path), ``add_video(…)``/``add_videos(n)``,
``add_view(…)`` and ``reset_rate_limit()``.
"""

from __future__ import annotations

import hmac
import math
import random
import string
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
# Views name their viewer; two viewers are anonymous.
SEED_VIEWERS: list[str | None] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Linus Torvalds",
    "Margaret Hamilton",
    None,
    "Alan Turing",
    "Katherine Johnson",
    None,
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

    # -- lookups and paging -------------------------------------------------------------

    def _find_video(self, ref: str) -> VideoRecord:
        record = self.videos.get(ref) or next(
            (v for v in self.videos.values() if v.id == ref), None
        )
        if record is None:
            raise ApiError(404, "No video with this id")
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
        for name in SEED_VIEWERS:
            viewer = ViewerRecord(self._uuid(), name)
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
                )
                self.interactions[interaction.id] = interaction


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

    def get(path: str, handler: Callable[[Request], Awaitable[Any]]) -> Route:
        return Route(path, e(handler), methods=["GET"])

    routes = [
        get("/views", s.list_views),
        get("/views/summary", s.summary),
        get("/views/summary/month", s.summary_month),
        get("/views/summary/week", s.summary_week),
        get("/videos", s.list_videos),
        get("/videos/{id}", s.get_video),
        get("/videos/{id}/views", s.video_views),
        get("/videos/{id}/interactions", s.video_interactions),
        get("/user/me", s.user_me),
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
