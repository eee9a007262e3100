"""Signicat Mint's API: list, publish and execute flows; follow instances; notes; reports.

Every URL is the configured base URL plus a fixed path below and validated ids, so nothing
a user types can change the path. Every failure is a VendorError; bad arguments are
ValueError raised before anything is sent.

Where the document is silent, these are our choices (the contract fixes the first group):

- Paths, relative to MINT_URL. Fixed by the contract (those the product calls):
  ``GET /flows``, ``GET /flows/{definitionId}``, ``POST /flows/{definitionId}/publish``,
  ``/unpublish``, ``/execute``, ``GET /flows/{definitionId}/instances``, ``GET /instances``,
  ``GET /instances/{instanceId}``, ``GET /instances/{instanceId}/executionlog``,
  ``POST /instances/{instanceId}/notes``. Ours, named after the document's heading: an
  instance's report ``GET /instances/{instanceId}/csv|pdf``. They are the ``*_PATH``
  constants below, nowhere else.
- Query parameters are spelled exactly as the document spells them, including its
  inconsistencies: ``orderBy``/``sortBy`` for flows, ``orderby`` for instance lists.
  Booleans are ``true``/``false``.
- Token: OAuth 2.0 client credentials (``grant_type=client_credentials``,
  ``scope=signicat-api``) at MINT_TOKEN_URL, the client authenticating with HTTP Basic as
  RFC 6749 §2.3.1 says every server must accept (``client_auth="post"`` sends the id and
  secret as form fields instead). The token is kept until 60 s (or a tenth of its
  lifetime, whichever is shorter) before ``expires_in``; without ``expires_in`` until Mint
  answers 401. A 401 fetches one new token (shared by every request that got the 401 with
  the same token) and repeats the request once: a 401 means Mint did not act on it, so
  this is safe even for execute. Otherwise a write is sent again only when Mint says it
  did not act on it (``adapters/retries.py``): executing, publishing or adding a note twice
  is worse than an error.
- A refusal by the token endpoint (400 ``invalid_client`` …, 401, 403) is VendorAuthError
  naming MINT_CLIENT_ID and MINT_CLIENT_SECRET; concurrent requests waiting for that token
  share the one refusal instead of asking again. The secret never appears in a message.
- Errors: 401 (after the new token) → VendorAuthError; 403 → VendorAuthError saying the
  API client needs the Flow Editor and Flow Viewer roles; 404 → VendorNotFound; 429, and
  503 → VendorRateLimited (``retry_after`` from Retry-After, or None); other 4xx →
  VendorRejected with Mint's message, read from an RFC 7807 problem (``detail``, ``title``,
  ``errors``) or ``message``/``error``/``error_description``; other 5xx and transport →
  VendorUnavailable; a 2xx we cannot read → VendorResponseInvalid.
- Answers: a list may be an array or an object holding it (see ``models.list_items``).
  ``publish``, ``unpublish`` and ``create_note`` may answer an empty body
  (or, for publish, just the link as a JSON string): the result is then built from what
  we asked, so callers always get a Flow or a Note.
- Reports keep Mint's file name (Content-Disposition) when it gives one, else
  ``mint-instance-{id}.csv``/``.pdf``; a PDF must start with ``%PDF-``; at most 50 MiB
  (every other answer: at most ``http.MAX_ANSWER_BYTES``, 8 MiB).
- ``ping`` lists one flow: an authenticated read that changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import re
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import quote, quote_plus, unquote

import httpx
from pydantic import BaseModel, ValidationError

from adapters.base import (
    JSON,
    VendorClient,
    check_base_url,
    decode_json,
    explanation,
    media_type,
    vendor_text,
)
from adapters.errors import (
    VendorAuthError,
    VendorError,
    VendorRateLimited,
    VendorResponseInvalid,
    http_context,
)
from adapters.http import MAX_ANSWER_BYTES, error_for_status, read_capped
from adapters.mint.models import (
    INT32_MAX,
    ExecutionLogEntry,
    Flow,
    FlowOrderBy,
    FlowStatus,
    Instance,
    InstanceOrderBy,
    Note,
    ReportFormat,
    SortBy,
    check_note,
    check_search,
    flow_order_by,
    instance_order_by,
    list_items,
    parse_status,
    report_format,
    sort_direction,
    validate_definition_id,
    validate_id,
    validate_instance_id,
)
from adapters.retries import DEFAULT_RETRIES, Retries, retry_after

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

VENDOR = "Signicat Mint"
DEFAULT_URL = "https://api.signicat.com/mint"
DEFAULT_TOKEN_URL = "https://api.signicat.com/auth/open/connect/token"  # noqa: S105 - a URL
SCOPE = "signicat-api"

# -- paths (relative to MINT_URL; ids are validated and quoted before they go in) ---------
FLOWS_PATH = "/flows"
FLOW_PATH = "/flows/{definition_id}"
PUBLISH_PATH = "/flows/{definition_id}/publish"
UNPUBLISH_PATH = "/flows/{definition_id}/unpublish"
EXECUTE_PATH = "/flows/{definition_id}/execute"
FLOW_INSTANCES_PATH = "/flows/{definition_id}/instances"
INSTANCES_PATH = "/instances"
INSTANCE_PATH = "/instances/{instance_id}"
EXECUTION_LOG_PATH = "/instances/{instance_id}/executionlog"
INSTANCE_REPORT_PATH = "/instances/{instance_id}/{fmt}"
NOTES_PATH = "/instances/{instance_id}/notes"

REPORT_TIMEOUT_S = 60.0
MAX_REPORT_BYTES = 50 * 1024 * 1024
# A token is renewed this long before Mint says it expires (at most a tenth of its life).
TOKEN_MARGIN_S = 60.0
TOKEN_MARGIN_SHARE = 0.1
REPORT_TYPES = {"csv": "text/csv", "pdf": "application/pdf"}


class Report(NamedTuple):
    """A downloaded report: ``filename, content, content_type = await mint.instance_report(…)``."""

    filename: str
    content: bytes
    content_type: str


class MintAuth(httpx.Auth):
    """Bearer tokens from Signicat's OAuth 2.0 token endpoint (client-credentials grant).

    Concurrent requests without a usable token share one token request (an asyncio.Lock);
    the token is kept until shortly before it expires; a 401 fetches one new token and the
    request is sent once more. ``token_fetches`` counts token requests sent, and
    ``refreshes`` those made because Mint answered 401. Works with ``httpx.AsyncClient``.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = SCOPE,
        client_auth: Literal["basic", "post"] = "basic",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ValueError("Signicat Mint needs a client id (MINT_CLIENT_ID)")
        if not isinstance(client_secret, str) or not client_secret:
            raise ValueError("Signicat Mint needs a client secret (MINT_CLIENT_SECRET)")
        for value in (client_id, client_secret, scope):
            if any(ch < " " or ch == "\x7f" for ch in value):
                # Never say which value, nor echo it: one is a credential.
                raise ValueError("Signicat Mint credentials must not contain control characters")
        if client_auth not in ("basic", "post"):
            raise ValueError("client_auth is 'basic' or 'post'")
        self.token_url = check_base_url(token_url, "MINT_TOKEN_URL")
        self.client_auth = client_auth
        self.clock = clock
        self._client_id = client_id.strip()
        self._client_secret = client_secret
        self._scope = scope
        self._token: str | None = None
        self._renew_at: float | None = None  # clock() time; None: until Mint answers 401
        self._lock = asyncio.Lock()
        self._failure: VendorError | None = None
        self._answered = 0  # token answers received, to tell waiters a refusal is fresh
        self.token_fetches = 0
        self.refreshes = 0

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth knows, for scrubbing text before it is shown."""
        return tuple(value for value in (self._client_secret, self._token) if value)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("MintAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.setdefault("Accept", JSON)
        stale: str | None = None
        for attempt in (1, 2):
            if not self._usable(stale):
                answered = self._answered
                async with self._lock:
                    # Whoever waited here finds the token (or the refusal) the request
                    # ahead of it just got.
                    if not self._usable(stale):
                        if self._answered != answered and self._failure is not None:
                            raise _again(self._failure)
                        self.token_fetches += 1
                        if stale is not None:
                            self.refreshes += 1
                        token_response = yield self._token_request(request)
                        await read_capped(VENDOR, token_response, MAX_ANSWER_BYTES)
                        self._accept_token(token_response)
            token = self._token
            assert token is not None
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or attempt == 2:
                return
            # httpx reads an answer the flow moves past in full: read it capped first.
            await read_capped(VENDOR, response, MAX_ANSWER_BYTES)
            log.info("mint: the access token was refused (401); fetching a new one")
            stale = token

    def _usable(self, stale: str | None) -> bool:
        if self._token is None or self._token == stale:
            return False
        return self._renew_at is None or self.clock() < self._renew_at

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        form = {"grant_type": "client_credentials", "scope": self._scope}
        headers = {"Accept": JSON}
        if self.client_auth == "basic":
            # RFC 6749 §2.3.1: form-urlencode id and secret, then Basic.
            pair = f"{quote_plus(self._client_id)}:{quote_plus(self._client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        token_request = httpx.Request("POST", self.token_url, data=form, headers=headers)
        if "timeout" in request.extensions:
            token_request.extensions["timeout"] = request.extensions["timeout"]
        return token_request

    def _accept_token(self, response: httpx.Response) -> None:
        self._answered += 1
        try:
            self._failure = None
            self._token_answer(response)
        except VendorError as exc:
            self._failure = exc
            raise

    def _token_answer(self, response: httpx.Response) -> None:
        try:
            document = decode_json(response.content)
        except ValueError:
            document = None
        if not response.is_success:
            raise self._token_error(response, document)
        if not isinstance(document, dict):
            raise _invalid(response, "the token endpoint did not answer a JSON object")
        token = document.get("access_token")
        if not isinstance(token, str) or not token.strip():
            raise _invalid(response, "the token answer has no access_token")
        if any(ch <= " " or ch == "\x7f" for ch in token):
            raise _invalid(response, "the token answer has an unusable access_token")
        token_type = document.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise _invalid(response, "the token is not a Bearer token")
        lifetime = _seconds(document.get("expires_in"))
        self._token = token
        if lifetime is None:
            self._renew_at = None
        else:
            margin = min(TOKEN_MARGIN_S, lifetime * TOKEN_MARGIN_SHARE)
            self._renew_at = self.clock() + lifetime - margin
        log.info("mint: got an access token (expires in %s s)", lifetime)

    def _token_error(self, response: httpx.Response, document: Any) -> VendorError:
        code = response.status_code
        kw = http_context(response)
        error = description = None
        if isinstance(document, dict):
            error = document.get("error") if isinstance(document.get("error"), str) else None
            if isinstance(document.get("error_description"), str):
                description = document["error_description"]
        said = vendor_text(
            ": ".join(text for text in (error, description) if text and text.strip()), self.secrets
        )
        detail = f"{said} (HTTP {code})" if said else f"HTTP {code}"
        if code == 429 or code == 503:
            return VendorRateLimited(
                VENDOR,
                f"{VENDOR}'s token endpoint is busy: {detail}",
                retry_after=retry_after(response),
                **kw,
            )
        if code >= 500:
            return error_for_status(VENDOR, response, said)
        if code == 404 or code == 405:
            return VendorAuthError(
                VENDOR, f"No OAuth token endpoint answers at MINT_TOKEN_URL: {detail}.", **kw
            )
        if error in ("invalid_scope", "unauthorized_client"):
            hint = (
                f"The API client MINT_CLIENT_ID may not use the scope {self._scope}: "
                "check its permissions in the Signicat Dashboard"
            )
        else:
            hint = "Check MINT_CLIENT_ID and MINT_CLIENT_SECRET"
        return VendorAuthError(
            VENDOR, f"{VENDOR} refused our client credentials: {detail}. {hint}.", **kw
        )

    def __repr__(self) -> str:
        return f"MintAuth({self.token_url!r}, {self.client_auth})"


class MintClient(VendorClient):
    """Talks to Signicat Mint through a shared ``httpx.AsyncClient`` (no base_url on it)."""

    vendor = VENDOR
    base_url_name = "MINT_URL"
    _auth: MintAuth

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        client_id: str,
        client_secret: str,
        scope: str = SCOPE,
        client_auth: Literal["basic", "post"] = "basic",
        retries: Retries = DEFAULT_RETRIES,
    ) -> None:
        super().__init__(http, base_url=base_url, retries=retries)
        self._auth = MintAuth(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            client_auth=client_auth,
        )

    def __repr__(self) -> str:
        return f"MintClient({self.base_url!r}, {self._auth!r})"

    @property
    def auth(self) -> MintAuth:
        """The client's token source: its clock and its ``token_fetches``/``refreshes`` counts."""
        return self._auth

    # -- flows ----------------------------------------------------------------------------

    async def list_flows(
        self,
        search: str | None = None,
        *,
        is_latest: bool | None = None,
        is_latest_or_published: bool | None = None,
        is_published: bool | None = None,
        is_draft: bool | None = None,
        all_versions: bool | None = None,
        version: int | None = None,
        offset: int | None = None,
        limit: int | None = None,
        order_by: FlowOrderBy | None = None,
        sort_by: SortBy | None = None,
    ) -> list[Flow]:
        """The account's flows; every filter is the document's query parameter of that name.

        ``search`` is ``searchTerm``; ``order_by`` is Name, Description or CreatedAt and
        ``sort_by`` Ascending or Descending (any case).
        """
        params: dict[str, str] = {}
        for name, value in (
            ("IsLatest", is_latest),
            ("IsLatestOrPublished", is_latest_or_published),
            ("IsPublished", is_published),
            ("IsDraft", is_draft),
            ("AllVersions", all_versions),
        ):
            if value is not None:
                params[name] = _flag(name, value)
        if version is not None:
            params["Version"] = str(_count("Version", version, 0))
        if (term := check_search(search)) is not None:
            params["searchTerm"] = term
        params |= _paging(offset, limit)
        if order_by is not None:
            params["orderBy"] = flow_order_by(order_by)
        if sort_by is not None:
            params["sortBy"] = sort_direction(sort_by)
        response, document = await self._json("GET", FLOWS_PATH, params=params)
        return [self._flow(response, item) for item in self._items(response, document, "flows")]

    async def get_flow(self, definition_id: str) -> Flow:
        path = _path(FLOW_PATH, definition_id=validate_definition_id(definition_id))
        response, document = await self._json("GET", path)
        return self._flow(response, document)

    async def publish(self, definition_id: str) -> Flow:
        """Publish the flow; its ``link`` is the end-user URL when Mint sent one. Not retried."""
        definition_id = validate_definition_id(definition_id)
        path = _path(PUBLISH_PATH, definition_id=definition_id)
        response, document = await self._json("POST", path, empty_ok=True)
        if isinstance(document, str):  # just the link
            document = {"workflowUrl": document}
        fallback = {"definitionId": definition_id, "isPublished": True}
        return self._flow(response, document, fallback=fallback)

    async def unpublish(self, definition_id: str) -> Flow:
        definition_id = validate_definition_id(definition_id)
        path = _path(UNPUBLISH_PATH, definition_id=definition_id)
        response, document = await self._json("POST", path, empty_ok=True)
        fallback = {"definitionId": definition_id, "isPublished": False}
        return self._flow(response, document, fallback=fallback)

    async def execute(
        self,
        definition_id: str,
        input: Mapping[str, Any] | None = None,
        workflow_url_ttl: int | None = None,
    ) -> Instance:
        """Start the flow in the background; follow the instance with ``get_instance``.

        Body ``{"input": {...}, "workflowUrlTtl": N}`` (each left out when not given).
        Never retried: a retry could run the flow twice.
        """
        definition_id = validate_definition_id(definition_id)
        body: dict[str, Any] = {}
        if input is not None:
            if not isinstance(input, Mapping):
                raise ValueError('The input of a flow is a JSON object, e.g. {"name": "Ada"}')
            body["input"] = _jsonable(dict(input), "The input")
        if workflow_url_ttl is not None:
            body["workflowUrlTtl"] = _count("workflowUrlTtl", workflow_url_ttl, 0)
        path = _path(EXECUTE_PATH, definition_id=definition_id)
        response, document = await self._json("POST", path, json=body, started=True)
        instance = _model(response, Instance, document, "instance")
        if not instance.id:
            raise _invalid(response, "the answer names no instance id", started=True)
        if instance.definition_id is None:
            instance.definition_id = definition_id
        return instance

    # -- instances ------------------------------------------------------------------------

    async def flow_instances(
        self,
        definition_id: str,
        status: FlowStatus | str | None = None,
        *,
        correlation_id: str | None = None,
        search: str | None = None,
        order_by: InstanceOrderBy | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> list[Instance]:
        """The flow's instances, optionally only those in ``status``."""
        path = _path(FLOW_INSTANCES_PATH, definition_id=validate_definition_id(definition_id))
        params = _instance_query(status, correlation_id, search, order_by, offset, limit)
        return await self._instances(path, params)

    async def instances(
        self,
        status: FlowStatus | str | None = None,
        *,
        correlation_id: str | None = None,
        search: str | None = None,
        order_by: InstanceOrderBy | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> list[Instance]:
        """Instances of every flow of the account, optionally only those in ``status``."""
        params = _instance_query(status, correlation_id, search, order_by, offset, limit)
        return await self._instances(INSTANCES_PATH, params)

    async def get_instance(self, instance_id: str) -> Instance:
        instance_id = validate_instance_id(instance_id)
        response, document = await self._json("GET", _path(INSTANCE_PATH, instance_id=instance_id))
        instance = _model(response, Instance, document, "instance")
        if instance.id is None:
            instance.id = instance_id
        return instance

    async def execution_log(self, instance_id: str) -> list[ExecutionLogEntry]:
        """What happened at each step; ``models.failing_step`` finds where it faulted."""
        path = _path(EXECUTION_LOG_PATH, instance_id=validate_instance_id(instance_id))
        response, document = await self._json("GET", path)
        items = self._items(response, document, "executionLog", "entries", "records", "logs")
        return [_model(response, ExecutionLogEntry, item, "log record") for item in items]

    async def instance_report(self, instance_id: str, fmt: ReportFormat = "csv") -> Report:
        """The instance's outcome report as a CSV or PDF file."""
        instance_id = validate_instance_id(instance_id)
        fmt = report_format(fmt)
        path = _path(INSTANCE_REPORT_PATH, instance_id=instance_id, fmt=fmt)
        return await self._report(path, {}, fmt, f"mint-instance-{instance_id}.{fmt}")

    # -- notes ----------------------------------------------------------------------------

    async def create_note(self, instance_id: str, text: str) -> Note:
        """Add a note to an instance (body ``{"note": "..."}``). Never retried."""
        instance_id, text = validate_instance_id(instance_id), check_note(text)
        path = _path(NOTES_PATH, instance_id=instance_id)
        response, document = await self._json("POST", path, json={"note": text}, empty_ok=True)
        if isinstance(document, str | int) and not isinstance(document, bool):
            document = {"id": str(document)}  # just the new note's id
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise _invalid(response, "the note answer is not a JSON object")
        asked = {"instanceId": instance_id, "note": text}
        return _model(response, Note, {**asked, **document}, "note")

    async def ping(self) -> None:
        """Prove Mint answers and takes our credentials (for ``chatops check``): one flow."""
        await self.list_flows(limit=1)

    # -- plumbing -------------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        empty_ok: bool = False,
        started: bool = False,
    ) -> tuple[httpx.Response, Any]:
        # A GET is a read; execute, publish and notes are tried again only when Mint says
        # it did not act.
        response = await self._send(method, path, params=params, json=json)
        if not response.content.strip():
            if empty_ok:
                return response, None
            raise _invalid(response, "an empty answer", started=started)
        try:
            return response, decode_json(response.content)
        except ValueError as exc:
            raise _invalid(response, "malformed JSON", started=started) from exc

    async def _instances(self, path: str, params: dict[str, str]) -> list[Instance]:
        response, document = await self._json("GET", path, params=params)
        items = self._items(response, document, "instances")
        return [_model(response, Instance, item, "instance") for item in items]

    async def _report(
        self, path: str, params: dict[str, str], fmt: str, default_name: str
    ) -> Report:
        response = await self._send(
            "GET",
            path,
            params=params,
            headers={"Accept": f"{REPORT_TYPES[fmt]}, {JSON};q=0.5"},
            read_timeout=REPORT_TIMEOUT_S,
            max_bytes=MAX_REPORT_BYTES,  # a report is a file, larger than any other answer
        )
        content = response.content
        media = media_type(response)
        if fmt == "pdf" and not content.startswith(b"%PDF-"):
            raise _invalid(response, "the PDF report is not a PDF")
        if fmt == "csv" and media in (JSON, "application/problem+json"):
            raise _invalid(response, "the CSV report is JSON")
        filename = _filename(response.headers.get("content-disposition"), fmt) or default_name
        return Report(filename, content, media or REPORT_TYPES[fmt])

    def _items(self, response: httpx.Response, document: Any, *names: str) -> list[Any]:
        try:
            items, _total = list_items(document, *names)
        except ValueError as exc:
            raise _invalid(response, str(exc)) from exc
        return items

    def _flow(
        self, response: httpx.Response, document: Any, fallback: dict[str, Any] | None = None
    ) -> Flow:
        if document is None and fallback is not None:
            document = {}
        if fallback is not None and isinstance(document, dict):
            document = {**fallback, **document}
        flow = _model(response, Flow, document, "flow")
        if not flow.definition_id:
            raise _invalid(response, "a flow without a definitionId")
        return flow

    def _secrets(self) -> Iterable[str]:
        return self._auth.secrets

    def _explain(self, response: httpx.Response) -> str | None:
        return explanation(response, _problem_text)

    def _error(self, response: httpx.Response) -> VendorError:
        message = self._vendor_message(response)
        code = response.status_code
        detail = f"{message} (HTTP {code})" if message else f"HTTP {code}"
        kw = http_context(response)
        if code == 401:
            return VendorAuthError(
                VENDOR,
                f"{VENDOR} refused our access token, even a new one: {detail}. "
                "Check MINT_URL, MINT_TOKEN_URL and MINT_CLIENT_ID.",
                **kw,
            )
        if code == 403:
            return VendorAuthError(
                VENDOR,
                f"{VENDOR} does not let our API client do this: {detail}. Give the API client "
                "(MINT_CLIENT_ID) the Flow Editor and Flow Viewer roles in the Signicat "
                "Dashboard (IAM > Permissions).",
                **kw,
            )
        if code == 503:
            return VendorRateLimited(
                VENDOR,
                f"{VENDOR} is busy or rate limiting us: {detail}",
                retry_after=retry_after(response),
                **kw,
            )
        return error_for_status(VENDOR, response, message)


def _again(error: VendorError) -> VendorError:
    """A new exception equal to ``error``, to raise in another request without sharing it."""
    clone = BaseException.__new__(type(error))
    clone.args = error.args
    clone.__dict__.update(error.__dict__)
    return clone


# -- arguments ---------------------------------------------------------------------------


def _path(template: str, **values: str) -> str:
    """The path with each (already validated) value quoted into its place."""
    return template.format(**{name: quote(value, safe="") for name, value in values.items()})


def _flag(name: str, value: object) -> str:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return "true" if value else "false"


def _count(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= INT32_MAX:
        raise ValueError(f"{name} must be a whole number, at least {least}")
    return value


def _paging(offset: int | None, limit: int | None) -> dict[str, str]:
    params = {}
    if offset is not None:
        params["offset"] = str(_count("offset", offset, 0))
    if limit is not None:
        params["limit"] = str(_count("limit", limit, 1))
    return params


def _instance_query(
    status: FlowStatus | str | None,
    correlation_id: str | None,
    search: str | None,
    order_by: str | None,
    offset: int | None,
    limit: int | None,
) -> dict[str, str]:
    params: dict[str, str] = {}
    if status is not None:
        params["status"] = parse_status(status).value
    if correlation_id is not None:
        params["correlationId"] = validate_id(correlation_id, "correlation id")
    if (term := check_search(search)) is not None:
        params["searchTerm"] = term
    if order_by is not None:
        params["orderby"] = instance_order_by(order_by)
    return params | _paging(offset, limit)


def _jsonable(value: Any, what: str) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be plain JSON (texts, numbers, lists, objects)") from exc
    return value


# -- answers -----------------------------------------------------------------------------


def _seconds(value: Any) -> float | None:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0.0, float(value))


def _filename(disposition: str | None, fmt: str) -> str | None:
    """The file name of a Content-Disposition header, made safe; None when there is none."""
    if not disposition:
        return None
    name = None
    match = re.search(r"filename\*\s*=\s*([^;]+)", disposition, re.IGNORECASE)
    if match:
        value = match.group(1).strip().strip('"')
        if "''" in value:
            value = value.split("''", 1)[1]
        name = unquote(value)
    else:
        match = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', disposition, re.I)
        if match:
            name = (match.group(1) or match.group(2) or "").strip()
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    if not name:
        return None
    if not name.lower().endswith(f".{fmt}"):
        name += f".{fmt}"
    return name[-120:]


def _problem_text(document: dict[str, Any]) -> str | None:
    """The message of an RFC 7807 problem (``detail``/``title`` and ``errors``) or similar."""
    parts: list[str] = []
    for key in ("detail", "message", "error_description", "title", "error"):
        value = document.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
            break
    errors = document.get("errors")
    if isinstance(errors, dict):
        for field, messages in list(errors.items())[:3]:
            if isinstance(messages, list):
                messages = "; ".join(str(m) for m in messages[:2])
            parts.append(f"{field}: {messages}")
    elif isinstance(errors, list):
        parts.extend(
            str(item.get("message", item)) if isinstance(item, dict) else str(item)
            for item in errors[:3]
        )
    return " — ".join(parts) if parts else None


def _model(response: httpx.Response, model: type[M], data: Any, what: str) -> M:
    if not isinstance(data, dict):
        raise _invalid(response, f"no {what} object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors()[:3] if err["loc"])
        raise _invalid(response, f"unexpected values in the {what} ({fields})") from exc


def _invalid(response: httpx.Response, why: str, *, started: bool = False) -> VendorError:
    message = (
        f"{VENDOR} answered something we could not understand: {why} (HTTP {response.status_code})"
    )
    if started:
        message += (
            "; the flow may have started anyway, so check its instances before running it again"
        )
    return VendorResponseInvalid(VENDOR, message, request=response.request, response=response)
