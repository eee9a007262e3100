"""``/stomt`` text → a request, validated before anything talks to STOMT."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from adapters.base import shorten
from adapters.stomt import (
    MAX_LABELS,
    MAX_TEXT,
    Polarity,
    StomtKind,
    validate_stomt_id,
    validate_target_id,
)
from bot.config import Settings
from handlers.common.commands import Help
from handlers.common.digest import DigestCommand, parse_digest_with
from handlers.common.held import holdable
from handlers.common.text import UsageError, first_word, normalize, one_of, split_args

KINDS: tuple[StomtKind, ...] = ("received", "created", "top")
POLARITIES: tuple[Polarity, ...] = ("positive", "negative")
_OPTION = re.compile(
    r"""(?:^|\s)--(?P<name>[A-Za-z-]+)(?:=|\s+)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))"""
)


@holdable
@dataclass(frozen=True)
class PostRequest:
    text: str
    positive: bool
    target: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)


@holdable
@dataclass(frozen=True)
class ListRequest:
    target: str | None
    kind: StomtKind = "received"
    polarity: Polarity | None = None
    offset: int = 0


@holdable
@dataclass(frozen=True)
class ShowRequest:
    stomt_id: str


@holdable
@dataclass(frozen=True)
class DeleteRequest:
    stomt_id: str


@holdable
@dataclass(frozen=True)
class DigestRequest:
    command: DigestCommand
    target: str | None = None  # --target, else STOMT_TARGET (filled in by ``complete``)


StomtRequest = PostRequest | ListRequest | ShowRequest | DeleteRequest | DigestRequest


def policy_view(request: StomtRequest) -> tuple[str, str | None]:
    """The request as the access policy sees it: (subcommand, target)."""
    if isinstance(request, PostRequest):
        return ("like" if request.positive else "wish"), request.target
    if isinstance(request, ListRequest):
        return "list", request.target
    if isinstance(request, ShowRequest):
        return "show", request.stomt_id
    if isinstance(request, DeleteRequest):
        return "delete", request.stomt_id
    # A digest posts the default target's stomts: rules on that target apply to it too.
    return "digest", request.target


NO_TARGET = (
    "Say which target (the slug of a STOMT page), or ask an admin to set STOMT_TARGET "
    "as the default."
)


def complete(request: StomtRequest, settings: Settings) -> StomtRequest:
    """A request that names no target is about STOMT_TARGET; lists need one (a digest
    without one is about the channel's subscription: the command looks it up)."""
    if isinstance(request, PostRequest | ListRequest | DigestRequest) and request.target is None:
        request = replace(request, target=settings.stomt_target)
        if request.target is None and isinstance(request, ListRequest):
            raise UsageError(NO_TARGET)
    return request


def parse(text: str | None) -> StomtRequest | Help:
    text = normalize(text)
    sub, rest = first_word(text)
    sub = sub.lower()
    if sub in ("", "help", "-h", "--help"):
        return Help()
    if sub in ("wish", "like"):
        # Free text: apostrophes ("it's") must not be taken for shell quotes.
        return _post(rest, positive=sub == "like")
    args = split_args(rest)
    if sub == "list":
        return _list(args)
    if sub in ("show", "delete"):
        if len(args) != 1:
            raise UsageError(f"`/stomt {sub}` takes exactly one stomt id.")
        stomt_id = _checked(validate_stomt_id, args[0])
        return ShowRequest(stomt_id) if sub == "show" else DeleteRequest(stomt_id)
    if sub == "digest":
        command, target = parse_digest_with(args, "--target")
        return DigestRequest(command, target and _checked(validate_target_id, target))
    raise UsageError(f"Unknown subcommand `{shorten(sub)}`.")


def _post(rest: str, *, positive: bool) -> PostRequest:
    target = None
    labels: list[str] = []
    for match in _OPTION.finditer(rest):
        name = match["name"].lower()
        value = next(v for v in (match["dq"], match["sq"], match["bare"]) if v is not None)
        if name == "target":
            target = value
        elif name == "label":
            labels.append(value)
        else:
            raise UsageError(f"Unknown option `--{shorten(name)}`; use --target or --label.")
    text = _OPTION.sub(" ", rest).strip()
    dangling = re.search(r"(?:^|\s)--(target|label)\b", text, re.IGNORECASE)
    if dangling:
        raise UsageError(f"`--{dangling[1].lower()}` needs a value.")
    return post_request(text, positive=positive, target=target, labels=labels)


def post_request(
    text: str, *, positive: bool, target: str | None = None, labels: Iterable[str] = ()
) -> PostRequest:
    """A wish or like from its parts, as ``/stomt wish|like`` reads them (a Workflow
    Builder step's inputs too): ``text`` is taken whole, whatever it holds."""
    if target is not None:
        target = _checked(validate_target_id, target)
    kept: list[str] = []
    for label in labels:
        if not label.strip() or len(label) > 100:
            raise UsageError("A label is 1 to 100 characters.")
        kept.append(label.strip())
        if len(kept) > MAX_LABELS:
            raise UsageError(f"At most {MAX_LABELS} labels (`--label`) per stomt.")
    kind = "like" if positive else "wish"
    if not text:
        raise UsageError(f"Say what you {kind}: `/stomt {kind} TEXT`.")
    if len(text) > MAX_TEXT:
        raise UsageError(
            f"That {kind} is {len(text):,} characters long; STOMT takes at most {MAX_TEXT:,}."
        )
    return PostRequest(text, positive, target, tuple(kept))


def _list(args: list[str]) -> ListRequest:
    target: str | None = None
    kind: StomtKind | None = None
    polarity: Polarity | None = None
    for arg in args:
        word = arg.lower()
        given_kind, given_polarity = one_of(word, KINDS), one_of(word, POLARITIES)
        if given_kind is not None and kind is None:
            kind = given_kind
        elif given_polarity is not None and polarity is None:
            polarity = given_polarity
        elif target is None and kind is None and polarity is None:
            target = _checked(validate_target_id, arg)
        else:
            raise UsageError(_list_mistake(arg, target, kind, polarity))
    return ListRequest(target, kind or "received", polarity)


def _list_mistake(
    arg: str, target: str | None, kind: StomtKind | None, polarity: Polarity | None
) -> str:
    """Why ``arg`` cannot come where it was typed in ``/stomt list``."""
    shown, word = shorten(arg), arg.lower()
    if one_of(word, KINDS) is not None:
        return f"`{shown}`: give only one of {', '.join(KINDS)}."
    if one_of(word, POLARITIES) is not None:
        return f"`{shown}`: give only one of {', '.join(POLARITIES)}."
    if target is not None:
        return f"`{shown}`: `/stomt list` takes one target (here `{target}`)."
    given = " ".join(str(part) for part in (kind, polarity) if part is not None)
    return f"The target comes first: `/stomt list {shown} {given}`."


def _checked(validate, value: str) -> str:
    try:
        return validate(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
