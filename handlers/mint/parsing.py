"""``/mint`` text → a request, validated before anything talks to Signicat Mint."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from adapters.base import shorten
from adapters.mint import (
    FlowStatus,
    check_note,
    check_search,
    validate_definition_id,
    validate_instance_id,
)
from handlers.common.commands import Help
from handlers.common.digest import DigestCommand, parse_digest
from handlers.common.held import holdable
from handlers.common.replies import trailing_json
from handlers.common.text import UsageError, first_word, normalize, split_args

STATUSES = tuple(status.value for status in FlowStatus)


@holdable
@dataclass(frozen=True)
class FlowsRequest:
    search: str | None = None


@holdable
@dataclass(frozen=True)
class ExecuteRequest:
    definition_id: str
    input: dict[str, Any] = field(default_factory=dict)


@holdable
@dataclass(frozen=True)
class InstancesRequest:
    definition_id: str
    status: str | None = None
    offset: int = 0


@holdable
@dataclass(frozen=True)
class InstanceRequest:
    instance_id: str


@holdable
@dataclass(frozen=True)
class PublishRequest:
    definition_id: str
    publish: bool


@holdable
@dataclass(frozen=True)
class NoteRequest:
    instance_id: str
    text: str


@holdable
@dataclass(frozen=True)
class DigestRequest:
    command: DigestCommand


MintRequest = (
    FlowsRequest
    | ExecuteRequest
    | InstancesRequest
    | InstanceRequest
    | PublishRequest
    | NoteRequest
    | DigestRequest
)


def policy_view(request: MintRequest) -> tuple[str, str | None]:
    """The request as the access policy sees it: (subcommand, target)."""
    if isinstance(request, FlowsRequest):
        return "flows", None
    if isinstance(request, ExecuteRequest):
        return "execute", request.definition_id
    if isinstance(request, InstancesRequest):
        return "instances", request.definition_id
    if isinstance(request, InstanceRequest):
        return "instance", request.instance_id
    if isinstance(request, PublishRequest):
        return ("publish" if request.publish else "unpublish"), request.definition_id
    if isinstance(request, NoteRequest):
        return "note", request.instance_id
    return "digest", None


def parse(text: str | None) -> MintRequest | Help:
    """Raises UsageError with a sentence saying what is wrong."""
    text = normalize(text)
    sub, rest = first_word(text)
    sub = sub.lower()
    if sub in ("", "help", "-h", "--help"):
        return Help()
    if sub == "note":
        # The note is free text: apostrophes are not shell quotes.
        instance, note = first_word(rest)
        if not instance or not note.strip():
            raise UsageError("`/mint note` takes an instance id and the note's text.")
        return NoteRequest(
            _checked(validate_instance_id, instance), _checked(check_note, note.strip())
        )
    if sub == "execute":
        body, data = trailing_json(rest, alone="`/mint execute`")
        args = split_args(body)
        if not args:
            raise UsageError(
                "Say which flow: `/mint execute DEFINITION_ID [JSON object]` (the id is on "
                "its `/mint flows` card)."
            )
        if len(args) > 1:
            raise UsageError(_not_execute_input(first_word(body)[1], data))
        return execute_request(args[0], data)
    args = split_args(rest)
    if sub == "flows":
        return FlowsRequest(_checked(check_search, " ".join(args)))
    if sub == "instances":
        if not 1 <= len(args) <= 2:
            raise UsageError("`/mint instances` takes a definition id and, optionally, a status.")
        status = None
        if len(args) == 2:
            matches = [s for s in STATUSES if s.lower() == args[1].lower()]
            if not matches:
                raise UsageError(
                    f"`{shorten(args[1])}` is not a status: use one of {', '.join(STATUSES)}."
                )
            status = matches[0]
        return InstancesRequest(_checked(validate_definition_id, args[0]), status)
    if sub == "instance":
        if len(args) != 1:
            raise UsageError("`/mint instance` takes exactly one instance id.")
        return InstanceRequest(_checked(validate_instance_id, args[0]))
    if sub in ("publish", "unpublish"):
        if len(args) != 1:
            raise UsageError(f"`/mint {sub}` takes exactly one definition id.")
        return PublishRequest(_checked(validate_definition_id, args[0]), sub == "publish")
    if sub == "digest":
        return DigestRequest(parse_digest(args))
    raise UsageError(f"Unknown subcommand `{sub[:40]}`.")


def _not_execute_input(extra: str, data: dict[str, Any] | None) -> str:
    """What is wrong with ``extra``, typed after the definition id where only one JSON
    object may be: Mint's input is a JSON object, and nothing else."""
    words = split_args(extra)
    if extra.startswith("["):
        return (
            f"`{shorten(extra)}` is a JSON array; a flow's input is one JSON object, "
            'like `{"items": [1, 2]}`.'
        )
    if all("=" in word and not word.startswith("=") for word in words):
        wanted = {**(data or {}), **dict(word.split("=", 1) for word in words)}
        return (
            f"`/mint execute` takes no key=value pairs: write the input as one JSON object, "
            f"`{shorten(json.dumps(wanted, ensure_ascii=False), 200)}`."
        )
    return (
        f"Did not understand `{shorten(extra)}`: after the definition id, `/mint execute` "
        'takes only one JSON object, like `{"email": "ada@example.com"}`.'
    )


def execute_request(definition_id: str, data: dict[str, Any] | None) -> ExecuteRequest:
    """``/mint execute``'s request from its two parts, as the command reads them (a
    Workflow Builder step's inputs too); ``data`` is already a JSON object within the
    app's bounds (``json_object``)."""
    return ExecuteRequest(_checked(validate_definition_id, definition_id), data or {})


def _checked(validate, value: str) -> Any:
    try:
        return validate(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
