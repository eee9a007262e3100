"""A Flint server faithful to Flint's REST API document, for the console, development and tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point
``FLINT_URL`` at ``http://host:port/flint``. It speaks JSON or XML like Flint, checks the
same headers, and runs seeded demo flintbits in the box ``demo``:

    hello.rb   greets ``name`` (default World) after about a second
    slow.rb    runs for ``seconds`` (default 8)
    fail.rb    ends in status error, exit-code 1, after about a second
    echo.rb    returns its input
    big.rb     returns about 300 lines of text (``lines`` to change it, up to 5,000), or
               ``size`` characters of them (up to 128 MiB), streamed as they are made
    abort.rb   ends aborted after about a second

A job's life (submitted → running → complete/error/aborted) is computed from the time
since it was submitted, so nothing runs in the background. ``speed`` scales every duration
(flintbit run times and synchronous waits alike), ``answer_delay`` (seconds, not scaled)
holds back every answer to a run, and ``app.state.calls`` records each answer as it is
sent: ``Call(at=time.monotonic(), method, path, status)``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters.base import decode_json
from adapters.flint import xmldoc
from adapters.flint.models import parse_flintbit, validate_job_id
from adapters.sandbox_calls import Call, RecordCalls

SANDBOX_PREFIX = "/flint"
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin123"  # noqa: S105 - the vendor doc's demo login; sandbox only
DEMO_KEY = "v0zAJsljulCDY2-flint-sandbox-demo-key"
DEMO_BOX = "demo"

JSON = "application/json"
XML = "application/xml"
DEFAULT_SYNC_MS = 6000
MAX_SYNC_MS = 3_600_000
QUEUED_SECONDS = 0.2  # how long a job stays "submitted" before it runs
MAX_JOBS = 10_000
MAX_BIG_SIZE = 128 * 1024 * 1024  # characters big.rb makes at most (``size``)
BIG_CHUNK = 64 * 1024  # characters per piece of a streamed big output
BIG_LINE = "line {:07d}: the quick brown fox jumps over the lazy dog\n"


@dataclass(frozen=True)
class Plan:
    """What a flintbit will do with one input: how long it runs and how it ends."""

    seconds: float
    status: str  # complete, error or aborted
    exit_code: int
    message: str
    output: Any = None


Flintbit = Callable[[Any], Plan]


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def _hello(data: Any) -> Plan:
    name = _field(data, "name")
    name = str(name).strip() if name is not None and str(name).strip() else "World"
    return Plan(1.0, "complete", 0, "success", {"message": f"Hello, {name}!"})


def _slow(data: Any) -> Plan:
    raw = _field(data, "seconds")
    try:
        seconds = 8.0 if raw is None else float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        error = "seconds must be a number from 0 to 3600"
        return Plan(0.1, "error", 1, f"slow.rb failed: {error}", {"error": error})
    return Plan(seconds, "complete", 0, "success", {"message": f"Slept {seconds:g} seconds."})


def _fail(_data: Any) -> Plan:
    error = "fail.rb always fails: this is the demo of a failing flintbit"
    return Plan(1.0, "error", 1, "fail.rb failed", {"error": error})


def _echo(data: Any) -> Plan:
    return Plan(0.5, "complete", 0, "success", data)


@dataclass(frozen=True)
class BigText:
    """``size`` characters of numbered lines, made piece by piece as they are answered, so
    a huge output costs the sandbox no memory (and tests can flood a client with it)."""

    size: int

    def pieces(self) -> Iterator[str]:
        number, left, carry = 1, self.size, ""
        while left > 0:
            lines = [carry]
            made = len(carry)
            while made < BIG_CHUNK:
                line = BIG_LINE.format(number)
                lines.append(line)
                made += len(line)
                number += 1
            text = "".join(lines)
            piece, carry = text[: min(BIG_CHUNK, left)], text[min(BIG_CHUNK, left) :]
            left -= len(piece)
            yield piece


def _big(data: Any) -> Plan:
    if _field(data, "size") is not None:
        return _big_size(_field(data, "size"))
    raw = _field(data, "lines")
    try:
        count = max(1, min(5000, int(raw))) if raw is not None else 300
    except (TypeError, ValueError):
        count = 300
    lines = [
        f"line {i:04d}: the quick brown fox jumps over the lazy dog" for i in range(1, count + 1)
    ]
    return Plan(1.0, "complete", 0, "success", {"message": "\n".join(lines)})


def _big_size(raw: Any) -> Plan:
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= MAX_BIG_SIZE:
        error = f"size must be a whole number of characters from 1 to {MAX_BIG_SIZE}"
        return Plan(0.1, "error", 1, f"big.rb failed: {error}", {"error": error})
    return Plan(1.0, "complete", 0, "success", {"message": BigText(size)})


def _abort(_data: Any) -> Plan:
    return Plan(1.0, "aborted", 1, "job aborted by an operator")


DEMO_FLINTBITS: dict[str, dict[str, Flintbit]] = {
    DEMO_BOX: {
        "hello.rb": _hello,
        "slow.rb": _slow,
        "fail.rb": _fail,
        "echo.rb": _echo,
        "big.rb": _big,
        "abort.rb": _abort,
    }
}


@dataclass
class Job:
    id: str
    context: str
    content_type: str
    timeout_ms: int
    started: float  # monotonic
    timestamp: int  # epoch ms
    plan: Plan
    speed: float

    def runs_at(self) -> float:
        return self.started + QUEUED_SECONDS * self.speed

    def ends_at(self) -> float:
        return self.runs_at() + self.plan.seconds * self.speed

    def status(self, now: float) -> str:
        if now >= self.ends_at():
            return self.plan.status
        return "running" if now >= self.runs_at() else "submitted"

    def document(self, now: float, *, with_output: bool = True) -> dict[str, Any]:
        status = self.status(now)
        final = status == self.plan.status
        meta: dict[str, Any] = {
            "job-id": self.id,
            "exit-code": self.plan.exit_code if final else None,
            "context": self.context,
            "message": self.plan.message if final else status,
            "timeout": self.timeout_ms,
            "timestamp": self.timestamp,
            "status": status,
            "content-type": self.content_type,
        }
        document: dict[str, Any] = {"meta": {k: v for k, v in meta.items() if v is not None}}
        if with_output and final and self.plan.output is not None:
            document["output"] = self.plan.output
        return document


def _error(message: str, content_type: str | None = None) -> dict[str, Any]:
    meta = {"exit-code": 1, "message": message, "status": "error"}
    if content_type:
        meta["content-type"] = content_type
    return {"meta": meta}


class FlintSandbox:
    """The sandbox's state and endpoints; ``create_app`` wraps it in Starlette."""

    def __init__(
        self,
        *,
        username: str,
        password: str,
        key: str | None,
        speed: float,
        answer_delay: float,
        flintbits: dict[str, dict[str, Flintbit]] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if answer_delay < 0:
            raise ValueError("answer_delay must not be negative")
        self.username = username
        self.password = password
        self.key = key
        self.speed = speed
        self.answer_delay = answer_delay
        self.flintbits = flintbits if flintbits is not None else DEMO_FLINTBITS
        self.jobs: dict[str, Job] = {}

    # -- endpoints ----------------------------------------------------------------------

    async def run(self, request: Request, *, sync: bool = False) -> Response:
        response = await self._run(request, sync=sync)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return response

    async def result(self, request: Request) -> Response:
        as_xml = _wants_xml(request)
        refused = self._refuse(request, as_xml)
        if refused is not None:
            return refused
        try:
            job_id = validate_job_id(request.path_params["job_id"])
        except ValueError:
            return _answer(404, _error("no such job"), as_xml)
        job = self.jobs.get(job_id)
        if job is None:
            return _answer(404, _error(f"job {job_id} not found"), as_xml)
        return _answer(200, job.document(time.monotonic()), as_xml)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "method not allowed" if code == 405 else "no such REST resource"
        return _answer(code, _error(message), _wants_xml(request))

    # -- run ----------------------------------------------------------------------------

    async def _run(self, request: Request, *, sync: bool) -> Response:
        as_xml = _wants_xml(request)
        refused = self._refuse(request, as_xml)
        if refused is not None:
            return refused
        content_type = XML if as_xml else JSON
        raw_name = request.path_params["flintbit"]
        try:
            ref = parse_flintbit(raw_name)
        except ValueError as exc:
            return _answer(400, _error(str(exc), content_type), as_xml)
        flintbit = self.flintbits.get(ref.box, {}).get(ref.bit)
        if flintbit is None:
            return _answer(404, _error(f"flintbit {ref} not found", content_type), as_xml)

        timeout_ms = DEFAULT_SYNC_MS
        if "timeout" in request.path_params:
            raw = request.path_params["timeout"]
            if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_SYNC_MS):
                message = f"timeout must be a whole number of milliseconds, 1 to {MAX_SYNC_MS}"
                return _answer(400, _error(message, content_type), as_xml)
            timeout_ms = int(raw)

        try:
            data = await _input(request, as_xml)
        except ValueError as exc:
            return _answer(400, _error(str(exc), content_type), as_xml)

        job = self._submit(str(ref), content_type, timeout_ms, flintbit(data))
        if not sync:
            return _answer(200, job.document(job.started, with_output=False), as_xml)
        now = time.monotonic()
        wait = min(job.ends_at() - now, timeout_ms / 1000 * self.speed)
        if wait > 0:
            # A hair longer, so the loop's clock resolution never wakes us just before the end.
            await asyncio.sleep(wait + 0.001)
        return _answer(200, job.document(time.monotonic()), as_xml)

    def _submit(self, context: str, content_type: str, timeout_ms: int, plan: Plan) -> Job:
        job = Job(
            id=f"job-{uuid.uuid4()}",
            context=context,
            content_type=content_type,
            timeout_ms=timeout_ms,
            started=time.monotonic(),
            timestamp=int(time.time() * 1000),
            plan=plan,
            speed=self.speed,
        )
        self.jobs[job.id] = job
        while len(self.jobs) > MAX_JOBS:
            self.jobs.pop(next(iter(self.jobs)))
        return job

    # -- checks -------------------------------------------------------------------------

    def _refuse(self, request: Request, as_xml: bool) -> Response | None:
        """401 without valid credentials, 400 for a Content-Type Flint does not take."""
        if not self._authenticated(request):
            return _answer(401, _error("authentication failed"), as_xml)
        media = _media_type(request)
        if media not in ("", JSON, XML):
            message = "Content-Type must be application/json or application/xml"
            return _answer(400, _error(message), as_xml)
        return None

    def _authenticated(self, request: Request) -> bool:
        headers = request.headers
        key = headers.get("flint-key")
        key_bytes = key.encode("latin-1") if key is not None else None
        if key_bytes is None and "flint-key" in request.query_params:
            key_bytes = request.query_params["flint-key"].encode()
        if key_bytes is not None:
            return self.key is not None and hmac.compare_digest(key_bytes, self.key.encode())
        username = headers.get("x-flint-username")
        password = headers.get("x-flint-password")
        if username is None or password is None:
            return False
        user_ok = hmac.compare_digest(username.encode("latin-1"), self.username.encode())
        password_ok = hmac.compare_digest(password.encode("latin-1"), self.password.encode())
        return user_ok and password_ok


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _wants_xml(request: Request) -> bool:
    """Flint answers in the document type it was sent."""
    return _media_type(request) == XML


async def _input(request: Request, as_xml: bool) -> Any:
    """The flintbit's input from the body; with no Content-Type the body is read as JSON."""
    body = await request.body()
    if not body.strip():
        return {}
    if as_xml:
        try:
            _root, value = xmldoc.parse(body)
        except xmldoc.XMLDocumentError as exc:
            raise ValueError(f"request body is not an XML document we accept: {exc}") from exc
        if value is not None and not isinstance(value, dict):
            raise ValueError("an XML request body must hold elements, e.g. <flint><name>…")
        return value or {}
    try:
        return decode_json(body)
    except ValueError as exc:
        raise ValueError("request body is not a valid JSON document") from exc


# Stands in for a BigText while the rest of the document is rendered.
_BIG_MARK = "@@flint-sandbox-big-output@@"


def _answer(status_code: int, document: dict[str, Any], as_xml: bool) -> Response:
    output = document.get("output")
    big = output.get("message") if isinstance(output, dict) else None
    if isinstance(big, BigText):
        return _streamed(status_code, document, big, as_xml)
    if as_xml:
        return Response(xmldoc.render("flint", document), status_code, media_type=XML)
    return JSONResponse(document, status_code)


def _streamed(status_code: int, document: dict[str, Any], big: BigText, as_xml: bool) -> Response:
    """The document as Flint would answer it, its big output streamed in pieces."""
    marked = {**document, "output": {**document["output"], "message": _BIG_MARK}}
    if as_xml:
        rendered = xmldoc.render("flint", marked).decode()
        escape: Callable[[str], str] = xml_escape
    else:
        rendered = json.dumps(marked, ensure_ascii=False, separators=(",", ":"))

        def escape(piece: str) -> str:
            return json.dumps(piece, ensure_ascii=False)[1:-1]

    head, tail = rendered.split(_BIG_MARK)

    async def body() -> AsyncIterator[bytes]:
        yield head.encode()
        for piece in big.pieces():
            yield escape(piece).encode()
        yield tail.encode()

    return StreamingResponse(body(), status_code, media_type=XML if as_xml else JSON)


def create_app(
    *,
    username: str = DEMO_USERNAME,
    password: str = DEMO_PASSWORD,
    key: str | None = DEMO_KEY,
    speed: float = 1.0,
    answer_delay: float = 0.0,
) -> Starlette:
    """A Flint sandbox app; its state is ``app.state.sandbox`` and ``app.state.calls``."""
    sandbox = FlintSandbox(
        username=username, password=password, key=key, speed=speed, answer_delay=answer_delay
    )
    calls: list[Call] = []
    sync_run = functools.partial(sandbox.run, sync=True)
    app = Starlette(
        routes=[
            Route("/v1/bit/run/{flintbit}", sandbox.run, methods=["POST"]),
            Route("/v1/bit/run/{flintbit}/sync", sync_run, methods=["POST"]),
            Route("/v1/bit/run/{flintbit}/sync/{timeout}", sync_run, methods=["POST"]),
            Route("/v1/bit/result/{job_id}", sandbox.result, methods=["GET"]),
        ],
        middleware=[Middleware(RecordCalls, calls=calls)],
        exception_handlers={404: sandbox.not_found, 405: sandbox.not_found},
    )
    app.state.sandbox = sandbox
    app.state.calls = calls
    return app
