"""Stintmint's API: post data to a StintFlow, fetch its responses, read its callbacks.

Where the vendor document is silent, the choices are made here, once:

- ``/fetch`` is ``POST {base}/fetch`` with a JSON body (the doc's examples disagree).
- A request the humans have not finished is an ordinary answer, never an error: a 2xx
  whose ``status`` is not ``COMPLETED`` (or whose body is empty) is a FlowResponse with
  ``is_complete`` false. Fields the answer leaves out (``identifier``, ``sfId``,
  ``stateId``) are filled in from what was asked.
- ``/post``'s answer is undocumented: any JSON object is kept as a PostAnswer; an empty
  body is an empty one. ``/post`` is never retried: a retry could pay for the work twice.
- Errors: 401/403 VendorAuthError, 404 VendorNotFound, other 4xx VendorRejected with the
  vendor's message (``message``/``error``/``detail`` of a JSON body, or short plain text),
  5xx and transport failures VendorUnavailable, unreadable 2xx VendorResponseInvalid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from adapters.base import VendorClient, decode_json
from adapters.http import error_for_status, invalid_response
from adapters.retries import DEFAULT_RETRIES, Retries
from adapters.stintmint.models import (
    FlowResponse,
    PostAnswer,
    PostRequest,
    flow_response,
    validate_identifier,
    validate_sf_id,
    validate_state_id,
)

VENDOR = "Stintmint"
DEFAULT_URL = "https://stintmint.com/api/v1"
POST_PATH = "/post"
FETCH_PATH = "/fetch"
MAX_CALLBACK_BYTES = 1_000_000
# Well-formed, and no one posts under it: fetching it proves we get in (404 expected).
PING_SF_ID = "chatops-ping"
PING_IDENTIFIER = "chatops-ping-00000000"
# Answers to the ping that prove an authenticated Stintmint API read our request.
PING_OK_CODES = frozenset({400, 404, 422})


class StintmintClient(VendorClient):
    """Talks to Stintmint through a shared ``httpx.AsyncClient`` (no base_url on it)."""

    vendor = VENDOR
    base_url_name = "The Stintmint URL"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_URL,
        username: str,
        key: str,
        retries: Retries = DEFAULT_RETRIES,
    ) -> None:
        super().__init__(http, base_url=base_url, retries=retries)
        self._auth = _basic_auth(username, key)
        self._key = key

    # -- API ----------------------------------------------------------------------------

    async def post(self, request: PostRequest) -> PostAnswer:
        """Send data to a StintFlow; the humans' responses come later (callback or fetch).

        The request is validated again first (a model's lists can be changed after it was
        built), so an invalid one raises ValueError and nothing is sent. Never retried.
        """
        if not isinstance(request, PostRequest):
            raise TypeError("post() takes a PostRequest")
        body = PostRequest.model_validate(request.model_dump()).payload()
        response = await self._request(POST_PATH, body)
        if not response.content.strip():
            return PostAnswer()
        try:
            document = decode_json(response.content)
        except ValueError as exc:
            raise invalid_response(
                VENDOR,
                response,
                "the answer to the post is not JSON; the request may still have been "
                "accepted, so fetch it before posting again",
            ) from exc
        if not isinstance(document, dict):
            document = {"answer": document}
        return PostAnswer.model_validate(document)

    async def fetch(self, sf_id: str, identifier: str) -> FlowResponse:
        """The request's status and, once it is COMPLETED, its responses."""
        sf_id, identifier = validate_sf_id(sf_id), validate_identifier(identifier)
        body = {"identifier": identifier, "sfId": sf_id}
        response = await self._request(FETCH_PATH, body)
        return self._flow(response, body)

    async def fetch_module(self, sf_id: str, identifier: str, state_id: str) -> FlowResponse:
        """The responses of one module (``stateId``) of the StintFlow for this request."""
        sf_id, identifier = validate_sf_id(sf_id), validate_identifier(identifier)
        body = {"identifier": identifier, "sfId": sf_id, "stateId": validate_state_id(state_id)}
        response = await self._request(FETCH_PATH, body)
        return self._flow(response, body)

    async def ping(self) -> None:
        """Prove Stintmint is reachable and accepts our credentials (for ``chatops check``).

        Fetches a request that cannot exist. 2xx, or 400/404/422 with a JSON body (an API
        that read our authenticated request and found nothing), is success; 401/403 is
        VendorAuthError; a non-JSON 404 means the URL is not the Stintmint API.
        """
        body = {"identifier": PING_IDENTIFIER, "sfId": PING_SF_ID}
        response = await self._request(FETCH_PATH, body, check=False)
        if response.is_success:
            return
        if response.status_code in PING_OK_CODES and _is_json(response):
            return
        message = self._vendor_message(response)
        if message is None and response.status_code == 404:
            message = "no Stintmint API answers at this URL; check the Stintmint URL"
        raise error_for_status(VENDOR, response, message)

    # -- plumbing -----------------------------------------------------------------------

    async def _request(
        self, path: str, body: dict[str, Any], *, check: bool = True
    ) -> httpx.Response:
        # /fetch only reads; /post pays for work, so only retried when told it was not done.
        return await self._send("POST", path, json=body, read=path == FETCH_PATH, check=check)

    def _secrets(self) -> Iterable[str]:
        return (self._key,)

    def _flow(self, response: httpx.Response, asked: dict[str, str]) -> FlowResponse:
        if not response.content.strip():
            return flow_response({}, **asked)  # accepted, nothing to show yet
        try:
            return flow_response(decode_json(response.content), **asked)
        except ValueError as exc:
            raise invalid_response(VENDOR, response, str(exc)) from exc


def parse_callback(body: bytes) -> FlowResponse:
    """Validate a callback Stintmint POSTed to us; ValueError says what is wrong with it.

    The body must be a JSON object naming the ``identifier`` and ``sfId`` it answers.
    """
    if not isinstance(body, bytes | bytearray | str):
        raise ValueError("a callback body is bytes")
    if len(body) > MAX_CALLBACK_BYTES:
        raise ValueError("the callback body is too large")
    if not body.strip():
        raise ValueError("the callback body is empty")
    try:
        document = decode_json(body)
    except ValueError as exc:
        raise ValueError("the callback body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise ValueError("the callback body is not a JSON object")
    result = flow_response(document)
    if result.identifier is None or result.sf_id is None:
        raise ValueError("the callback names no identifier or no sfId")
    for check, value in ((validate_identifier, result.identifier), (validate_sf_id, result.sf_id)):
        check(value)
    return result


def _basic_auth(username: str, key: str) -> httpx.BasicAuth:
    if not isinstance(username, str) or not username.strip():
        raise ValueError("Stintmint needs a username (the account's email address)")
    if not isinstance(key, str) or not key:
        raise ValueError("Stintmint needs a developer key")
    if ":" in username:
        raise ValueError("The Stintmint username must not contain ':'")
    for value in (username, key):
        if any(ch < " " or ch == "\x7f" for ch in value):
            # Never say which value, nor echo it: one is a credential.
            raise ValueError("Stintmint credentials must not contain control characters")
    return httpx.BasicAuth(username.strip(), key)


def _is_json(response: httpx.Response) -> bool:
    try:
        return isinstance(decode_json(response.content), dict | list)
    except ValueError:
        return False
