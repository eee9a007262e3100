"""Flint's REST API: run flintbits, fetch job results, check that Flint answers us.

Every URL is built from the configured base URL and validated names only, so nothing a
user types can change the path or the query. Every failure is a VendorError.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from adapters.base import JSON, REQUEST_TIMEOUT_S, VendorClient, media_type
from adapters.errors import VendorResponseInvalid
from adapters.flint import xmldoc
from adapters.flint.models import FlintbitRef, FlintResult, parse_flintbit, validate_job_id
from adapters.http import invalid_response, printable
from adapters.retries import DEFAULT_RETRIES, Retries

VENDOR = "Flint"
XML = "application/xml"
# Flint waits this long in a synchronous run when no timeout is given.
FLINT_DEFAULT_SYNC_MS = 6000
# How much longer than Flint's own wait we wait for a synchronous answer.
SYNC_MARGIN_S = 10.0
# Well-formed, and no Flint will ever have issued it: asking for it proves we get in.
PING_JOB_ID = "job-00000000-0000-0000-0000-000000000000"


class FlintAuth(httpx.Auth):
    """Flint's headers: ``flint-key`` when a key is given, else username and password."""

    def __init__(
        self, *, username: str | None = None, password: str | None = None, key: str | None = None
    ) -> None:
        if key:
            headers = {"flint-key": key}
        elif username and password:
            headers = {"x-flint-username": username, "x-flint-password": password}
        else:
            raise ValueError("Flint needs either a key, or a username and a password")
        for value in headers.values():
            if any(ch < " " or ch == "\x7f" for ch in value):
                # Never say which value: it is a credential.
                raise ValueError("Flint credentials must not contain control characters")
        self._headers = headers

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth sends, for scrubbing text before it is shown."""
        return tuple(value for name, value in self._headers.items() if name != "x-flint-username")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        for name, value in self._headers.items():
            request.headers[name] = value
        yield request

    def __repr__(self) -> str:
        kind = "key" if "flint-key" in self._headers else "username/password"
        return f"FlintAuth({kind})"


class FlintClient(VendorClient):
    """Talks to one Flint server through a shared ``httpx.AsyncClient`` (no base_url on it)."""

    vendor = VENDOR
    base_url_name = "The Flint URL"
    base_url_hint = " (put a key in FLINT_KEY instead)"
    _auth: FlintAuth

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        key: str | None = None,
        request_format: Literal["json", "xml"] = "json",
        retries: Retries = DEFAULT_RETRIES,
    ) -> None:
        if request_format not in ("json", "xml"):
            raise ValueError("request_format is 'json' or 'xml'")
        super().__init__(http, base_url=base_url, retries=retries)
        self._auth = FlintAuth(username=username, password=password, key=key)
        self.request_format = request_format

    def __repr__(self) -> str:
        return f"FlintClient({self.base_url!r}, {self._auth!r}, {self.request_format})"

    # -- API ----------------------------------------------------------------------------

    async def run(
        self,
        flintbit: FlintbitRef | str,
        input: Mapping[str, Any] | None = None,
        *,
        sync: bool = False,
        timeout_ms: int | None = None,
    ) -> FlintResult:
        """Start a flintbit; ``sync`` (implied by ``timeout_ms``) waits for Flint's answer.

        A synchronous answer may still be unfinished when Flint's wait ran out: check
        ``is_final`` and poll ``result`` after. Never retried: a retry could run it twice.
        """
        ref = flintbit if isinstance(flintbit, FlintbitRef) else parse_flintbit(flintbit)
        path = f"/v1/bit/run/{quote(ref.box, safe='')}:{quote(ref.bit, safe='')}"
        if timeout_ms is not None:
            if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0:
                raise ValueError("timeout_ms must be a positive whole number of milliseconds")
            path += f"/sync/{timeout_ms}"
            read = timeout_ms / 1000 + SYNC_MARGIN_S
        elif sync:
            path += "/sync"
            read = FLINT_DEFAULT_SYNC_MS / 1000 + SYNC_MARGIN_S
        else:
            read = REQUEST_TIMEOUT_S
        body = self._body(input)
        response = await self._request("POST", path, body=body, read_timeout=read)
        return self._result(response)

    async def result(self, job_id: str) -> FlintResult:
        """The job's current status, with its output once it has finished."""
        job_id = validate_job_id(job_id)
        response = await self._request("GET", f"/v1/bit/result/{quote(job_id, safe='')}")
        return self._result(response)

    async def ping(self) -> None:
        """Prove Flint is reachable and accepts our credentials (for ``chatops check``).

        Asks for a job that cannot exist: 404 is the expected, successful answer.
        """
        path = f"/v1/bit/result/{PING_JOB_ID}"
        response = await self._request("GET", path, check=False)
        if response.status_code == 404 or response.is_success:
            return
        raise self._error(response)

    # -- plumbing -----------------------------------------------------------------------

    @property
    def _content_type(self) -> str:
        return XML if self.request_format == "xml" else JSON

    def _body(self, input: Mapping[str, Any] | None) -> bytes:
        if input is not None and not isinstance(input, Mapping):
            raise TypeError("Flint input must be a mapping of names to values")
        data = dict(input or {})
        if self.request_format == "xml":
            return xmldoc.render("flint", data)
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        read_timeout: float = REQUEST_TIMEOUT_S,
        check: bool = True,
    ) -> httpx.Response:
        # Flint wants a Content-Type on every call; it also tells it how to answer. A run
        # (POST) is retried only when Flint says it did not run.
        headers = {"Content-Type": self._content_type, "Accept": self._content_type}
        return await self._send(
            method, path, content=body, headers=headers, read_timeout=read_timeout, check=check
        )

    def _secrets(self) -> Iterable[str]:
        return self._auth.secrets

    def _explain(self, response: httpx.Response) -> str | None:
        """Flint's ``meta.message`` from an error answer, when it has one we can read."""
        try:
            document = self._document(response)
        except VendorResponseInvalid:
            return None
        meta = document.get("meta") if isinstance(document, dict) else None
        message = meta.get("message") if isinstance(meta, dict) else None
        return message if isinstance(message, str) else None

    def _document(self, response: httpx.Response) -> Any:
        """The answer as Python values, by its Content-Type; raises VendorResponseInvalid."""
        media = media_type(response)
        is_xml = media.endswith("/xml") or media.endswith("+xml")
        is_json = media.endswith("/json") or media.endswith("+json")
        if not (is_xml or is_json):
            start = response.content.lstrip()[:1]
            if media in ("", "text/plain") and start in (b"<", b"{"):
                is_xml = start == b"<"
            else:
                raise invalid_response(
                    VENDOR, response, f"unexpected Content-Type {printable(media) or 'none'}"
                )
        if not is_xml:
            return super()._document(response)
        try:
            _root, value = xmldoc.parse(response.content)
        except xmldoc.XMLDocumentError as exc:
            raise invalid_response(VENDOR, response, str(exc)) from exc
        return value

    def _result(self, response: httpx.Response) -> FlintResult:
        document = self._document(response)
        if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
            raise invalid_response(VENDOR, response, "the answer has no meta object")
        try:
            result = FlintResult.model_validate(
                {"meta": document["meta"], "output": document.get("output")}
            )
        except ValidationError as exc:
            fields = ", ".join(str(err["loc"][-1]) for err in exc.errors()[:3])
            raise invalid_response(
                VENDOR, response, f"unexpected values in meta ({fields})"
            ) from exc
        if result.job_id is None or result.meta.status_text is None:
            raise invalid_response(VENDOR, response, "the answer has no job-id or status")
        try:
            validate_job_id(result.job_id)
        except ValueError as exc:
            raise invalid_response(
                VENDOR, response, "the job-id is not one we can ask about later"
            ) from exc
        return result
