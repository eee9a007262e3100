"""``/stint`` text → a request, validated before anything talks to Stintmint."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError

from adapters.base import shorten
from adapters.stintmint import (
    MAX_DESCRIPTORS,
    Descriptor,
    infer_descriptor,
    validate_identifier,
    validate_sf_id,
    validate_state_id,
    validation_message,
)
from handlers.common.commands import Help
from handlers.common.held import holdable
from handlers.common.text import UsageError, normalize, split_args

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")


@holdable
@dataclass(frozen=True)
class PostRequest:
    sf_id: str
    identifier: str
    descriptors: tuple[Descriptor, ...]
    batch_id: str | None = None
    urgency: str | None = None


@holdable
@dataclass(frozen=True)
class FetchRequest:
    sf_id: str
    identifier: str
    state_id: str | None = None


def policy_view(request: PostRequest | FetchRequest) -> tuple[str, str | None]:
    """The request as the access policy sees it: (subcommand, target)."""
    return ("post" if isinstance(request, PostRequest) else "fetch"), request.sf_id


def parse(text: str | None) -> PostRequest | FetchRequest | Help:
    args = split_args(normalize(text))
    if not args or args[0].lower() in ("help", "-h", "--help"):
        return Help()
    sub, rest = args[0].lower(), args[1:]
    if sub == "post":
        return _post(rest)
    if sub == "fetch":
        if len(rest) not in (2, 3):
            raise UsageError("`/stint fetch` takes SF_ID IDENTIFIER and, optionally, STATE_ID.")
        sf_id, identifier = _ids(rest[0], rest[1])
        state_id = _checked(validate_state_id, rest[2]) if len(rest) == 3 else None
        return FetchRequest(sf_id, identifier, state_id)
    raise UsageError(f"Unknown subcommand `{shorten(args[0])}`.")


def _post(args: list[str]) -> PostRequest:
    batch = urgency = None
    positional: list[str] = []
    pairs: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg in ("--batch", "--urgency"):
            value = next(rest, None)
            if value is None:
                raise UsageError(f"`{arg}` needs a value.")
            if arg == "--batch":
                batch = batch_id(value)
            else:
                urgency = urgency_code(value)
        elif arg.startswith("--"):
            raise UsageError(
                f"Unknown option `{shorten(arg)}`; the options are --batch and --urgency."
            )
        elif "=" in arg and len(positional) >= 2:
            pairs.append(arg)
        else:
            positional.append(arg)
    if len(positional) > 2:
        raise UsageError(
            f"`{shorten(positional[2])}` is not name=value: after SF_ID and IDENTIFIER, each "
            "descriptor is name=value (e.g. `note=hello`)."
        )
    early = next((arg for arg in positional if "=" in arg), None)
    if early is not None:
        raise UsageError(
            f"`{shorten(early)}` is a descriptor, but SF_ID and IDENTIFIER come first: "
            "`/stint post SF_ID IDENTIFIER name=value …`."
        )
    if len(positional) != 2:
        raise UsageError("`/stint post` needs SF_ID and IDENTIFIER, then name=value pairs.")
    return post_request(positional[0], positional[1], pairs, batch, urgency)


def post_request(
    sf_id: str,
    identifier: str,
    pairs: list[str],
    batch: str | None = None,
    urgency: str | None = None,
) -> PostRequest:
    """``/stint post``'s request from its parts, as the command reads them (a Workflow
    Builder step's inputs too): each pair ``name[:TYPE]=value``; ``batch`` and
    ``urgency`` already checked (``batch_id``, ``urgency_code``)."""
    sf_id, identifier = _ids(sf_id, identifier)
    if not pairs:
        raise UsageError("Add at least one descriptor as name=value.")
    if len(pairs) > MAX_DESCRIPTORS:
        raise UsageError(
            f"That is {len(pairs)} descriptors; a request takes at most {MAX_DESCRIPTORS}."
        )
    return PostRequest(sf_id, identifier, tuple(_descriptor(p) for p in pairs), batch, urgency)


def batch_id(value: str) -> str:
    return _checked(validate_identifier, value, "batch id")


def urgency_code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise UsageError("`--urgency` is a short code of letters, digits, `_` or `-`.")
    return value


def _descriptor(pair: str) -> Descriptor:
    key, _, value = pair.partition("=")
    name, _, explicit = key.partition(":")
    if not name:
        sign, form = (":", "name:TYPE=value") if explicit else ("=", "name=value")
        raise UsageError(f"`{shorten(pair)}` has no name before `{sign}`: write {form}.")
    if not _NAME.fullmatch(name):
        raise UsageError(f"`{shorten(name)}` is not a valid descriptor name.")
    if not value:
        raise UsageError(f"`{shorten(name)}` has no value.")
    try:
        return infer_descriptor(name, value, explicit or None)
    except (ValueError, ValidationError) as exc:
        raise UsageError(validation_message(exc)) from exc


def _ids(sf_id: str, identifier: str) -> tuple[str, str]:
    return (
        _checked(validate_sf_id, sf_id),
        _checked(validate_identifier, identifier),
    )


def _checked(validate, value: str, what: str | None = None) -> str:
    try:
        return validate(value)
    except ValueError as exc:
        message = str(exc)
        raise UsageError(f"Bad {what}: {message}" if what else message) from exc
