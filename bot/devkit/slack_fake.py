"""A Slack Web API fake, for the console, local development and tests.

``SlackFake().app`` is a Starlette app answering ``/api/{method}`` the way slack.com does
for the methods this project uses, plus the two URLs Slack hands out: file upload URLs
(``/upload/{file_id}``) and interaction ``response_url`` s (``/respond/{token}``).

It reads requests exactly as ``slack_sdk.web.async_client.AsyncWebClient`` sends them:

* JSON bodies for chat.postMessage, chat.update, chat.postEphemeral and views.*;
* query parameters on an empty POST for auth.test, chat.delete, conversations.join,
  files.getUploadURLExternal, files.completeUploadExternal, apps.connections.open and
  functions.completeSuccess|completeError (``outputs`` as a JSON string);
* GET with query parameters for chat.getPermalink, users.info, usergroups.users.list;
* form bodies (``blocks``/``attachments``/``view`` as JSON strings) from other clients.

The token comes from ``Authorization: Bearer`` (or a ``token`` form field, as Slack still
accepts): none gives ``not_authed``; a bot token must start with ``bot_token_prefix`` and
apps.connections.open wants an app-level ``xapp-`` token (one of ``app_tokens`` when set:
any other gets ``invalid_auth``). Blocks are checked against Block Kit's documented limits
(50 blocks a message, 3000 characters a section, 24 a modal title...) and rejected with
``invalid_blocks`` like Slack does.

What it saw and what users would see:

* ``calls``: every request as a ``SlackCall`` (method, args, time.monotonic(), seq);
* ``messages``: ``{(channel, ts): message}`` as it stands now (``edits`` counts updates);
* ``ephemeral``, ``responses`` (response_url posts), ``files``, ``views``;
* ``home_views``: each user's published Home tab (views.publish);
* ``executions``: workflow step runs begun with ``execute_function`` (a
  ``function_executed`` event to send the app), each completed at most once with its
  own ``xwfp-`` token (functions.completeSuccess|completeError).

These are replaced, never mutated in place, on each change, so another thread may iterate
them while the server runs; read them again for the newest state.

Make it misbehave with ``fail_next(method, ...)`` and ``inaccessible_channels``. Watch it
with ``on_event(callback)`` (called in the server's event loop with a ``SlackEvent``).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.devkit.slack_requests import function_executed_event

log = logging.getLogger(__name__)

FIRST_TS = 1_700_000_000_000_100  # microseconds; the first ts minted is "1700000000.000100"
TS_STEP = 100

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID = 255
MAX_VIEW_TITLE = 24
MAX_LABEL = 2000
MAX_OPTIONS = 100  # a static_select's options
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PRIVATE_METADATA = 3000

# Form fields that carry JSON, and the error Slack gives when they do not parse.
JSON_FIELDS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "view": "invalid_arguments",
    "files": "invalid_arguments",
    "metadata": "invalid_metadata_format",
    "outputs": "invalid_arguments",
}

EventCallback = Callable[["SlackEvent"], Awaitable[None] | None]

# Slack's function execution tokens ("workflow function permission"), e.g. xwfp-….
FUNCTION_TOKEN_PREFIX = "xwfp-"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class FunctionExecution:
    """A workflow step run as Slack sees it: running until the app completes it once."""

    execution_id: str
    callback_id: str
    inputs: dict[str, Any]
    token: str
    state: str = "running"  # running, completed (completeSuccess) or failed (completeError)
    outputs: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class SlackCall:
    """One request to ``/api/{method}``; ``error`` is the error code answered, if any."""

    method: str
    args: dict[str, Any]
    at: float
    seq: int
    token: str | None = None
    error: str | None = None
    # Set once the fake has answered: a call seen while its handler still runs (e.g. the
    # view not stored yet) is not "ok" yet.
    answered: bool = False

    @property
    def ok(self) -> bool:
        return self.answered and self.error is None


@dataclass(frozen=True)
class SlackEvent:
    """Something users would see change.

    ``kind`` is one of ``posted``, ``updated``, ``deleted`` (``data`` is the message),
    ``ephemeral``, ``response`` (a response_url post), ``file``, ``view_opened``,
    ``view_pushed``, ``view_updated`` (``data`` is the view).
    """

    kind: str
    data: dict[str, Any]


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class _ResponseUrl:
    channel_id: str | None
    message_ts: str | None
    uses: int = 0


class SlackError(Exception):
    """Answered as ``{"ok": false, "error": code, **extra}``."""

    def __init__(
        self, error: str, status: int = 200, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers
        self.extra = extra


def invalid_arguments(*problems: str) -> SlackError:
    return SlackError(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
    )


@dataclass
class _Request:
    """What a method handler needs from the HTTP request."""

    args: dict[str, Any]
    token: str | None
    base_url: str


@dataclass(kw_only=True, eq=False)
class SlackFake:
    """The fake; see the module docstring. Serve ``.app`` with uvicorn."""

    bot_token_prefix: str = "xoxb-"  # noqa: S105 - a prefix, not a secret
    socket_mode_url: str | Callable[[], str] | None = None
    # The app-level tokens Slack knows; None: any xapp- token. Another xapp- token gets
    # invalid_auth from apps.connections.open, as a revoked or mistyped one does.
    app_tokens: set[str] | None = None
    bot_user_id: str = "UBOTFAKE"
    team_id: str = "T00000001"
    team_domain: str = "chatops-fake"
    bot_id: str = "BFAKE0001"
    app_id: str = "A0001"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    inaccessible_channels: set[str] = field(default_factory=set)
    validate_blocks: bool = True
    response_url_max_uses: int | None = None  # Slack allows 5; None: unlimited

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[EventCallback] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        # Never reset: a ts or id stays unique for the fake's whole life.
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._next_ts = FIRST_TS
        self._clear()
        self._methods: dict[str, Callable[[_Request], Awaitable[dict[str, Any]]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.join": self._conversations_join,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "functions.completeSuccess": self._functions_complete_success,
            "functions.completeError": self._functions_complete_error,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "apps.connections.open": self._apps_connections_open,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route("/respond/{token}", self._respond, methods=["POST"]),
            ]
        )

    # -- state ------------------------------------------------------------------------

    def _clear(self) -> None:
        with self._lock:
            self.calls: list[SlackCall] = []
            self.messages: dict[tuple[str, str], dict[str, Any]] = {}
            self.ephemeral: list[dict[str, Any]] = []
            self.responses: list[dict[str, Any]] = []
            self.files: list[dict[str, Any]] = []
            self.views: dict[str, dict[str, Any]] = {}
            # Each user's published Home tab, as it stands now.
            self.home_views: dict[str, dict[str, Any]] = {}
            # Workflow step executions started with ``execute_function``, by execution id.
            self.executions: dict[str, FunctionExecution] = {}
            self._failures.clear()
            self._pending_uploads.clear()

    def reset(self) -> None:
        """Forget calls, messages, files, views, responses and pending failures.

        Timestamps and ids keep increasing. Configuration (users, usergroups,
        inaccessible_channels, socket_mode_url), minted response URLs and event callbacks
        stay.
        """
        self._clear()

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``error``.

        ``ratelimited`` defaults to HTTP 429 with ``Retry-After: 1`` like Slack; other
        errors to 200. ``method`` may also be ``upload`` or ``respond`` (the upload and
        response URLs), which then answer ``status`` (default 500) with ``error`` as text.
        """
        if status is None:
            if method in ("upload", "respond"):
                status = 500
            else:
                status = 429 if error == "ratelimited" else 200
        if retry_after is None and status == 429:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method, deque()).append(
                _Failure(error, status, retry_after, times)
            )

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return failure

    def response_url(
        self, base_url: str, *, channel_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """A new response URL served by this fake at ``base_url``.

        Bound to a message (``channel_id``/``message_ts``), ``replace_original`` and
        ``delete_original`` posts change that message like Slack does.
        """
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._response_urls[token] = _ResponseUrl(channel_id, message_ts)
        return f"{base_url.rstrip('/')}/respond/{token}"

    def on_event(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(SlackEvent)`` (sync or async) in the server's loop on each
        visible change. Returns a function that unsubscribes."""
        with self._lock:
            self._listeners = [*self._listeners, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [cb for cb in self._listeners if cb is not callback]

        return unsubscribe

    def subscribe(self) -> asyncio.Queue[SlackEvent]:
        """A queue of events; only for a consumer running in the server's own loop."""
        queue: asyncio.Queue[SlackEvent] = asyncio.Queue()
        self.on_event(queue.put_nowait)
        return queue

    async def _emit(self, kind: str, data: dict[str, Any]) -> None:
        event = SlackEvent(kind, dict(data))
        for callback in self._listeners:
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # A broken renderer must not turn into a Slack error for the app.
                log.exception("SlackFake event callback failed for %s", kind)

    def _mint_ts(self) -> str:
        with self._lock:
            value = self._next_ts
            self._next_ts += TS_STEP
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def _mint_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):010d}"

    def _store_message(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages = {**self.messages, (message["channel"], message["ts"]): message}

    def _drop_message(self, key: tuple[str, str]) -> None:
        with self._lock:
            self.messages = {k: v for k, v in self.messages.items() if k != key}

    def _append(self, name: str, item: Any) -> None:
        with self._lock:
            setattr(self, name, [*getattr(self, name), item])

    # -- HTTP -------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        at = time.monotonic()
        args: dict[str, Any] = {}
        parse_error: SlackError | None = None
        try:
            args = await _read_args(request)
            _decode_json_fields(args)  # in place: a bad field still leaves the rest recorded
        except SlackError as exc:
            parse_error = exc
        token = _bearer(request) or args.get("token")
        args.pop("token", None)
        with self._lock:
            call = SlackCall(method, args, at, next(self._seq), token)
            self.calls = [*self.calls, call]
        try:
            if parse_error is not None:
                raise parse_error
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            failure = self._take_failure(method)
            if failure is not None:
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                raise SlackError(failure.error, failure.status, headers=headers)
            self._check_token(method, token)
            body = await handler(_Request(args, token, str(request.base_url).rstrip("/")))
        except SlackError as exc:
            call.error = exc.error
            body = {"ok": False, "error": exc.error, **exc.extra}
            return JSONResponse(body, exc.status, headers=exc.headers)
        finally:
            call.answered = True
        return JSONResponse({"ok": True, **body})

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if method == "apps.connections.open":
            if token.startswith("xapp-"):
                if self.app_tokens is not None and token not in self.app_tokens:
                    raise SlackError("invalid_auth")
                return
            if token.startswith(("xoxb-", "xoxp-")):
                raise SlackError("not_allowed_token_type")
            raise SlackError("invalid_auth")
        if token.startswith(self.bot_token_prefix):
            return
        if token.startswith(FUNCTION_TOKEN_PREFIX):
            # A function execution's own token; Slack keeps it valid for the run's life.
            if not any(run.token == token for run in self.executions.values()):
                raise SlackError("invalid_auth")
            return
        if token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        content = await request.body()
        failure = self._take_failure("upload")
        if failure is not None:
            return PlainTextResponse(failure.error, failure.status)
        with self._lock:
            pending = self._pending_uploads.get(file_id)
            if pending is None:
                return PlainTextResponse("file_not_found", 404)
            pending["content"] = content
        return PlainTextResponse(f"OK - {len(content)}")

    async def _respond(self, request: Request) -> Response:
        token = request.path_params["token"]
        failure = self._take_failure("respond")
        if failure is not None:
            return PlainTextResponse(failure.error, failure.status)
        with self._lock:
            url = self._response_urls.get(token)
            if url is None:
                return PlainTextResponse("expired_url", 404)
            if self.response_url_max_uses is not None and url.uses >= self.response_url_max_uses:
                return PlainTextResponse("used_url", 404)
            url.uses += 1
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return PlainTextResponse("invalid_payload", 400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", 400)
        if not any(body.get(k) for k in ("delete_original", "text", "blocks", "attachments")):
            return PlainTextResponse("no_text", 400)
        try:
            self._check_blocks(body.get("blocks"), MAX_MESSAGE_BLOCKS)
        except SlackError as exc:
            return PlainTextResponse(exc.error, 400)
        post = {
            **body,
            "token": token,
            "response_type": body.get("response_type") or "ephemeral",
            "text": body.get("text", ""),
            "blocks": body.get("blocks"),
            "replace_original": _flag(body.get("replace_original")),
            "delete_original": _flag(body.get("delete_original")),
            "thread_ts": body.get("thread_ts"),
            "at": time.monotonic(),
        }
        self._append("responses", post)
        await self._emit("response", post)
        await self._apply_response_to_message(url, post)
        return PlainTextResponse("ok")

    async def _apply_response_to_message(self, url: _ResponseUrl, post: dict[str, Any]) -> None:
        if url.channel_id is None or url.message_ts is None:
            return
        key = (url.channel_id, url.message_ts)
        original = self.messages.get(key)
        if original is None:
            return
        if post["delete_original"]:
            self._drop_message(key)
            await self._emit("deleted", original)
        elif post["replace_original"]:
            changes: dict[str, Any] = {
                k: post[k] for k in ("text", "blocks", "attachments") if k in post
            }
            updated = {**original, **changes, "edits": original["edits"] + 1}
            self._store_message(updated)
            await self._emit("updated", updated)

    # -- methods ----------------------------------------------------------------------

    async def _auth_test(self, req: _Request) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "ChatOps Fake",
            "user": "chatops",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _postable_channel(self, args: dict[str, Any], name: str = "channel") -> str:
        channel = args.get(name)
        if not channel:
            raise SlackError("channel_not_found")
        if channel in self.inaccessible_channels:
            raise SlackError("not_in_channel")
        return str(channel)

    def _require_content(self, args: dict[str, Any]) -> None:
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise SlackError("no_text")
        self._check_blocks(args.get("blocks"), MAX_MESSAGE_BLOCKS)

    def _public(self, message: dict[str, Any]) -> dict[str, Any]:
        hidden = {"channel", "edits"}
        return {k: v for k, v in message.items() if k not in hidden and v is not None}

    async def _chat_post_message(self, req: _Request) -> dict[str, Any]:
        args = req.args
        channel = self._postable_channel(args)
        self._require_content(args)
        ts = self._mint_ts()
        message = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": args.get("text") or "",
            "blocks": args.get("blocks"),
            "attachments": args.get("attachments"),
            "thread_ts": args.get("thread_ts") or None,
            "reply_broadcast": _flag(args.get("reply_broadcast")) or None,
            "metadata": args.get("metadata"),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "edits": 0,
        }
        self._store_message(message)
        await self._emit("posted", message)
        return {"channel": channel, "ts": ts, "message": self._public(message)}

    def _existing(self, args: dict[str, Any], ts_name: str = "ts") -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get(ts_name)
        if not channel:
            raise SlackError("channel_not_found")
        message = self.messages.get((str(channel), str(ts)))
        if message is None:
            raise SlackError("message_not_found")
        return message

    async def _chat_update(self, req: _Request) -> dict[str, Any]:
        original = self._existing(req.args)
        changes: dict[str, Any] = {
            k: req.args[k] for k in ("text", "blocks", "attachments", "metadata") if k in req.args
        }
        merged = {**original, **changes}
        self._require_content(merged)
        updated = {**merged, "text": merged.get("text") or "", "edits": original["edits"] + 1}
        self._store_message(updated)
        await self._emit("updated", updated)
        return {
            "channel": updated["channel"],
            "ts": updated["ts"],
            "text": updated["text"],
            "message": self._public(updated),
        }

    async def _chat_post_ephemeral(self, req: _Request) -> dict[str, Any]:
        args = req.args
        channel = self._postable_channel(args)
        if not args.get("user"):
            raise SlackError("user_not_in_channel")
        self._require_content(args)
        ts = self._mint_ts()
        message = {
            "channel": channel,
            "user": args["user"],
            "ts": ts,
            "text": args.get("text") or "",
            "blocks": args.get("blocks"),
            "attachments": args.get("attachments"),
            "thread_ts": args.get("thread_ts") or None,
        }
        self._append("ephemeral", message)
        await self._emit("ephemeral", message)
        return {"message_ts": ts}

    async def _chat_delete(self, req: _Request) -> dict[str, Any]:
        message = self._existing(req.args)
        self._drop_message((message["channel"], message["ts"]))
        await self._emit("deleted", message)
        return {"channel": message["channel"], "ts": message["ts"]}

    async def _chat_get_permalink(self, req: _Request) -> dict[str, Any]:
        # Lenient: the fake cannot know messages other users posted, so any ts has a link.
        channel, ts = req.args.get("channel"), req.args.get("message_ts")
        if not channel:
            raise SlackError("channel_not_found")
        if not ts:
            raise SlackError("message_not_found")
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        )
        stored = self.messages.get((str(channel), str(ts)))
        if stored and stored.get("thread_ts") and stored["thread_ts"] != ts:
            link += f"?thread_ts={stored['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    async def _conversations_join(self, req: _Request) -> dict[str, Any]:
        channel = req.args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        joined = channel in self.inaccessible_channels
        self.inaccessible_channels.discard(channel)
        body: dict[str, Any] = {
            "channel": {
                "id": channel,
                "name": str(channel).lower(),
                "is_channel": True,
                "is_private": False,
                "is_member": True,
            }
        }
        if not joined:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    async def _users_info(self, req: _Request) -> dict[str, Any]:
        user_id = str(req.args.get("user") or "")
        if user_id in self.users:
            return {"user": {"id": user_id, "team_id": self.team_id, **self.users[user_id]}}
        if not user_id.startswith(("U", "W")):
            raise SlackError("user_not_found")
        name = user_id.lower()
        return {
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": f"User {user_id}",
                "deleted": False,
                "is_bot": user_id == self.bot_user_id,
                "tz": "Europe/Oslo",
                "tz_offset": 3600,
                "profile": {
                    "display_name": name,
                    "real_name": f"User {user_id}",
                    "email": f"{name}@example.com",
                },
            }
        }

    async def _usergroups_users_list(self, req: _Request) -> dict[str, Any]:
        group = req.args.get("usergroup")
        if not group or group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    # -- views ------------------------------------------------------------------------

    def _new_view(self, spec: Any, *, view_id: str, root_view_id: str) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise invalid_arguments("missing required field: view")
        self._check_view(spec)
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec["type"],
            "title": spec.get("title"),
            "submit": spec.get("submit"),
            "close": spec.get("close"),
            "blocks": spec.get("blocks") or [],
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "external_id": spec.get("external_id", ""),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "previous_view_id": None,
            "root_view_id": root_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _store_view(self, view: dict[str, Any]) -> None:
        with self._lock:
            self.views = {**self.views, view["id"]: view}

    async def _open_view(self, req: _Request, kind: str) -> dict[str, Any]:
        if not req.args.get("trigger_id"):
            raise invalid_arguments("missing required field: trigger_id")
        view_id = self._mint_id("V")
        view = self._new_view(req.args.get("view"), view_id=view_id, root_view_id=view_id)
        self._store_view(view)
        await self._emit(kind, view)
        return {"view": view}

    async def _views_open(self, req: _Request) -> dict[str, Any]:
        return await self._open_view(req, "view_opened")

    async def _views_push(self, req: _Request) -> dict[str, Any]:
        return await self._open_view(req, "view_pushed")

    async def _views_update(self, req: _Request) -> dict[str, Any]:
        view_id, external_id = req.args.get("view_id"), req.args.get("external_id")
        if not view_id and not external_id:
            raise invalid_arguments("missing required field: view_id or external_id")
        current = self.views.get(str(view_id)) if view_id else None
        if current is None and external_id:
            current = next(
                (v for v in self.views.values() if v["external_id"] == external_id), None
            )
        if current is None:
            raise SlackError("not_found")
        expected = req.args.get("hash")
        if expected and expected != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._new_view(
            req.args.get("view"), view_id=current["id"], root_view_id=current["root_view_id"]
        )
        view["state"] = current["state"]
        self._store_view(view)
        await self._emit("view_updated", view)
        return {"view": view}

    async def _views_publish(self, req: _Request) -> dict[str, Any]:
        user_id = req.args.get("user_id")
        if not user_id:
            raise invalid_arguments("missing required field: user_id")
        if not isinstance(user_id, str) or not user_id.startswith(("U", "W")):
            raise SlackError("user_not_found")
        spec = req.args.get("view")
        if isinstance(spec, dict) and spec.get("type") != "home":
            raise invalid_arguments("must be home [json-pointer:/view/type]")
        current = self.home_views.get(user_id)
        expected = req.args.get("hash")
        if expected and current is not None and expected != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current is not None else self._mint_id("V")
        view = self._new_view(spec, view_id=view_id, root_view_id=view_id)
        with self._lock:
            self.home_views = {**self.home_views, user_id: view}
        await self._emit("home_published", {"user": user_id, "view": view})
        return {"view": view}

    # -- workflow steps (functions) -----------------------------------------------------

    def execute_function(
        self, callback_id: str, inputs: dict[str, Any], *, execution_id: str | None = None
    ) -> dict[str, Any]:
        """A workflow reaches the app's step ``callback_id``: the ``function_executed``
        event Slack then sends the app (wrap it with ``event_callback_payload``). The
        execution stays running until the app completes it with its token."""
        event = function_executed_event(
            callback_id, inputs, execution_id=execution_id, api_app_id=self.app_id
        )
        run = FunctionExecution(
            execution_id=event["function_execution_id"],
            callback_id=callback_id,
            inputs=dict(inputs),
            token=event["bot_access_token"],
        )
        with self._lock:
            self.executions = {**self.executions, run.execution_id: run}
        return event

    def _execution(self, req: _Request) -> FunctionExecution:
        execution_id = req.args.get("function_execution_id")
        if not execution_id:
            raise invalid_arguments("missing required field: function_execution_id")
        run = self.executions.get(str(execution_id))
        if run is None:
            raise SlackError("function_execution_not_found")
        if req.token != run.token:
            raise SlackError("access_denied")
        if run.state != "running":
            raise SlackError("execution_not_in_running_state")
        return run

    async def _functions_complete_success(self, req: _Request) -> dict[str, Any]:
        run = self._execution(req)
        outputs = req.args.get("outputs")
        if not isinstance(outputs, dict):
            raise SlackError("parameter_validation_failed", errors=["outputs must be an object"])
        self._end(run, state="completed", outputs=outputs)
        await self._emit("function_completed", {"execution_id": run.execution_id})
        return {}

    async def _functions_complete_error(self, req: _Request) -> dict[str, Any]:
        run = self._execution(req)
        error = req.args.get("error")
        if not isinstance(error, str) or not error:
            raise invalid_arguments("missing required field: error")
        self._end(run, state="failed", error=error)
        await self._emit("function_failed", {"execution_id": run.execution_id})
        return {}

    def _end(self, run: FunctionExecution, **values: Any) -> None:
        with self._lock:
            ended = replace(run, **values)
            self.executions = {**self.executions, run.execution_id: ended}

    # -- files ------------------------------------------------------------------------

    async def _files_get_upload_url_external(self, req: _Request) -> dict[str, Any]:
        filename, length = req.args.get("filename"), req.args.get("length")
        if not filename or length is None:
            raise invalid_arguments("missing required field: filename and length")
        try:
            size = int(length)
        except (TypeError, ValueError):
            raise invalid_arguments("length must be an integer") from None
        file_id = self._mint_id("F")
        with self._lock:
            self._pending_uploads[file_id] = {
                "filename": str(filename),
                "length": size,
                "alt_txt": req.args.get("alt_txt"),
                "snippet_type": req.args.get("snippet_type"),
                "content": None,
            }
        return {"upload_url": f"{req.base_url}/upload/{file_id}", "file_id": file_id}

    async def _files_complete_upload_external(self, req: _Request) -> dict[str, Any]:
        items = req.args.get("files")
        if not isinstance(items, list) or not items:
            raise invalid_arguments("missing required field: files")
        channel_id = req.args.get("channel_id") or None
        channels = [c for c in str(req.args.get("channels") or "").split(",") if c]
        for channel in [channel_id, *channels]:
            if channel and channel in self.inaccessible_channels:
                raise SlackError("not_in_channel")
        thread_ts = req.args.get("thread_ts") or None
        if thread_ts and not channel_id:
            raise invalid_arguments("thread_ts requires channel_id")
        with self._lock:
            pending = []
            for item in items:
                upload = self._pending_uploads.get(str(item.get("id")))
                if upload is None or upload["content"] is None:
                    raise SlackError("file_not_found")
                pending.append((item, upload))
            for item, _ in pending:
                self._pending_uploads.pop(str(item["id"]))
        stored, public = [], []
        for item, upload in pending:
            file_id = str(item["id"])
            record = {
                "id": file_id,
                "filename": upload["filename"],
                "title": item.get("title") or upload["filename"],
                "content": upload["content"],
                "length": upload["length"],
                "alt_txt": upload["alt_txt"],
                "snippet_type": upload["snippet_type"],
                "channel_id": channel_id,
                "channels": channels,
                "thread_ts": thread_ts,
                "initial_comment": req.args.get("initial_comment") or None,
            }
            stored.append(record)
            public.append(
                {
                    "id": file_id,
                    "name": record["filename"],
                    "title": record["title"],
                    "size": len(record["content"]),
                    "user": self.bot_user_id,
                    "permalink": f"https://{self.team_domain}.slack.com/files/"
                    f"{self.bot_user_id}/{file_id}/{record['filename']}",
                    "url_private": f"{req.base_url}/files/{file_id}",
                }
            )
        with self._lock:
            self.files = [*self.files, *stored]
        for record in stored:
            await self._emit("file", record)
        return {"files": public}

    async def _apps_connections_open(self, req: _Request) -> dict[str, Any]:
        url = self.socket_mode_url
        if callable(url):
            url = url()
        if not url:
            raise SlackError(
                "socket_mode_not_configured", detail="SlackFake(socket_mode_url=...) is unset"
            )
        return {"url": url}

    # -- validation -------------------------------------------------------------------

    def _check_blocks(self, blocks: Any, limit: int) -> None:
        if blocks is None or not self.validate_blocks:
            return
        problems = block_problems(blocks, limit)
        if problems:
            raise SlackError(
                "invalid_blocks",
                errors=problems,
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )

    def _check_view(self, view: dict[str, Any]) -> None:
        problems = []
        kind = view.get("type")
        if kind not in ("modal", "home"):
            problems.append("must be one of: modal, home [json-pointer:/view/type]")
        if kind == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or not title.get("text"):
                problems.append("missing required field: title [json-pointer:/view/title]")
            for name in ("title", "submit", "close"):
                text = (view.get(name) or {}).get("text", "")
                if len(text) > MAX_VIEW_TITLE:
                    problems.append(
                        f"must be less than {MAX_VIEW_TITLE + 1} characters "
                        f"[json-pointer:/view/{name}/text]"
                    )
        if len(view.get("private_metadata") or "") > MAX_PRIVATE_METADATA:
            problems.append(
                f"must be less than {MAX_PRIVATE_METADATA + 1} characters "
                "[json-pointer:/view/private_metadata]"
            )
        if len(view.get("callback_id") or "") > MAX_ID:
            problems.append("must be less than 256 characters [json-pointer:/view/callback_id]")
        if problems:
            raise invalid_arguments(*problems)
        if self.validate_blocks:
            found = block_problems(view.get("blocks") or [], MAX_VIEW_BLOCKS, "/view/blocks")
            if found:
                raise invalid_arguments(*found)


def block_problems(blocks: Any, limit: int, pointer: str = "/blocks") -> list[str]:
    """Block Kit limit violations, phrased like Slack's ``invalid_blocks`` errors."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    problems = []
    if len(blocks) > limit:
        problems.append(f"must contain at most {limit} items [json-pointer:{pointer}]")
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type [json-pointer:{at}]")
            continue
        problems += _too_long(block.get("block_id"), MAX_ID, f"{at}/block_id")
        kind = block["type"]
        if kind == "section":
            if not block.get("text") and not block.get("fields"):
                problems.append(f"must provide either text or fields [json-pointer:{at}]")
            problems += _text_problems(block.get("text"), MAX_SECTION_TEXT, f"{at}/text")
            fields = block.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(f"must contain at most 10 items [json-pointer:{at}/fields]")
            for j, item in enumerate(fields):
                problems += _text_problems(item, MAX_FIELD_TEXT, f"{at}/fields/{j}")
            if isinstance(block.get("accessory"), dict):
                problems += _element_problems(block["accessory"], f"{at}/accessory")
        elif kind == "header":
            problems += _text_problems(block.get("text"), MAX_HEADER_TEXT, f"{at}/text")
        elif kind == "context":
            if len(block.get("elements") or []) > MAX_CONTEXT_ELEMENTS:
                problems.append(f"must contain at most 10 items [json-pointer:{at}/elements]")
        elif kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                problems.append(f"must contain at most 25 items [json-pointer:{at}/elements]")
            for j, element in enumerate(elements):
                problems += _element_problems(element, f"{at}/elements/{j}")
        elif kind == "input":
            problems += _text_problems(block.get("label"), MAX_LABEL, f"{at}/label")
            if block.get("label") is None:
                problems.append(f"missing required field: label [json-pointer:{at}]")
            problems += _element_problems(block.get("element"), f"{at}/element")
    return problems


def _too_long(value: Any, limit: int, at: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []


def _text_problems(text: Any, limit: int, at: str) -> list[str]:
    if text is None:
        return []
    if not isinstance(text, dict) or text.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object (plain_text or mrkdwn) [json-pointer:{at}]"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    return _too_long(value, limit, f"{at}/text")


def _element_problems(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{at}]"]
    problems = _too_long(element.get("action_id"), MAX_ID, f"{at}/action_id")
    if element.get("type") == "button":
        problems += _text_problems(element.get("text"), MAX_BUTTON_TEXT, f"{at}/text")
        problems += _too_long(element.get("value"), MAX_BUTTON_VALUE, f"{at}/value")
    options = element.get("options")
    if element.get("type") == "static_select" and not element.get("option_groups"):
        if not isinstance(options, list) or not options:
            problems.append(f"must provide options [json-pointer:{at}/options]")
        elif len(options) > MAX_OPTIONS:
            problems.append(f"must contain at most 100 items [json-pointer:{at}/options]")
    for j, option in enumerate(options if isinstance(options, list) else []):
        problems += _option_problems(option, f"{at}/options/{j}")
    if element.get("initial_option") is not None:
        problems += _option_problems(element["initial_option"], f"{at}/initial_option")
    most = element.get("max_length")
    if isinstance(most, int):
        problems += _too_long(element.get("initial_value"), most, f"{at}/initial_value")
    return problems


def _option_problems(option: Any, at: str) -> list[str]:
    if not isinstance(option, dict):
        return [f"must be an object [json-pointer:{at}]"]
    problems = _text_problems(option.get("text"), MAX_OPTION_TEXT, f"{at}/text")
    value = option.get("value")
    if not isinstance(value, str) or not value:
        problems.append(f"must be more than 0 characters [json-pointer:{at}/value]")
    return problems + _too_long(value, MAX_OPTION_VALUE, f"{at}/value")


async def _read_args(request: Request) -> dict[str, Any]:
    """Query parameters, then the form or JSON body."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body:
        if content_type == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(data, dict):
                raise SlackError("invalid_json")
            args.update(data)
        elif content_type in ("application/x-www-form-urlencoded", ""):
            args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            raise SlackError("invalid_form_data")
    return args


def _decode_json_fields(args: dict[str, Any]) -> None:
    """Form fields that carry JSON (``blocks``, ``view``...) become lists and dicts."""
    for name, error in JSON_FIELDS.items():
        if isinstance(args.get(name), str):
            try:
                args[name] = json.loads(args[name])
            except ValueError:
                raise SlackError(error) from None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)
