"""A STOMT server faithful to STOMT's API document, for the console, development and tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point
``STOMT_URL`` at ``http://host:port/stomt`` with ``STOMT_APPID=chatops-demo``,
``STOMT_USERNAME=chatops-bot`` and ``STOMT_PASSWORD`` = ``DEMO_PASSWORD``.

Every answer is STOMT's envelope: ``{"meta": {}, "data": …}`` on success and, as the
document shows for errors, ``{"data": [], "error": "…", "meta": []}``. It serves:

    POST   /authentication/session              login_method "normal" only
    POST   /stomts                              [LOGIN]  text ≤ 1000, extradata.labels, files
    GET    /stomts/{id}
    DELETE /stomts/{id}                         [LOGIN]  by the creator or the target's owner
    GET    /stomts/{id}/comments
    GET    /targets/{id}
    GET    /targets/{id}/stomts[/{type}[/{secondType}]]?newer_than=&offset=&limit=
    POST   /files                               context "stomt"; txt, log and zip
    GET    /files/{file_uid}                    the uploaded file (the upload's ``url``)

Where the document is silent: a missing or unknown ``appid`` is 401, an unknown token 401,
an expired one 419, a write without a token 401 (no anonymous accounts), deleting someone
else's stomt 403, a malformed request 400 with a Laravel-like message.

The demo user ``chatops-bot`` owns the page ``chatops-hub`` (the demo appid's own page),
which starts with a handful of wishes and likes from other people, some from the last day,
some older, with labels, states, agreements and comments. ``chatops-hub`` has also
written two stomts to STOMT's own page ``stomt``. ``app.state.calls`` records each answer as
it is sent: ``Call(at=time.monotonic(), method, path, status)``; ``app.state.sandbox``
has ``add_stomt(…)`` (a stomt from someone else) and ``expire_sessions()``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import random
import re
import secrets
import string
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.base import decode_json
from adapters.sandbox_calls import Call, RecordCalls
from adapters.stomt.models import MAX_TEXT

SANDBOX_PREFIX = "/stomt"
DEMO_APPID = "chatops-demo"
DEMO_USERNAME = "chatops-bot"
DEMO_EMAIL = "bot@chatops-hub.example"
DEMO_PASSWORD = "stomt-sandbox-demo"  # noqa: S105 - the sandbox's demo login; sandbox only
DEMO_TARGET = "chatops-hub"
STOMT_TARGET = "stomt"  # STOMT's own page, the document's example target

MAX_FILE_BYTES = 5 * 1024 * 1024
FILE_FORMATS = ("txt", "log", "zip")
FILE_CONTEXT = "stomt"
SHORTLINK_BASE = "https://stomt.co/"
DEFAULT_LIMIT = 20
MAX_SESSIONS = 10_000
HOUR = 3600.0
DAY = 24 * HOUR


class ApiError(Exception):
    """An answer in STOMT's error envelope."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class TargetRecord:
    id: str
    displayname: str
    category: str  # users, apps, …
    description: str = ""
    owners: set[str] = field(default_factory=set)
    followers: int = 0
    verified: bool = False


@dataclass
class CommentRecord:
    id: str
    text: str
    creator_id: str
    created_at: float  # epoch seconds


@dataclass
class FileRecord:
    uid: str
    filename: str
    content: bytes
    url: str


@dataclass
class StomtRecord:
    id: str
    num: int
    positive: bool
    text: str
    target_id: str
    creator_id: str
    created_at: float  # epoch seconds
    shortlink: str
    lang: str = "en"
    type: str = "unset"
    state: str = "new"
    severity: str = "unset"
    complexity: str = "unset"
    anonym: bool = False
    details: str | None = None
    url: str | None = None
    labels: list[str] = field(default_factory=list)
    extradata: dict[str, Any] = field(default_factory=dict)
    files: list[FileRecord] = field(default_factory=list)
    agreements: tuple[int, int] = (0, 0)  # (positive, negative)
    comments: list[CommentRecord] = field(default_factory=list)


@dataclass
class SessionRecord:
    user_id: str
    expires: float  # monotonic


CATEGORIES = {"users": "Users", "apps": "Apps & Software", "companies": "Companies"}


class StomtSandbox:
    """The sandbox's state and endpoints; ``create_app`` wraps it in Starlette."""

    def __init__(self, *, appid: str, username: str, password: str, token_ttl: float) -> None:
        if token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        self.token_ttl = token_ttl
        self.apps = {appid: DEMO_TARGET}
        self.password = password
        self.accounts = {username.lower(): username, DEMO_EMAIL: username}
        self.targets: dict[str, TargetRecord] = {}
        self.stomts: dict[str, StomtRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self._nums: dict[str, int] = {}
        self._random = random.Random(7)
        self._lock = threading.RLock()
        self._seed(username)

    # -- test hooks ---------------------------------------------------------------------

    def add_stomt(
        self,
        text: str,
        *,
        positive: bool = False,
        target_id: str = DEMO_TARGET,
        creator_id: str = "ada",
        age: float | timedelta = 0.0,
        labels: Iterable[str] = (),
        lang: str = "en",
        type: str = "unset",
        state: str = "new",
        severity: str = "unset",
        complexity: str = "unset",
        anonym: bool = False,
        agreements: tuple[int, int] = (0, 0),
        comments: Sequence[tuple[str, str, float]] = (),
    ) -> dict[str, Any]:
        """Add a stomt as if someone else had posted it ``age`` seconds ago; its JSON.

        ``comments`` are ``(creator_id, text, age_seconds)``. Unknown targets and creators
        are created as users on the fly.
        """
        seconds = age.total_seconds() if isinstance(age, timedelta) else float(age)
        with self._lock:
            for slug in (target_id, creator_id):
                if slug not in self.targets:
                    self._add_target(slug, slug.replace("-", " ").title(), "users")
            now = time.time()
            record = self._add(
                text,
                positive=positive,
                target_id=target_id,
                creator_id=creator_id,
                created_at=now - seconds,
                labels=list(labels),
                lang=lang,
                type=type,
                state=state,
                severity=severity,
                complexity=complexity,
                anonym=anonym,
                agreements=agreements,
            )
            for who, comment, comment_age in comments:
                if who not in self.targets:
                    self._add_target(who, who.title(), "users")
                record.comments.append(
                    CommentRecord(_uid("c"), comment, who, now - float(comment_age))
                )
            return self._stomt_json(record)

    def expire_sessions(self) -> None:
        """Every access token handed out so far expires now (the next use answers 419)."""
        with self._lock:
            for session in self.sessions.values():
                session.expires = 0.0

    # -- endpoints ----------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        self._appid(request)
        body = await _body(request)
        with self._lock:
            if body.get("login_method", "normal") != "normal":
                raise ApiError(400, "This login_method is not supported.")
            name, password = body.get("emailusername"), body.get("password")
            if not isinstance(name, str) or not isinstance(password, str) or not name:
                raise ApiError(400, "The emailusername and password fields are required.")
            user_id = self.accounts.get(name.strip().lower())
            if user_id is None:
                raise ApiError(404, "Account not found.")
            if not hmac.compare_digest(password.encode(), self.password.encode()):
                raise ApiError(403, "Wrong password.")
            token = secrets.token_urlsafe(24)
            self.sessions[token] = SessionRecord(user_id, time.monotonic() + self.token_ttl)
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.pop(next(iter(self.sessions)))
            data = {
                "accesstoken": token,
                "refreshtoken": secrets.token_urlsafe(24),
                "user": self._target_json(self.targets[user_id]),
                "newUser": False,
            }
        return _ok(data)

    async def create_stomt(self, request: Request) -> Response:
        user_id, appid = self._caller(request, required=True)
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "The text field is required.")
        text = text.strip()
        if len(text) > MAX_TEXT:
            raise ApiError(400, f"The text may not be greater than {MAX_TEXT} characters.")
        positive = _optional(body, "positive", bool, False)
        anonym = _optional(body, "anonym", bool, False)
        lang = _optional(body, "lang", str, "en")
        url = _optional(body, "url", str, None)
        details = _optional(body, "details", str, None)
        extradata = _optional(body, "extradata", dict, {})
        labels = extradata.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ApiError(400, "The extradata.labels field must be an array of names.")
        files = _optional(body, "files", list, [])
        if isinstance(body.get("file_uid"), str):
            files = [*files, {"file_uid": body["file_uid"]}]
        with self._lock:
            target_id = _optional(body, "target_id", str, None) or self.apps[appid]
            if target_id not in self.targets:
                raise ApiError(404, "Target not found.")
            attached = [self._attachment(item, request) for item in files]
            record = self._add(
                text,
                positive=positive,
                target_id=target_id,
                creator_id=user_id,
                created_at=time.time(),
                labels=[label.strip() for label in labels if label.strip()],
                lang=lang,
                anonym=anonym,
                details=details,
                url=url,
                extradata=extradata,
                files=attached,
            )
            return _ok(self._stomt_json(record))

    async def get_stomt(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            return _ok(self._stomt_json(self._find_stomt(request)))

    async def delete_stomt(self, request: Request) -> Response:
        user_id, _appid = self._caller(request, required=True)
        with self._lock:
            record = self._find_stomt(request)
            mine = {record.creator_id, record.target_id}
            allowed = user_id in mine or any(
                user_id in self.targets[slug].owners for slug in mine if slug in self.targets
            )
            if not allowed:
                raise ApiError(403, "You are not allowed to delete this stomt.")
            del self.stomts[record.id]
        return _ok({"success": True})

    async def comments(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            record = self._find_stomt(request)
            data = [self._comment_json(record, c) for c in record.comments]
        return _ok(data)

    async def get_target(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            return _ok(self._target_json(self._find_target(request)))

    async def target_stomts(self, request: Request) -> Response:
        self._caller(request)
        kind = request.path_params.get("type", "received")
        polarity = request.path_params.get("second_type")
        if kind not in ("received", "created", "top"):
            raise ApiError(400, "The type must be received, created or top.")
        if polarity not in (None, "positive", "negative"):
            raise ApiError(400, "The secondType must be positive or negative.")
        query = request.query_params
        newer_than = _number(query.get("newer_than"), "newer_than", float, None)
        offset = _number(query.get("offset"), "offset", int, 0)
        limit = _number(query.get("limit"), "limit", int, DEFAULT_LIMIT)
        if offset < 0 or limit < 1:
            raise ApiError(400, "The offset must be at least 0 and the limit at least 1.")
        with self._lock:
            target = self._find_target(request)
            if kind == "created":
                found = [
                    s for s in self.stomts.values() if s.creator_id == target.id and not s.anonym
                ]
            else:
                found = [s for s in self.stomts.values() if s.target_id == target.id]
            if polarity is not None:
                found = [s for s in found if s.positive == (polarity == "positive")]
            if newer_than is not None:
                found = [s for s in found if s.created_at > newer_than]
            found.sort(key=lambda s: s.created_at, reverse=True)
            if kind == "top":
                found.sort(key=lambda s: sum(s.agreements), reverse=True)
            data = [self._stomt_json(s) for s in found[offset : offset + limit]]
        return _ok(data)

    async def upload_files(self, request: Request) -> Response:
        self._caller(request)
        body = await _body(request)
        files = body.get("files")
        if not isinstance(files, dict) or not files:
            raise ApiError(400, "The files field is required.")
        if set(files) != {FILE_CONTEXT}:
            raise ApiError(400, f"Files can only be uploaded in the context {FILE_CONTEXT}.")
        items = files[FILE_CONTEXT]
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Give at least one file.")
        with self._lock:
            uploaded = [self._store_file(item, request) for item in items]
        answers = [{"file_uid": f.uid, "url": f.url} for f in uploaded]
        return _ok({"files": {FILE_CONTEXT: answers[0] if len(answers) == 1 else answers}})

    async def download_file(self, request: Request) -> Response:
        with self._lock:
            record = self.files.get(request.path_params["file_uid"])
        if record is None:
            raise ApiError(404, "File not found.")
        return Response(record.content, media_type="application/octet-stream")

    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "Method not allowed." if code == 405 else "Resource not found."
        return _fail(code, message)

    async def api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _fail(exc.status_code, exc.message)

    # -- checks -------------------------------------------------------------------------

    def _appid(self, request: Request) -> str:
        appid = request.headers.get("appid", "")
        if appid not in self.apps:
            raise ApiError(401, "The appid header is missing or unknown.")
        return appid

    def _caller(self, request: Request, *, required: bool = False) -> tuple[str, str]:
        """(user id or "", appid) of a request; raises for a bad appid or token."""
        appid = self._appid(request)
        token = request.headers.get("accesstoken")
        if not token:
            if required:
                raise ApiError(401, "You need to be logged in to do this.")
            return "", appid
        with self._lock:
            session = self.sessions.get(token)
            if session is None:
                raise ApiError(401, "The accesstoken is invalid.")
            if time.monotonic() >= session.expires:
                raise ApiError(419, "The session has expired. Please log in again.")
            return session.user_id, appid

    def _find_stomt(self, request: Request) -> StomtRecord:
        record = self.stomts.get(request.path_params["stomt_id"])
        if record is None:
            raise ApiError(404, "Stomt not found.")
        return record

    def _find_target(self, request: Request) -> TargetRecord:
        record = self.targets.get(request.path_params["target_id"])
        if record is None:
            raise ApiError(404, "Target not found.")
        return record

    # -- files --------------------------------------------------------------------------

    def _attachment(self, item: Any, request: Request) -> FileRecord:
        if isinstance(item, dict) and isinstance(item.get("file_uid"), str):
            record = self.files.get(item["file_uid"])
            if record is None:
                raise ApiError(400, "The file_uid is unknown.")
            return record
        return self._store_file(item, request)

    def _store_file(self, item: Any, request: Request) -> FileRecord:
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise ApiError(400, "Each file needs its data, Base64 encoded.")
        filename = item.get("filename") or "file.txt"
        if not isinstance(filename, str) or "/" in filename or "\\" in filename:
            raise ApiError(400, "The filename is not valid.")
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in FILE_FORMATS:
            raise ApiError(400, f"Supported file formats are {', '.join(FILE_FORMATS)}.")
        if len(item["data"]) > MAX_FILE_BYTES * 4 // 3 + 4:
            raise ApiError(400, "The file is too large.")
        try:
            content = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "The file data is not valid Base64.") from None
        uid = _uid("f")
        # Mounted under a prefix, the prefix is the root_path; the URL must include it.
        root = request.scope.get("root_path", "").rstrip("/")
        base = f"{request.url.scheme}://{request.url.netloc}{root}"
        record = FileRecord(uid, filename, content, f"{base}/files/{uid}")
        self.files[uid] = record
        return record

    # -- state --------------------------------------------------------------------------

    def _add_target(
        self,
        slug: str,
        name: str,
        category: str,
        *,
        owners: Iterable[str] = (),
        description: str = "",
        followers: int = 0,
        verified: bool = False,
    ) -> TargetRecord:
        record = TargetRecord(
            slug, name, category, description, {slug, *owners}, followers, verified
        )
        self.targets[slug] = record
        return record

    def _add(self, text: str, *, target_id: str, created_at: float, **kw: Any) -> StomtRecord:
        self._nums[target_id] = self._nums.get(target_id, 0) + 1
        prefix = "i like" if kw.get("positive") else "i wish"
        record = StomtRecord(
            id=self._slug(f"{prefix} {text}"),
            num=self._nums[target_id],
            text=text,
            target_id=target_id,
            created_at=created_at,
            shortlink=self._shortlink(),
            **kw,
        )
        self.stomts[record.id] = record
        return record

    def _slug(self, text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")
        base = base or "stomt"
        slug, n = base, 1
        while slug in self.stomts:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _shortlink(self) -> str:
        alphabet = string.ascii_letters + string.digits
        taken = {s.shortlink for s in self.stomts.values()}
        while True:
            link = SHORTLINK_BASE + "".join(self._random.choices(alphabet, k=4))
            if link not in taken:
                return link

    def _seed(self, username: str) -> None:
        self._add_target(username, "ChatOps Bot", "users")
        self._add_target(
            DEMO_TARGET,
            "ChatOps Hub",
            "apps",
            owners=[username],
            description="Drive five vendor services from Slack.",
            followers=42,
        )
        self._add_target(
            STOMT_TARGET,
            "stomt",
            "apps",
            description="Constructive feedback for everything.",
            followers=1200,
            verified=True,
        )
        for slug, name in (("ada", "Ada Lovelace"), ("grace", "Grace Hopper"), ("linus", "Linus")):
            self._add_target(slug, name, "users")
        seeds: list[dict[str, Any]] = [
            dict(
                text="the digest came on Monday mornings",
                creator_id="ada",
                age=2 * HOUR,
                labels=["digest"],
                type="feature",
                agreements=(4, 0),
                comments=[(username, "Good idea: /stomt digest weekly 09:00 does it.", HOUR)],
            ),
            dict(
                text="that the bot answers within a second",
                positive=True,
                creator_id="grace",
                age=5 * HOUR,
                labels=["performance", "slack"],
                state="seen",
                agreements=(7, 1),
                comments=[
                    ("ada", "Same here, even with many jobs.", 4 * HOUR),
                    ("linus", "Fast enough.", 3 * HOUR),
                ],
            ),
            dict(
                text="I could delete stomts from a thread",
                creator_id="linus",
                age=20 * HOUR,
                type="improvement",
                state="indiscussion",
                complexity="low",
                agreements=(2, 0),
            ),
            dict(
                text="running deploys from Slack",
                positive=True,
                creator_id="ada",
                age=3 * DAY,
                labels=["flint"],
                state="released",
                agreements=(12, 0),
            ),
            dict(
                text="der Bot Deutsch sprechen könnte",
                creator_id="grace",
                age=9 * DAY,
                lang="de",
                anonym=True,
                type="feature",
                state="seen",
                agreements=(1, 2),
            ),
            dict(
                text="error messages said what to type instead",
                creator_id="grace",
                age=30 * DAY,
                labels=["ux"],
                type="bug",
                state="implemented",
                severity="heavy",
                agreements=(5, 0),
                comments=[(username, "Done: every error now shows the usage.", 20 * DAY)],
            ),
            dict(
                text="the confirm dialog before deleting",
                positive=True,
                creator_id="linus",
                age=45 * DAY,
                agreements=(1, 0),
            ),
            dict(
                text="that the STOMT API is so simple",
                positive=True,
                creator_id=DEMO_TARGET,
                target_id=STOMT_TARGET,
                age=2 * DAY,
                agreements=(3, 0),
            ),
            dict(
                text="STOMT had webhooks for new stomts",
                creator_id=DEMO_TARGET,
                target_id=STOMT_TARGET,
                age=12 * DAY,
                type="feature",
                agreements=(9, 0),
            ),
        ]
        for seed in sorted(seeds, key=lambda s: -s["age"]):
            self.add_stomt(**seed)

    # -- rendering ----------------------------------------------------------------------

    def _target_json(self, target: TargetRecord) -> dict[str, Any]:
        created = sum(1 for s in self.stomts.values() if s.creator_id == target.id)
        received = sum(1 for s in self.stomts.values() if s.target_id == target.id)
        return {
            "id": target.id,
            "displayname": target.displayname,
            "category": {"id": target.category, "displayname": CATEGORIES[target.category]},
            "images": {"profile": {"url": f"https://stomt.co/images/{target.id}.png"}},
            "premium": False,
            "verified": target.verified,
            "secret": False,
            "stats": {
                "amountFollowers": target.followers,
                "amountFollows": 0,
                "amountStomtsCreated": created,
                "amountStomtsReceived": received,
            },
            "description": target.description,
            "websites": [],
        }

    def _creator_json(self, creator_id: str, anonym: bool) -> dict[str, Any]:
        if anonym or creator_id not in self.targets:
            return {"id": None, "displayname": "Anonymous", "category": None}
        return self._target_json(self.targets[creator_id])

    def _stomt_json(self, s: StomtRecord) -> dict[str, Any]:
        prefix = "I like" if s.positive else "I wish"
        positive, negative = s.agreements
        return {
            "id": s.id,
            "num": s.num,
            "positive": s.positive,
            "text": s.text,
            "details": s.details,
            "textHtml": _html(s.text),
            "textBeginning": f"{prefix} {s.text}"[:80],
            "textFull": f"{prefix} {s.text}",
            "lang": s.lang,
            "type": s.type,
            "state": s.state,
            "severity": s.severity,
            "complexity": s.complexity,
            "created_at": _iso(s.created_at),
            "anonym": s.anonym,
            "images": {},
            "files": [{"file_uid": f.uid, "filename": f.filename, "url": f.url} for f in s.files],
            "creator": self._creator_json(s.creator_id, s.anonym),
            "target": self._target_json(self.targets[s.target_id]),
            "amountAgreements": positive + negative,
            "amountPositive": positive,
            "amountNegative": negative,
            "amountComments": len(s.comments),
            "shortlink": s.shortlink,
            "url": s.url,
            "labels": [{"name": label} for label in s.labels],
            "extradata": {**s.extradata, "labels": list(s.labels)},
        }

    def _comment_json(self, stomt: StomtRecord, c: CommentRecord) -> dict[str, Any]:
        owners = self.targets[stomt.target_id].owners
        return {
            "id": c.id,
            "text": c.text,
            "state": "published",
            "created_at": _iso(c.created_at),
            "anonym": False,
            "reaction": False,
            "creator": self._creator_json(c.creator_id, False),
            "byStomtCreator": c.creator_id == stomt.creator_id,
            "byTargetOwner": c.creator_id in owners,
            "amountSubcomments": 0,
            "amountVotes": 0,
            "amountPositive": 0,
            "amountNegative": 0,
            "subs": [],
        }


# -- helpers ----------------------------------------------------------------------------


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"meta": {}, "data": data})


def _fail(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"data": [], "error": message, "meta": []}, status_code)


def _uid(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _html(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<p>{escaped}</p>"


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = decode_json(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _optional(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(400, f"The {name} field has the wrong type.")
    return value


def _number(text: str | None, name: str, kind: type, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return kind(text)
    except ValueError:
        raise ApiError(400, f"The {name} must be a number.") from None


def create_app(
    *,
    appid: str = DEMO_APPID,
    username: str = DEMO_USERNAME,
    password: str = DEMO_PASSWORD,
    token_ttl: float = 3600.0,
) -> Starlette:
    """A STOMT sandbox app; its state is ``app.state.sandbox`` and ``app.state.calls``."""
    sandbox = StomtSandbox(appid=appid, username=username, password=password, token_ttl=token_ttl)
    calls: list[Call] = []
    listing = sandbox.target_stomts
    app = Starlette(
        routes=[
            Route("/authentication/session", sandbox.login, methods=["POST"]),
            Route("/stomts", sandbox.create_stomt, methods=["POST"]),
            Route("/stomts/{stomt_id}", sandbox.get_stomt, methods=["GET"]),
            Route("/stomts/{stomt_id}", sandbox.delete_stomt, methods=["DELETE"]),
            Route("/stomts/{stomt_id}/comments", sandbox.comments, methods=["GET"]),
            Route("/targets/{target_id}", sandbox.get_target, methods=["GET"]),
            Route("/targets/{target_id}/stomts", listing, methods=["GET"]),
            Route("/targets/{target_id}/stomts/{type}", listing, methods=["GET"]),
            Route("/targets/{target_id}/stomts/{type}/{second_type}", listing, methods=["GET"]),
            Route("/files", sandbox.upload_files, methods=["POST"]),
            Route("/files/{file_uid}", sandbox.download_file, methods=["GET"]),
        ],
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
