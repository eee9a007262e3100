"""A Signicat Mint server faithful to the Mint API document, for the console, development and tests.

Mount it under a prefix (``Mount(SANDBOX_PREFIX, app=create_app())``) and point ``MINT_URL``
at ``http://host:port/mint`` and ``MINT_TOKEN_URL`` at ``http://host:port/mint/token``, with
``MINT_CLIENT_ID`` = ``DEMO_CLIENT_ID`` and ``MINT_CLIENT_SECRET`` = ``DEMO_CLIENT_SECRET``.

It serves the token endpoint and the API (paths as the contract and ``client.py`` fix them):

    POST   /token                                 OAuth 2.0 client credentials (RFC 6749)
    GET    /flows                                 IsLatest IsLatestOrPublished IsPublished
                                                  IsDraft AllVersions Version searchTerm
                                                  offset limit orderBy sortBy
    GET    /flows/{definitionId}
    POST   /flows/{definitionId}/publish|unpublish
    POST   /flows/{definitionId}/execute          {"input": {...}, "workflowUrlTtl": N}
    GET    /flows/{definitionId}/instances        status correlationId orderby searchTerm
    GET    /instances                             offset limit (both lists)
    GET    /instances/{instanceId}[/executionlog|/csv|/pdf]
    POST   /instances/{instanceId}/notes          {"note": "..."}
    GET    /w/{definitionId}                      the end-user page a published flow links to

The API paths are those the client calls; any other path is 404.

Where the document is silent, it behaves like an ASP.NET Core API: query parameter names
match in any case; errors are RFC 7807 problems (``application/problem+json`` with
``title``, ``status``, ``detail`` or ``errors``); a missing, unknown or expired bearer token
is 401 with an empty body and ``WWW-Authenticate: Bearer error="invalid_token"``; the token
endpoint answers RFC 6749 errors (``invalid_client`` as 401 to HTTP Basic, 400 to form
fields; ``unsupported_grant_type``; ``invalid_scope``). ``/flows`` answers
``{"data": [...], "totalCount": N, "offset", "limit"}``; every other list a JSON array.
Without filters ``/flows`` lists the latest version of each flow, by name. Only a flow
with a published version can be executed (else 400); instances run that version.

Seeded flows, with fixed definition ids (UUIDs, as the document's ``string <uuid>``; the
README's and ``/mint help``'s examples use them):

    0b1e1a5e-0000-4000-8000-000000000001  "Onboard customer" (published; finishes)
    0b1e1a5e-0000-4000-8000-000000000002  "KYC check" (published; faults at "Verify identity")
    0b1e1a5e-0000-4000-8000-000000000003  "Contract signing" (a draft)
    0b1e1a5e-0000-4000-8000-000000000004  "Address change" (published; finishes)
    0b1e1a5e-0000-4000-8000-000000000005  "Invoice approval" (v2 published, v3 a newer draft)

and past instances, some faulted, for digests. An instance's life is computed from the
time since it started (``speed`` scales every step's duration), so nothing runs in the
background; a flow added
with ``add_flow`` faults at a step given a fault text. ``app.state.calls`` records each
answer as it is sent: ``Call(at=time.monotonic(), method, path, status)``;
``app.state.sandbox`` has ``expire_tokens()``, ``token_grants``, ``token_refusals``,
``add_flow(…)`` and ``add_instance(…)``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hmac
import html
import io
import itertools
import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from adapters.base import decode_json
from adapters.mint.models import FLOW_STATUSES, MAX_NOTE, FlowStatus
from adapters.sandbox_calls import Call, RecordCalls

SANDBOX_PREFIX = "/mint"
TOKEN_PATH = "/token"  # noqa: S105 - a path
DEMO_CLIENT_ID = "chatops-demo"
DEMO_CLIENT_SECRET = "mint-sandbox-demo-secret"  # noqa: S105 - the sandbox's demo client
SCOPE = "signicat-api"

ONBOARD_FLOW_ID = "0b1e1a5e-0000-4000-8000-000000000001"
KYC_FLOW_ID = "0b1e1a5e-0000-4000-8000-000000000002"
CONTRACT_FLOW_ID = "0b1e1a5e-0000-4000-8000-000000000003"
ADDRESS_FLOW_ID = "0b1e1a5e-0000-4000-8000-000000000004"
INVOICE_FLOW_ID = "0b1e1a5e-0000-4000-8000-000000000005"
KYC_FAILING_STEP = "Verify identity"
KYC_FAULT = (
    "The ID document could not be verified: the document number does not match "
    "the issuing authority's records."
)

MAX_TOKENS = 10_000
MAX_INSTANCES = 10_000
MAX_LIST = 1000
HOUR = 3600.0
DAY = 24 * HOUR
CSV = "text/csv; charset=utf-8"
PDF = "application/pdf"
PROBLEM = "application/problem+json"
_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
}
_TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict"}


class ApiError(Exception):
    """An answer as an RFC 7807 problem."""

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail or "")
        self.status_code = status_code
        self.detail = detail
        self.errors = errors


class Unauthorized(Exception):
    """401 with an empty body, as ASP.NET's bearer authentication answers."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or "")
        self.description = description


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer of the token endpoint."""

    def __init__(self, status_code: int, error: str, description: str, *, basic: bool = False):
        super().__init__(description)
        self.status_code = status_code
        self.error = error
        self.description = description
        self.basic = basic


def _invalid_value(name: str, value: str) -> ApiError:
    return ApiError(400, errors={name: [f"The value '{value[:100]}' is not valid."]})


@dataclass
class Step:
    """One step of a flow as the sandbox runs it."""

    id: str
    name: str
    type: str
    seconds: float
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name}


@dataclass
class TokenRecord:
    client_id: str
    expires: float  # monotonic


@dataclass
class FlowVersion:
    version_id: str
    version: int
    title: str | None
    description: str | None
    steps: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    tags: list[str]
    created_at: float  # epoch seconds
    updated_at: float
    published: bool = False

    def plan(self) -> list[Step]:
        return [_step(raw) for raw in self.steps]


@dataclass
class FlowRecord:
    definition_id: str
    versions: list[FlowVersion]

    @property
    def latest(self) -> FlowVersion:
        return self.versions[-1]

    @property
    def published(self) -> FlowVersion | None:
        return next((v for v in reversed(self.versions) if v.published), None)


@dataclass
class NoteRecord:
    id: str
    note: str
    created_at: float
    created_by: str


@dataclass
class StepState:
    step: Step
    started: float  # seconds after the instance started
    ended: float | None
    status: str  # Running, Finished, Faulted


@dataclass
class InstanceRecord:
    id: str
    definition_id: str
    version: int
    title: str
    plan: list[Step]
    started_mono: float
    started_epoch: float
    speed: float
    input: dict[str, Any] | None = None
    correlation_id: str | None = None
    forced_status: str | None = None  # Idle, Suspended, Cancelled: stays there
    workflow_url_ttl: int | None = None
    notes: list[NoteRecord] = field(default_factory=list)

    def progress(self, now: float) -> tuple[str, list[StepState]]:
        """The status at monotonic time ``now`` and the state of each step begun by then."""
        elapsed = now - self.started_mono
        states: list[StepState] = []
        offset = 0.0
        for step in self.plan:
            if self.forced_status is not None and step is self.plan[-1] and len(self.plan) > 1:
                break  # a suspended/cancelled/idle instance never reaches its last step
            if elapsed < offset:
                break
            end = offset + step.seconds * self.speed
            if elapsed < end:
                states.append(StepState(step, offset, None, "Running"))
                return self.forced_status or "Running", states
            if step.fault is not None:
                states.append(StepState(step, offset, end, "Faulted"))
                return FlowStatus.FAULTED.value, states
            states.append(StepState(step, offset, end, "Finished"))
            offset = end
        if self.forced_status is not None:
            return self.forced_status, states
        return FlowStatus.FINISHED.value, states


class MintSandbox:
    """The sandbox's state and endpoints; ``create_app`` wraps it in Starlette."""

    def __init__(
        self, *, client_id: str, client_secret: str, token_ttl: float, speed: float
    ) -> None:
        if token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.speed = speed
        self.tokens: dict[str, TokenRecord] = {}
        self.flows: dict[str, FlowRecord] = {}
        self.instances: dict[str, InstanceRecord] = {}
        self.token_grants = 0
        self.token_refusals = 0
        self._lock = threading.RLock()
        self._seed()

    # -- test hooks ---------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token handed out so far expires now (its next use answers 401)."""
        with self._lock:
            for token in self.tokens.values():
                token.expires = 0.0

    def add_flow(
        self,
        title: str,
        steps: list[tuple[str, str, float] | tuple[str, str, float, str | None]],
        *,
        published: bool = True,
        description: str = "",
        tags: list[str] | None = None,
        age: float = 0.0,
        definition_id: str | None = None,
    ) -> str:
        """Add a flow whose steps are ``(name, type, seconds[, fault])``; its definitionId."""
        raw_steps = []
        for index, item in enumerate(steps, 1):
            name, kind, seconds = item[0], item[1], item[2]
            fault = item[3] if len(item) > 3 else None
            raw: dict[str, Any] = {"id": f"step-{index}", "type": kind, "name": name}
            raw["sandboxSeconds"] = float(seconds)
            if fault:
                raw["sandboxFault"] = fault
            raw_steps.append(raw)
        with self._lock:
            record = self._new_flow(
                {"title": title, "description": description, "steps": raw_steps, "tags": tags},
                created_at=time.time() - age,
                definition_id=definition_id,
            )
            record.latest.published = published
            return record.definition_id

    def add_instance(
        self,
        definition_id: str,
        *,
        age: float = 0.0,
        status: str | None = None,
        correlation_id: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> str:
        """Start the flow's published version ``age`` seconds ago (at speed 1); its id.

        ``status`` Idle, Suspended or Cancelled keeps the instance there; otherwise it runs
        its steps and finishes or faults as its flow does.
        """
        with self._lock:
            record = self.flows[definition_id]
            version = record.published or record.latest
            forced = None
            if status is not None and status not in ("Running", "Finished", "Faulted"):
                if status not in FLOW_STATUSES:
                    raise ValueError(f"status is one of {FLOW_STATUSES}")
                forced = status
            instance = self._start(
                record,
                version,
                input=input,
                age=age,
                speed=1.0,
                correlation_id=correlation_id,
                forced_status=forced,
            )
            return instance.id

    # -- the token endpoint ---------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request", "The request must be form-urlencoded.")
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", "The request is not UTF-8.") from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:
                raise OAuthError(400, "invalid_request", f"The parameter {name} is repeated.")
            form[name] = value
        client_id, secret, basic = self._client_credentials(request, form)
        with self._lock:
            if not (
                hmac.compare_digest(client_id.encode(), self.client_id.encode())
                and hmac.compare_digest(secret.encode(), self.client_secret.encode())
            ):
                self.token_refusals += 1
                raise OAuthError(
                    401 if basic else 400,
                    "invalid_client",
                    "Client authentication failed.",
                    basic=basic,
                )
            grant_type = form.get("grant_type")
            if not grant_type:
                raise OAuthError(400, "invalid_request", "The grant_type parameter is missing.")
            if grant_type != "client_credentials":
                raise OAuthError(
                    400, "unsupported_grant_type", "This client may only use client_credentials."
                )
            scopes = (form.get("scope") or SCOPE).split()
            unknown = [scope for scope in scopes if scope != SCOPE]
            if unknown:
                raise OAuthError(
                    400, "invalid_scope", f"The scope {unknown[0][:50]} is not allowed."
                )
            token = secrets.token_urlsafe(32)
            self.tokens[token] = TokenRecord(client_id, time.monotonic() + self.token_ttl)
            while len(self.tokens) > MAX_TOKENS:
                self.tokens.pop(next(iter(self.tokens)))
            self.token_grants += 1
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": max(1, math.ceil(self.token_ttl)),
            "scope": " ".join(scopes),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client_credentials(self, request: Request, form: dict[str, str]) -> tuple[str, str, bool]:
        """(client_id, client_secret, via HTTP Basic) of a token request."""
        header = request.headers.get("authorization")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                raise OAuthError(401, "invalid_client", "Use HTTP Basic.", basic=True)
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(
                    401, "invalid_client", "The Basic credentials are malformed.", basic=True
                ) from None
            name, colon, secret = decoded.partition(":")
            if not colon:
                raise OAuthError(
                    401, "invalid_client", "The Basic credentials are malformed.", basic=True
                )
            if "client_secret" in form:
                raise OAuthError(
                    400, "invalid_request", "Use only one client authentication method."
                )
            return unquote_plus(name), unquote_plus(secret), True
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not client_id:
            raise OAuthError(
                401, "invalid_client", "Client authentication is required.", basic=True
            )
        return client_id, client_secret or "", False

    # -- flows ----------------------------------------------------------------------------

    async def list_flows(self, request: Request) -> Response:
        self._caller(request)
        query = _query(request)
        flags = {
            name: _bool(query, name)
            for name in ("islatest", "islatestorpublished", "ispublished", "isdraft", "allversions")
        }
        version = _int(query, "version", None)
        search = (query.get("searchterm") or "").strip().lower()
        offset = _int(query, "offset", 0)
        limit = _int(query, "limit", None)
        if offset < 0:
            raise _invalid_value("offset", str(offset))
        if limit is not None and limit < 0:
            raise _invalid_value("limit", str(limit))
        order_by = _enum(query, "orderby", ("Name", "Description", "CreatedAt"), "Name")
        direction = _enum(query, "sortby", ("Ascending", "Descending"), "Ascending")
        with self._lock:
            found = []
            for record in self.flows.values():
                for version_record in record.versions:
                    if _selected(record, version_record, flags, version):
                        found.append((record, version_record))
            if search:
                found = [
                    (r, v)
                    for r, v in found
                    if search in (v.title or "").lower() or search in (v.description or "").lower()
                ]
            key = {
                "Name": lambda rv: ((rv[1].title or "").lower(), rv[1].version),
                "Description": lambda rv: ((rv[1].description or "").lower(), rv[1].version),
                "CreatedAt": lambda rv: (rv[1].created_at, rv[1].version),
            }[order_by]
            found.sort(key=key, reverse=direction == "Descending")
            end = None if limit is None else offset + min(limit, MAX_LIST)
            page = found[offset:end]
            data = [self._flow_json(request, r, v) for r, v in page]
        return JSONResponse(
            {"data": data, "totalCount": len(found), "offset": offset, "limit": limit}
        )

    async def get_flow(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            record = self._find_flow(request)
            return JSONResponse(self._flow_json(request, record, record.latest))

    async def publish(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            record = self._find_flow(request)
            if not record.latest.steps:
                raise ApiError(400, "A flow needs at least one step before it can be published.")
            for version in record.versions:
                version.published = version is record.latest
            record.latest.updated_at = time.time()
            return JSONResponse(self._flow_json(request, record, record.latest))

    async def unpublish(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            record = self._find_flow(request)
            for version in record.versions:
                version.published = False
            return JSONResponse(self._flow_json(request, record, record.latest))

    async def execute(self, request: Request) -> Response:
        self._caller(request)
        body = await _json_body(request, allow_empty=True)
        run_input = body.get("input")
        if run_input is not None and not isinstance(run_input, dict):
            raise ApiError(400, errors={"input": ["The input must be a JSON object."]})
        ttl = body.get("workflowUrlTtl")
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl < 2**31
        ):
            raise ApiError(400, errors={"workflowUrlTtl": ["The value is not a valid int32."]})
        with self._lock:
            record = self._find_flow(request)
            version = record.published
            if version is None:
                raise ApiError(
                    400,
                    f"The flow '{record.latest.title or record.definition_id}' has no published "
                    "version. Publish it before executing it.",
                )
            instance = self._start(record, version, input=run_input, workflow_url_ttl=ttl)
            return JSONResponse(self._instance_json(request, instance, time.monotonic()))

    async def public_page(self, request: Request) -> Response:
        """The end-user page a published flow's link opens (no token needed)."""
        with self._lock:
            record = self.flows.get(request.path_params["definition_id"])
            version = record.published if record else None
            if version is None:
                return HTMLResponse("<h1>This flow is not available.</h1>", 404)
            title = html.escape(version.title or "Untitled flow")
        return HTMLResponse(f"<h1>{title}</h1><p>Signicat Mint sandbox: nothing to fill in.</p>")

    # -- instances ------------------------------------------------------------------------

    async def flow_instances(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            record = self._find_flow(request)
            found = self._instances_query(request, record.definition_id)
            now = time.monotonic()
            return JSONResponse([self._instance_json(request, i, now) for i in found])

    async def list_instances(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            found = self._instances_query(request, None)
            now = time.monotonic()
            return JSONResponse([self._instance_json(request, i, now) for i in found])

    async def get_instance(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            instance = self._find_instance(request)
            return JSONResponse(self._instance_json(request, instance, time.monotonic()))

    async def execution_log(self, request: Request) -> Response:
        self._caller(request)
        with self._lock:
            instance = self._find_instance(request)
            return JSONResponse(self._log_json(instance, time.monotonic()))

    async def instance_report(self, request: Request) -> Response:
        self._caller(request)
        fmt = request.path_params["fmt"]
        with self._lock:
            instance = self._find_instance(request)
            now = time.monotonic()
            status, states = instance.progress(now)
            rows = [
                [
                    state.step.name,
                    state.step.type,
                    state.status,
                    _iso(instance.started_epoch + state.started),
                    _iso(instance.started_epoch + state.ended) if state.ended is not None else "",
                    (state.step.fault or "") if state.status == "Faulted" else "",
                ]
                for state in states
            ]
            title = f"{instance.title} - instance {instance.id}"
            summary = [
                f"Flow: {instance.title} (version {instance.version})",
                f"Status: {status}",
                f"Started: {_iso(instance.started_epoch)}",
                *(f"Note: {note.note}" for note in instance.notes),
            ]
        header = ["Step", "Type", "Status", "Started", "Finished", "Message"]
        return _report(fmt, f"instance-{instance.id}", title, header, rows, summary)

    # -- notes ----------------------------------------------------------------------------

    async def create_note(self, request: Request) -> Response:
        caller = self._caller(request)
        text = _note_text(await _json_body(request))
        with self._lock:
            instance = self._find_instance(request)
            note = NoteRecord(uuid.uuid4().hex, text, time.time(), caller)
            instance.notes.append(note)
            return JSONResponse(_note_json(instance, note), 201)

    # -- errors ---------------------------------------------------------------------------

    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        return _problem(code, None)

    async def api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _problem(exc.status_code, exc.detail, exc.errors)

    async def unauthorized(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unauthorized)
        challenge = "Bearer"
        if exc.description:
            challenge += f' error="invalid_token", error_description="{exc.description}"'
        return Response(status_code=401, headers={"WWW-Authenticate": challenge})

    async def oauth_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if exc.status_code == 401 and exc.basic:
            headers["WWW-Authenticate"] = 'Basic realm="mint-sandbox"'
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, exc.status_code, headers=headers)

    # -- checks ---------------------------------------------------------------------------

    def _caller(self, request: Request) -> str:
        """The client id behind the request's bearer token; Unauthorized when there is none."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        with self._lock:
            record = self.tokens.get(token.strip())
            if record is None:
                raise Unauthorized("The access token is not valid")
            if time.monotonic() >= record.expires:
                raise Unauthorized("The access token expired")
            return record.client_id

    def _find_flow(self, request: Request) -> FlowRecord:
        record = self.flows.get(request.path_params["definition_id"])
        if record is None:
            raise ApiError(404, "No flow has this definitionId.")
        return record

    def _find_instance(self, request: Request) -> InstanceRecord:
        instance = self.instances.get(request.path_params["instance_id"])
        if instance is None:
            raise ApiError(404, "No instance has this id.")
        return instance

    def _instances_query(self, request: Request, definition_id: str | None) -> list[InstanceRecord]:
        query = _query(request)
        status = query.get("status")
        if status is not None:
            status = next((s for s in FLOW_STATUSES if s.lower() == status.strip().lower()), None)
            if status is None:
                raise _invalid_value("status", query["status"])
        order = _enum(query, "orderby", ("Started", "LastExecuted", "Finished"), "Started")
        correlation = query.get("correlationid")
        search = (query.get("searchterm") or "").strip().lower()
        offset = _int(query, "offset", 0)
        limit = _int(query, "limit", None)
        if offset < 0:
            raise _invalid_value("offset", str(offset))
        if limit is not None and limit < 0:
            raise _invalid_value("limit", str(limit))
        now = time.monotonic()
        rows = []
        for instance in self.instances.values():
            if definition_id is not None and instance.definition_id != definition_id:
                continue
            if correlation and instance.correlation_id != correlation:
                continue
            if search and not any(
                search in (text or "").lower()
                for text in (instance.id, instance.title, instance.correlation_id)
            ):
                continue
            current, states = instance.progress(now)
            if status is not None and current != status:
                continue
            last = max((s.ended if s.ended is not None else s.started for s in states), default=0)
            final = current in ("Finished", "Faulted")
            sort_value = {
                "Started": instance.started_epoch,
                "LastExecuted": instance.started_epoch + last,
                "Finished": instance.started_epoch + last if final else -math.inf,
            }[order]
            rows.append((sort_value, instance))
        rows.sort(key=lambda row: row[0], reverse=True)
        end = None if limit is None else offset + min(limit, MAX_LIST)
        return [instance for _, instance in rows[offset:end]]

    # -- state ----------------------------------------------------------------------------

    def _new_flow(
        self, body: dict[str, Any], *, created_at: float, definition_id: str | None = None
    ) -> FlowRecord:
        version = FlowVersion(
            version_id=uuid.uuid4().hex,
            version=1,
            title=None,
            description=None,
            steps=[],
            connections=[],
            tags=[],
            created_at=created_at,
            updated_at=created_at,
        )
        _apply(version, body)
        record = FlowRecord(definition_id or str(uuid.uuid4()), [version])
        self.flows[record.definition_id] = record
        return record

    def _start(
        self,
        record: FlowRecord,
        version: FlowVersion,
        *,
        input: dict[str, Any] | None,
        age: float = 0.0,
        speed: float | None = None,
        correlation_id: str | None = None,
        forced_status: str | None = None,
        workflow_url_ttl: int | None = None,
    ) -> InstanceRecord:
        instance = InstanceRecord(
            id=str(uuid.uuid4()),
            definition_id=record.definition_id,
            version=version.version,
            title=version.title or "Untitled flow",
            plan=version.plan(),
            started_mono=time.monotonic() - age,
            started_epoch=time.time() - age,
            speed=self.speed if speed is None else speed,
            input=input,
            correlation_id=correlation_id,
            forced_status=forced_status,
            workflow_url_ttl=workflow_url_ttl,
        )
        self.instances[instance.id] = instance
        while len(self.instances) > MAX_INSTANCES:
            self.instances.pop(next(iter(self.instances)))
        return instance

    def _seed(self) -> None:
        now = time.time()

        def steps(*items: tuple[str, str, float, str | None]) -> list[dict[str, Any]]:
            raw = []
            for index, (name, kind, seconds, fault) in enumerate(items, 1):
                step: dict[str, Any] = {"id": f"step-{index}", "type": kind, "name": name}
                step["sandboxSeconds"] = seconds
                if fault:
                    step["sandboxFault"] = fault
                raw.append(step)
            return raw

        def connect(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {"source": a["id"], "target": b["id"], "outcome": "Done"}
                for a, b in itertools.pairwise(items)
            ]

        seeds: list[dict[str, Any]] = [
            {
                "id": ONBOARD_FLOW_ID,
                "title": "Onboard customer",
                "description": "Collect a customer's details, verify the email, open the account.",
                "tags": ["customers"],
                "steps": steps(
                    ("Collect customer details", "Form", 0.5, None),
                    ("Verify email address", "Email", 0.5, None),
                    ("Create customer account", "HttpRequest", 0.5, None),
                ),
                "ages": [60 * DAY, 30 * DAY],
                "published": 2,
            },
            {
                "id": KYC_FLOW_ID,
                "title": "KYC check",
                "description": "Know your customer: verify an ID document before approving.",
                "tags": ["compliance"],
                "steps": steps(
                    ("Collect ID document", "Form", 0.5, None),
                    (KYC_FAILING_STEP, "IdentityVerification", 1.0, KYC_FAULT),
                    ("Approve customer", "Condition", 0.5, None),
                ),
                "ages": [20 * DAY],
                "published": 1,
            },
            {
                "id": CONTRACT_FLOW_ID,
                "title": "Contract signing",
                "description": "Generate a contract and have it signed electronically.",
                "tags": ["legal"],
                "steps": steps(
                    ("Generate contract", "Pdf", 0.5, None),
                    ("Sign contract", "Sign", 1.0, None),
                    ("Send signed copy", "Email", 0.5, None),
                ),
                "ages": [2 * DAY],
                "published": None,
            },
            {
                "id": ADDRESS_FLOW_ID,
                "title": "Address change",
                "description": "Let a customer change their address and update the CRM.",
                "tags": ["customers"],
                "steps": steps(
                    ("Collect new address", "Form", 0.5, None),
                    ("Update CRM", "HttpRequest", 0.5, None),
                ),
                "ages": [10 * DAY],
                "published": 1,
            },
            {
                "id": INVOICE_FLOW_ID,
                "title": "Invoice approval",
                "description": "Route an invoice to the right approver.",
                "tags": ["finance"],
                "steps": steps(
                    ("Upload invoice", "Form", 0.5, None),
                    ("Check amount", "Condition", 0.5, None),
                    ("Notify accounts", "Email", 0.5, None),
                ),
                "ages": [40 * DAY, 25 * DAY, 1 * DAY],
                "published": 2,
            },
        ]
        for seed in seeds:
            record = None
            for number, age in enumerate(seed["ages"], 1):
                body = {
                    "title": seed["title"],
                    "description": seed["description"],
                    "tags": seed["tags"],
                    "steps": seed["steps"],
                    "connections": connect(seed["steps"]),
                }
                if record is None:
                    record = self._new_flow(body, created_at=now - age, definition_id=seed["id"])
                else:
                    version = FlowVersion(
                        version_id=uuid.uuid4().hex,
                        version=number,
                        title=None,
                        description=None,
                        steps=[],
                        connections=[],
                        tags=[],
                        created_at=now - age,
                        updated_at=now - age,
                    )
                    _apply(version, body)
                    record.versions.append(version)
                record.latest.published = number == seed["published"]
        history = [
            (ONBOARD_FLOW_ID, 26 * HOUR, None, "crm-1041"),
            (KYC_FLOW_ID, 30 * HOUR, None, "crm-1040"),
            (ONBOARD_FLOW_ID, 5 * HOUR, "Suspended", "crm-1043"),
            (KYC_FLOW_ID, 3 * HOUR, None, "crm-1044"),
            (ADDRESS_FLOW_ID, 50 * 60, None, "crm-1045"),
        ]
        for definition_id, age, status, correlation_id in history:
            self.add_instance(definition_id, age=age, status=status, correlation_id=correlation_id)

    # -- rendering ------------------------------------------------------------------------

    def _flow_json(self, request: Request, record: FlowRecord, v: FlowVersion) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": v.version_id,
            "definitionId": record.definition_id,
            "version": v.version,
            "title": v.title,
            "description": v.description,
            "isPublished": v.published,
            "isLatest": v is record.latest,
            "isDraft": not v.published,
            "createdAt": _iso(v.created_at),
            "updatedAt": _iso(v.updated_at),
            "tags": list(v.tags),
            "steps": [_public_step(step) for step in v.steps],
            "connections": list(v.connections),
            "customAttributes": None,
            "variables": None,
        }
        if v.published:
            data["workflowUrl"] = f"{_base(request)}/w/{record.definition_id}"
        return data

    def _instance_json(
        self, request: Request, instance: InstanceRecord, now: float
    ) -> dict[str, Any]:
        status, states = instance.progress(now)
        begin = instance.started_epoch
        last = max((s.ended if s.ended is not None else s.started for s in states), default=0.0)
        ended = states[-1].ended if states and status in ("Finished", "Faulted") else None
        data: dict[str, Any] = {
            "id": instance.id,
            "definitionId": instance.definition_id,
            "version": instance.version,
            "title": instance.title,
            "status": status,
            "correlationId": instance.correlation_id,
            "started": _iso(begin),
            "lastExecuted": _iso(begin + last),
            "finished": _iso(begin + ended) if status == "Finished" and ended is not None else None,
            "faultedAt": _iso(begin + ended) if status == "Faulted" and ended is not None else None,
            "cancelledAt": _iso(begin + last) if status == "Cancelled" else None,
            "input": instance.input or {},
            "output": {"completedSteps": len(states)} if status == "Finished" else None,
            "faults": [],
            "notes": [_note_json(instance, note) for note in instance.notes],
        }
        if status == "Faulted":
            failing = states[-1]
            data["faults"] = [
                {
                    "faultedActivityId": failing.step.id,
                    "faultedActivityName": failing.step.name,
                    "message": failing.step.fault,
                    "exception": {"type": "StepFaultedException", "message": failing.step.fault},
                }
            ]
        if instance.workflow_url_ttl is not None:
            data["workflowUrl"] = f"{_base(request)}/w/{instance.definition_id}?i={instance.id}"
            data["workflowUrlExpires"] = _iso(begin + instance.workflow_url_ttl)
        return data

    def _log_json(self, instance: InstanceRecord, now: float) -> list[dict[str, Any]]:
        _status, states = instance.progress(now)
        begin = instance.started_epoch
        entries = []
        for index, state in enumerate(states, 1):
            step = state.step
            event = {"Running": "Executing", "Finished": "Executed", "Faulted": "Faulted"}
            entry: dict[str, Any] = {
                "id": f"{instance.id}-{index}",
                "instanceId": instance.id,
                "activityId": step.id,
                "activityType": step.type,
                "activityName": step.name,
                "eventName": event[state.status],
                "status": state.status,
                "started": _iso(begin + state.started),
                "finished": _iso(begin + state.ended) if state.ended is not None else None,
                "timestamp": _iso(
                    begin + (state.ended if state.ended is not None else state.started)
                ),
                "message": None,
            }
            if state.status == "Faulted":
                entry["message"] = step.fault
                entry["exception"] = {"type": "StepFaultedException", "message": step.fault}
            entries.append(entry)
        return entries


# -- helpers ----------------------------------------------------------------------------


def _step(raw: dict[str, Any]) -> Step:
    """A step of a seeded or added flow, whose own timing keys say how it runs."""
    fault = raw.get("sandboxFault")
    return Step(
        id=raw["id"],
        name=raw["name"],
        type=raw["type"],
        seconds=float(raw["sandboxSeconds"]),
        fault=str(fault) if fault else None,
    )


def _public_step(raw: dict[str, Any]) -> dict[str, Any]:
    """A step as Mint shows it: the sandbox's own timing keys stay inside."""
    return {k: v for k, v in raw.items() if k != "sandboxSeconds"}


def _apply(version: FlowVersion, body: dict[str, Any]) -> None:
    if "title" in body:
        version.title = body["title"]
    if "description" in body:
        version.description = body["description"]
    if "steps" in body:
        version.steps = [dict(step) for step in body["steps"] or []]
    if "connections" in body:
        version.connections = [dict(c) for c in body["connections"] or []]
    if "tags" in body:
        version.tags = list(body["tags"] or [])


def _selected(
    record: FlowRecord, version: FlowVersion, flags: dict[str, bool | None], number: int | None
) -> bool:
    """Whether a version passes the flow list's filters (only the latest without any)."""
    latest = version is record.latest
    filtered = number is not None or any(
        flags[name] is not None
        for name in ("islatest", "islatestorpublished", "ispublished", "isdraft")
    )
    if not filtered and not flags["allversions"]:
        return latest
    checks = [
        (number, version.version),
        (flags["islatest"], latest),
        (flags["ispublished"], version.published),
        (flags["isdraft"], not version.published),
        (flags["islatestorpublished"], latest or version.published),
    ]
    return all(wanted is None or wanted == actual for wanted, actual in checks)


def _note_json(instance: InstanceRecord, note: NoteRecord) -> dict[str, Any]:
    return {
        "id": note.id,
        "note": note.note,
        "instanceId": instance.id,
        "createdAt": _iso(note.created_at),
        "createdBy": note.created_by,
    }


def _note_text(body: dict[str, Any]) -> str:
    text = body.get("note")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, errors={"note": ["The note field is required."]})
    if len(text) > MAX_NOTE:
        raise ApiError(400, errors={"note": [f"The note may have at most {MAX_NOTE} characters."]})
    return text.strip()


def _problem(
    status: int, detail: str | None, errors: dict[str, list[str]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _PROBLEM_TYPES.get(status, "about:blank"),
        "title": "One or more validation errors occurred." if errors else _TITLES.get(status),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    return JSONResponse(body, status, media_type=PROBLEM)


def _report(
    fmt: str, name: str, title: str, header: list[str], rows: list[list[str]], summary: list[str]
) -> Response:
    filename = f"{name}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        return Response(out.getvalue().encode("utf-8"), media_type=CSV, headers=headers)
    lines = [*summary, "", " | ".join(header)]
    lines += [" | ".join(value or "-" for value in row) for row in rows]
    return Response(pdf_document(title, lines), media_type=PDF, headers=headers)


def _cell(value: str) -> str:
    # A cell starting like a formula is shown as text by spreadsheets.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def pdf_document(title: str, lines: list[str]) -> bytes:
    """A minimal valid one-page PDF (Helvetica) with a title and up to 50 lines of text."""

    def text(value: str) -> str:
        value = value.encode("latin-1", "replace").decode("latin-1")
        return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 16 Tf", "50 790 Td", "22 TL", f"({text(title[:80])}) Tj", "/F1 10 Tf", "T*"]
    ops += ["14 TL"]
    for line in lines[:50]:
        ops.append(f"({text(line[:110])}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _base(request: Request) -> str:
    # Mounted under a prefix, the prefix is the root_path; links must include it.
    root = request.scope.get("root_path", "").rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _query(request: Request) -> dict[str, str]:
    """Query parameters by lower-case name, as ASP.NET binds them (the last one wins)."""
    return {name.lower(): value for name, value in request.query_params.multi_items()}


def _bool(query: dict[str, str], name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid_value(name, value)


def _int(query: dict[str, str], name: str, default: int | None) -> Any:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _invalid_value(name, value) from None
    if not -(2**31) <= number < 2**31:
        raise _invalid_value(name, value)
    return number


def _enum(query: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name)
    if value is None or value == "":
        return default
    for option in allowed:
        if option.lower() == value.strip().lower():
            return option
    raise _invalid_value(name, value)


async def _json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, errors={"": ["A non-empty request body is required."]})
    try:
        body = decode_json(raw)
    except ValueError:
        raise ApiError(400, errors={"$": ["The JSON value could not be converted."]}) from None
    if body is None and allow_empty:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, errors={"$": ["The JSON value must be an object."]})
    return body


def create_app(
    *,
    client_id: str = DEMO_CLIENT_ID,
    client_secret: str = DEMO_CLIENT_SECRET,
    token_ttl: float = 3600,
    speed: float = 1.0,
) -> Starlette:
    """A Mint sandbox app; its state is ``app.state.sandbox`` and ``app.state.calls``.

    ``token_ttl`` is the access tokens' lifetime in seconds; ``speed`` scales how long an
    instance's steps take (0.1: ten times faster).
    """
    sandbox = MintSandbox(
        client_id=client_id, client_secret=client_secret, token_ttl=token_ttl, speed=speed
    )
    calls: list[Call] = []
    s = sandbox
    app = Starlette(
        routes=[
            Route(TOKEN_PATH, s.token, methods=["POST"]),
            Route("/flows", s.list_flows, methods=["GET"]),
            Route("/flows/{definition_id}", s.get_flow, methods=["GET"]),
            Route("/flows/{definition_id}/publish", s.publish, methods=["POST"]),
            Route("/flows/{definition_id}/unpublish", s.unpublish, methods=["POST"]),
            Route("/flows/{definition_id}/execute", s.execute, methods=["POST"]),
            Route("/flows/{definition_id}/instances", s.flow_instances, methods=["GET"]),
            Route("/instances", s.list_instances, methods=["GET"]),
            Route("/instances/{instance_id}", s.get_instance, methods=["GET"]),
            Route("/instances/{instance_id}/executionlog", s.execution_log, methods=["GET"]),
            Route(
                "/instances/{instance_id}/csv", _fixed(s.instance_report, "csv"), methods=["GET"]
            ),
            Route(
                "/instances/{instance_id}/pdf", _fixed(s.instance_report, "pdf"), methods=["GET"]
            ),
            Route("/instances/{instance_id}/notes", s.create_note, methods=["POST"]),
            Route("/w/{definition_id}", s.public_page, methods=["GET"]),
        ],
        middleware=[Middleware(RecordCalls, calls=calls)],
        exception_handlers={
            ApiError: s.api_error,
            Unauthorized: s.unauthorized,
            OAuthError: s.oauth_error,
            404: s.not_found,
            405: s.not_found,
        },
    )
    app.state.sandbox = sandbox
    app.state.calls = calls
    return app


def _fixed(endpoint: Any, fmt: str) -> Any:
    """``endpoint`` with the report format ``fmt`` set, for routes that spell it out."""

    async def with_format(request: Request) -> Response:
        request.path_params["fmt"] = fmt
        return await endpoint(request)

    return with_format
