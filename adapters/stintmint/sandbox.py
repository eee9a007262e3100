"""A Stintmint service faithful to Stintmint's API document, for the console, development and tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point
``STINTMINT_URL`` at ``http://host:port/stintmint``. It checks Basic auth (email and
developer key) and every request body as the document describes, and knows two StintFlows:

    demo         any descriptors; modules ``check`` then ``review``
    moderation   descriptors ``content`` (mandatory), ``author``, ``link``; module ``triage``

Endpoints (all ``POST`` with a JSON body): ``/post`` queues data for a StintFlow;
``/fetch`` answers ``identifier``/``sfId`` with the request's status and responses, and with
``stateId`` the responses of that one module. A request is ``PENDING`` until
``complete_after`` seconds after it was posted, then ``COMPLETED`` with one made-up human
response per descriptor (``{"name", "answer", "worker"}``) and a cost; module ``i`` of ``n``
completes at ``(i + 1) / n`` of that time. On completion the sandbox POSTs the document's
callback body to the request's ``callbackUrl`` (or the account's ``callback_url``), retrying
every ``retry_interval`` seconds until an answer is exactly 200, at most ``max_attempts``
times, like the real service.

Seeded: ``demo``'s request ``order-1041`` (two descriptors), posted a day ago and
``COMPLETED`` in both modules (its callback long delivered), so ``/fetch`` has something
to answer, also per ``stateId``, before anything was posted.

State: ``app.state.calls`` records each answer (``Call(at, method, path, status)``);
``app.state.sandbox.callback_attempts`` each callback attempt (``CallbackAttempt(url,
identifier, attempt, status_code, error, at)``). The app's lifespan owns an httpx client
for callbacks and cancels pending deliveries on shutdown; a parent app that mounts it should
enter ``app.router.lifespan_context(app)`` in its own lifespan (or await
``app.state.sandbox.aclose()`` on shutdown). Without a lifespan, each delivery opens its own
client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.base import decode_json
from adapters.sandbox_calls import Call, RecordCalls

log = logging.getLogger(__name__)

SANDBOX_PREFIX = "/stintmint"
DEMO_USERNAME = "demo@stintmint.example"
DEMO_KEY = "sm-dev-sandbox-demo-key-4f1c"  # a sandbox-only developer key
DEMO_SF_ID = "demo"

DESCRIPTOR_TYPES = ("TEXT", "IMAGE", "PDF", "HREF", "AUDIO", "VIDEO")
OPTION_TYPES = ("TEXT", "IMAGE")
MAX_DESCRIPTORS = 10
MAX_REQUESTS = 10_000
MAX_BODY_BYTES = 1_000_000
CALLBACK_TIMEOUT_S = 10.0
CREDITS_PER_ANSWER = 0.25
WORKERS = ("worker-ana", "worker-bo", "worker-chen", "worker-dara", "worker-eli")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class CallbackAttempt(NamedTuple):
    """One try at delivering a callback: the HTTP status it got, or the transport error."""

    url: str
    identifier: str
    attempt: int
    status_code: int | None
    error: str | None
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Module:
    """One step of a StintFlow, answered by people choosing among its options."""

    state_id: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class StintFlow:
    sf_id: str
    title: str
    modules: tuple[Module, ...]
    inputs: frozenset[str] | None = None  # None: any descriptor name
    mandatory: frozenset[str] = frozenset()


DEMO_STINTFLOWS: dict[str, StintFlow] = {
    flow.sf_id: flow
    for flow in (
        StintFlow(
            DEMO_SF_ID,
            "Check and review anything",
            (
                Module("check", ("looks-right", "unclear", "wrong")),
                Module("review", ("approved", "needs-changes")),
            ),
        ),
        StintFlow(
            "moderation",
            "Moderate a post",
            (Module("triage", ("safe", "spam", "abusive")),),
            inputs=frozenset({"content", "author", "link"}),
            mandatory=frozenset({"content"}),
        ),
    )
}


SEEDED_IDENTIFIER = "order-1041"
SEEDED_AGE_S = 24 * 3600.0  # posted that long ago
SEEDED_TOOK_S = 20 * 60.0  # and completed this long after it was posted
SEEDED_DESCRIPTORS = (
    {"name": "note", "type": "TEXT", "info": "check the address", "caption": None},
    {"name": "photo", "type": "IMAGE", "info": "https://example.com/p.jpg", "caption": None},
)


class BadRequest(Exception):
    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass
class FlowRequest:
    """One posted request; its status is computed from the time since it was posted."""

    flow: StintFlow
    identifier: str
    batch_id: str | None
    urgency: str | None
    callback_url: str | None
    descriptors: list[dict[str, Any]]
    options: dict[str, list[str]]  # stateId -> optionIds chosen by the caller
    created_ms: int
    started: float  # time.monotonic()
    complete_after: float
    delivery: asyncio.Task[None] | None = field(default=None, repr=False)

    def module_done_at(self, index: int) -> float:
        return self.started + self.complete_after * (index + 1) / len(self.flow.modules)

    @property
    def done_at(self) -> float:
        return self.started + self.complete_after

    @property
    def completed_ms(self) -> int:
        return self.created_ms + round(self.complete_after * 1000)

    def answers(self, module: Module) -> list[dict[str, Any]]:
        choices = self.options.get(module.state_id) or list(module.options)
        answers = []
        for descriptor in self.descriptors:
            seed = f"{self.flow.sf_id}/{self.identifier}/{module.state_id}/{descriptor['name']}"
            digest = hashlib.sha256(seed.encode()).digest()
            answers.append(
                {
                    "name": descriptor["name"],
                    "answer": choices[digest[0] % len(choices)],
                    "worker": WORKERS[digest[1] % len(WORKERS)],
                }
            )
        return answers

    def cost(self, modules: int) -> float:
        return round(CREDITS_PER_ANSWER * len(self.descriptors) * modules, 2)

    def document(self, now: float) -> dict[str, Any]:
        """The fetch answer, exactly the fields the document lists."""
        done = now >= self.done_at
        return {
            "identifier": self.identifier,
            "status": "COMPLETED" if done else "PENDING",
            "created": self.created_ms,
            "completed": self.completed_ms if done else None,
            "sfId": self.flow.sf_id,
            "cost": self.cost(len(self.flow.modules)) if done else None,
            "responses": self.answers(self.flow.modules[-1]) if done else [],
        }

    def module_document(self, index: int, now: float) -> dict[str, Any]:
        module = self.flow.modules[index]
        done = now >= self.module_done_at(index)
        return {
            "identifier": self.identifier,
            "status": "COMPLETED" if done else "PENDING",
            "stateId": module.state_id,
            "cost": self.cost(1) if done else None,
            "responses": self.answers(module) if done else [],
        }

    def callback_body(self) -> dict[str, Any]:
        body = self.document(self.done_at)
        body["batchId"] = self.batch_id
        return body


class StintmintSandbox:
    """The sandbox's state and endpoints; ``create_app`` wraps it in Starlette."""

    def __init__(
        self,
        *,
        username: str,
        key: str,
        complete_after: float,
        retry_interval: float,
        max_attempts: int,
        http: httpx.AsyncClient | None = None,
        callback_url: str | None = None,
        flows: dict[str, StintFlow] | None = None,
    ) -> None:
        if complete_after < 0 or retry_interval < 0:
            raise ValueError("complete_after and retry_interval must not be negative")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if callback_url is not None and not _is_http_url(callback_url):
            raise ValueError("callback_url must be an http:// or https:// URL")
        self.username = username
        self.key = key
        self.complete_after = complete_after
        self.retry_interval = retry_interval
        self.max_attempts = max_attempts
        self.callback_url = callback_url
        self.flows = flows if flows is not None else DEMO_STINTFLOWS
        self.requests: dict[tuple[str, str], FlowRequest] = {}
        self._seed()
        self.callback_attempts: list[CallbackAttempt] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._given_http = http
        self._own_http: httpx.AsyncClient | None = None

    def _seed(self) -> None:
        flow = self.flows.get(DEMO_SF_ID)
        if flow is None:
            return
        self.requests[(flow.sf_id, SEEDED_IDENTIFIER)] = FlowRequest(
            flow=flow,
            identifier=SEEDED_IDENTIFIER,
            batch_id=None,
            urgency=None,
            callback_url=None,
            descriptors=[dict(descriptor) for descriptor in SEEDED_DESCRIPTORS],
            options={},
            created_ms=int((time.time() - SEEDED_AGE_S) * 1000),
            started=time.monotonic() - SEEDED_AGE_S,
            complete_after=SEEDED_TOOK_S,
        )

    # -- endpoints ----------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            data = await _body(request)
            flow_request = self._accept(data)
        except BadRequest as exc:
            return _error(exc)
        key = (flow_request.flow.sf_id, flow_request.identifier)
        self.requests[key] = flow_request
        while len(self.requests) > MAX_REQUESTS:
            self.requests.pop(next(iter(self.requests)))
        if flow_request.callback_url:
            flow_request.delivery = self._start(self._deliver(flow_request))
        answer: dict[str, Any] = {
            "identifier": flow_request.identifier,
            "sfId": flow_request.flow.sf_id,
            "status": "PENDING",
            "message": f"request queued for StintFlow {flow_request.flow.sf_id}",
        }
        if flow_request.batch_id:
            answer["batchId"] = flow_request.batch_id
        return JSONResponse(answer)

    async def fetch(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            data = await _body(request)
            flow = self._flow(_required_id(data, "sfId"))
            identifier = _required_id(data, "identifier")
            state_id = data.get("stateId")
            index = None
            if state_id not in (None, ""):
                index = _module_index(flow, _required_id(data, "stateId"))
            flow_request = self.requests.get((flow.sf_id, identifier))
            if flow_request is None:
                raise BadRequest(f"no request {identifier} for StintFlow {flow.sf_id}", 404)
        except BadRequest as exc:
            return _error(exc)
        now = time.monotonic()
        if index is None:
            return JSONResponse(flow_request.document(now))
        return JSONResponse(flow_request.module_document(index, now))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "method not allowed" if code == 405 else "no such API endpoint"
        return _error(BadRequest(message, code))

    # -- lifecycle ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self._given_http is None and self._own_http is None:
            self._own_http = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_S)
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Cancel pending callback deliveries and close the sandbox's own HTTP client."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None

    def _start(self, work: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- callbacks ----------------------------------------------------------------------

    async def _deliver(self, flow_request: FlowRequest) -> None:
        await asyncio.sleep(max(0.0, flow_request.done_at - time.monotonic()))
        http = self._given_http or self._own_http
        if http is not None:
            await self._attempts(http, flow_request)
            return
        async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_S) as own:
            await self._attempts(own, flow_request)

    async def _attempts(self, http: httpx.AsyncClient, flow_request: FlowRequest) -> None:
        url = flow_request.callback_url
        assert url is not None
        body = flow_request.callback_body()
        for attempt in range(1, self.max_attempts + 1):
            status_code: int | None = None
            error: str | None = None
            try:
                response = await http.post(url, json=body, timeout=CALLBACK_TIMEOUT_S)
                status_code = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            self.callback_attempts.append(
                CallbackAttempt(
                    url, flow_request.identifier, attempt, status_code, error, time.monotonic()
                )
            )
            if status_code == 200:  # "response code '200' will be treated as a success"
                return
            log.debug("stintmint sandbox callback %s failed: %s", attempt, status_code or error)
            if attempt < self.max_attempts:
                await asyncio.sleep(self.retry_interval)

    # -- checks -------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            username, sep, key = decoded.partition(b":")
            if (
                sep
                and hmac.compare_digest(username, self.username.encode())
                and hmac.compare_digest(key, self.key.encode())
            ):
                return
        raise BadRequest("invalid username or developer key", 401)

    def _flow(self, sf_id: str) -> StintFlow:
        flow = self.flows.get(sf_id)
        if flow is None:
            known = ", ".join(sorted(self.flows))
            raise BadRequest(f"StintFlow {sf_id} not found (this account has: {known})", 404)
        return flow

    def _accept(self, data: dict[str, Any]) -> FlowRequest:
        flow = self._flow(_required_id(data, "sfId"))
        identifier = _required_id(data, "identifier")
        if (flow.sf_id, identifier) in self.requests:
            raise BadRequest(
                f"identifier {identifier} was already posted to StintFlow {flow.sf_id}", 409
            )
        batch_id = _optional_id(data, "batchId")
        urgency = data.get("urgency")
        if urgency not in (None, "") and (
            not isinstance(urgency, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", urgency)
        ):
            raise BadRequest("urgency must be a processing code such as U1")
        callback_url = data.get("callbackUrl") or self.callback_url
        if callback_url is not None and not _is_http_url(callback_url):
            raise BadRequest("callbackUrl must be an http:// or https:// URL")
        descriptors = _descriptors(flow, data.get("descriptors"))
        options = _state_options(flow, data.get("stateOptions"))
        return FlowRequest(
            flow=flow,
            identifier=identifier,
            batch_id=batch_id,
            urgency=urgency or None,
            callback_url=callback_url,
            descriptors=descriptors,
            options=options,
            created_ms=int(time.time() * 1000),
            started=time.monotonic(),
            complete_after=self.complete_after,
        )


def _descriptors(flow: StintFlow, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise BadRequest("descriptors must be a non-empty array of objects")
    if len(value) > MAX_DESCRIPTORS:
        raise BadRequest(
            f"a maximum of {MAX_DESCRIPTORS} descriptors are allowed per request, got {len(value)}"
        )
    descriptors = []
    for number, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise BadRequest(f"descriptor {number} must be an object")
        for key in ("name", "type", "info"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise BadRequest(f"descriptor {number} needs '{key}' (name, type and info)")
        if item["type"] not in DESCRIPTOR_TYPES:
            raise BadRequest(
                f"descriptor {number} has type {item['type'][:20]!r}; "
                f"use one of {', '.join(DESCRIPTOR_TYPES)}"
            )
        caption = item.get("caption")
        if caption is not None and not isinstance(caption, str):
            raise BadRequest(f"descriptor {number}: caption must be a string")
        if flow.inputs is not None and item["name"] not in flow.inputs:
            raise BadRequest(
                f"StintFlow {flow.sf_id} has no descriptor {item['name'][:40]!r} "
                f"(it takes: {', '.join(sorted(flow.inputs))})"
            )
        descriptors.append(
            {"name": item["name"], "type": item["type"], "info": item["info"], "caption": caption}
        )
    missing = flow.mandatory - {item["name"] for item in descriptors}
    if missing:
        raise BadRequest(
            f"StintFlow {flow.sf_id} needs the descriptors: {', '.join(sorted(missing))}"
        )
    return descriptors


def _state_options(flow: StintFlow, value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise BadRequest("stateOptions must be an array of objects")
    chosen: dict[str, list[str]] = {}
    for number, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise BadRequest(f"stateOptions {number} must be an object")
        state_id = _required_id(item, "stateId")
        _module_index(flow, state_id)
        options = item.get("options")
        if not isinstance(options, list) or not options:
            raise BadRequest(f"stateOptions {number} needs a non-empty 'options' array")
        ids = []
        for option in options:
            if not isinstance(option, dict):
                raise BadRequest(f"stateOptions {number}: each option must be an object")
            info = option.get("info")
            if not isinstance(info, str) or not info.strip():
                raise BadRequest(f"stateOptions {number}: each option needs 'info'")
            if option.get("type", "TEXT") not in OPTION_TYPES:
                raise BadRequest(f"stateOptions {number}: option type is TEXT or IMAGE")
            option_id = option.get("optionId")
            # "It will take the value of info if left blank the first time."
            ids.append(option_id if isinstance(option_id, str) and option_id.strip() else info)
        chosen[state_id] = ids
    return chosen


def _module_index(flow: StintFlow, state_id: str) -> int:
    for index, module in enumerate(flow.modules):
        if module.state_id == state_id:
            return index
    known = ", ".join(module.state_id for module in flow.modules)
    raise BadRequest(f"StintFlow {flow.sf_id} has no module {state_id} (it has: {known})", 404)


def _required_id(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise BadRequest(f"'{key}' is mandatory")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadRequest(f"'{key}' must be an alphanumeric string")
    return value


def _optional_id(data: dict[str, Any], key: str) -> str | None:
    return None if data.get(key) in (None, "") else _required_id(data, key)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


async def _body(request: Request) -> dict[str, Any]:
    """The request body as a dict: JSON (also without a Content-Type), or form fields."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("request body too large", 413)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace")))
    if media not in ("", "application/json"):
        raise BadRequest("send a JSON body (Content-Type: application/json)", 415)
    try:
        data = decode_json(body or b"null")
    except ValueError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _error(exc: BadRequest) -> JSONResponse:
    names = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict"}
    headers = {"WWW-Authenticate": 'Basic realm="Stintmint"'} if exc.status_code == 401 else None
    return JSONResponse(
        {"error": names.get(exc.status_code, "bad_request"), "message": exc.message},
        exc.status_code,
        headers=headers,
    )


def create_app(
    *,
    username: str = DEMO_USERNAME,
    key: str = DEMO_KEY,
    complete_after: float = 2.0,
    retry_interval: float = 1.0,
    max_attempts: int = 20,
    http: httpx.AsyncClient | None = None,
    callback_url: str | None = None,
) -> Starlette:
    """A Stintmint sandbox app; its state is ``app.state.sandbox`` and ``app.state.calls``.

    ``callback_url`` is the account's default callback URL (the Console's setting), used
    when a request brings none.
    """
    sandbox = StintmintSandbox(
        username=username,
        key=key,
        complete_after=complete_after,
        retry_interval=retry_interval,
        max_attempts=max_attempts,
        http=http,
        callback_url=callback_url,
    )
    calls: list[Call] = []
    app = Starlette(
        routes=[
            Route("/post", sandbox.post, methods=["POST"]),
            Route("/fetch", sandbox.fetch, methods=["POST"]),
        ],
        middleware=[Middleware(RecordCalls, calls=calls)],
        exception_handlers={404: sandbox.not_found, 405: sandbox.not_found},
        lifespan=sandbox.lifespan,
    )
    app.state.sandbox = sandbox
    app.state.calls = calls
    return app
