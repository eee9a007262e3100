"""STOMT's answers as typed values, and the slugs a user may type for stomts and targets.

Every model allows extra fields and tolerates missing or ``null`` ones: STOMT's document
shows more fields than it promises, and a field this code does not know yet must never
make a stomt unreadable. Python names are snake_case; STOMT's own spelling
(``textFull``, ``amountAgreements`` …) is the alias, and both are accepted on input.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.base import shorten
from adapters.timestamps import parse_time

# The longest text STOMT takes for one stomt (the document: "required, max 1000 characters").
MAX_TEXT = 1000
MAX_SLUG = 200

_SLUG = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_SLUG}}}")

StomtKind = Literal["received", "created", "top"]
Polarity = Literal["positive", "negative"]
STOMT_KINDS: tuple[str, ...] = ("received", "created", "top")
POLARITIES: tuple[str, ...] = ("positive", "negative")

# The values the document lists; STOMT may send others, which are kept as they come.
TYPES = ("unset", "spam", "bug", "improvement", "feature")
STATES = (
    "unset",
    "new",
    "seen",
    "indiscussion",
    "inprogress",
    "rejected",
    "implemented",
    "released",
)
SEVERITIES = ("unset", "weak", "normal", "heavy")
COMPLEXITIES = ("unset", "low", "medium", "high")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def as_dict(self) -> dict[str, Any]:
        """The value as STOMT spells it, JSON-serialisable."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _zero_if_missing(value: Any) -> Any:
    return 0 if value is None or value == "" else value


def _false_if_missing(value: Any) -> Any:
    return False if value is None or value == "" else value


class Category(_Model):
    id: str | None = None
    displayname: str | None = None


class TargetStats(_Model):
    amount_followers: int = Field(0, alias="amountFollowers")
    amount_follows: int = Field(0, alias="amountFollows")
    amount_stomts_created: int = Field(0, alias="amountStomtsCreated")
    amount_stomts_received: int = Field(0, alias="amountStomtsReceived")

    @field_validator("*", mode="before")
    @classmethod
    def _counts(cls, value: Any) -> Any:
        return _zero_if_missing(value)


class Target(_Model):
    """A target (a page, a user, a thing): what stomts are addressed to and written by."""

    id: str | None = None
    displayname: str | None = None
    category: Category | None = None
    images: dict[str, Any] | None = None
    premium: bool | None = None
    verified: bool | None = None
    secret: bool | None = None
    stats: TargetStats | None = None
    description: str | None = None
    websites: list[Any] | None = None

    @property
    def name(self) -> str:
        """The name to show: the display name, else the slug."""
        return self.displayname or self.id or "unknown"

    @property
    def image_url(self) -> str | None:
        profile = (self.images or {}).get("profile")
        url = profile.get("url") if isinstance(profile, dict) else None
        return url if isinstance(url, str) and url else None


class File(_Model):
    """A file uploaded to STOMT (``POST /files``) or attached to a stomt."""

    file_uid: str | None = None
    filename: str | None = None
    url: str | None = None


class Stomt(_Model):
    """One stomt: a wish (``positive`` false) or a like (``positive`` true)."""

    id: str | None = None  # the slug
    num: int | None = None
    positive: bool = False
    text: str | None = None
    details: str | None = None
    text_html: str | None = Field(None, alias="textHtml")
    text_beginning: str | None = Field(None, alias="textBeginning")
    text_full: str | None = Field(None, alias="textFull")
    lang: str | None = None
    type: str | None = None
    state: str | None = None
    severity: str | None = None
    complexity: str | None = None
    created_at: datetime | None = None
    anonym: bool = False
    images: dict[str, Any] | None = None
    files: list[File] = Field(default_factory=list)
    creator: Target | None = None
    target: Target | None = None
    amount_agreements: int = Field(0, alias="amountAgreements")
    amount_positive: int = Field(0, alias="amountPositive")
    amount_negative: int = Field(0, alias="amountNegative")
    amount_comments: int = Field(0, alias="amountComments")
    shortlink: str | None = None
    agreed: dict[str, Any] | None = None
    labels: list[str] = Field(default_factory=list)

    @field_validator("positive", "anonym", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        return _false_if_missing(value)

    @field_validator(
        "amount_agreements", "amount_positive", "amount_negative", "amount_comments", mode="before"
    )
    @classmethod
    def _counts(cls, value: Any) -> Any:
        return _zero_if_missing(value)

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("files", mode="before")
    @classmethod
    def _files(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> list[str]:
        return _label_names(value)

    def model_post_init(self, context: Any, /) -> None:
        # STOMT takes labels in ``extradata.labels``; an answer may carry them only there.
        if not self.labels and isinstance(self.model_extra, dict):
            extradata = self.model_extra.get("extradata")
            if isinstance(extradata, dict):
                self.labels = _label_names(extradata.get("labels"))

    @property
    def kind(self) -> Literal["wish", "like"]:
        return "like" if self.positive else "wish"


def _label_names(value: Any) -> list[str]:
    """Labels as names, whether STOMT sends ``["ux"]`` or ``[{"name": "ux", …}]``."""
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name") or item.get("text") or item.get("displayname")
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            text = str(item).strip()
            if text:
                names.append(text)
    return names


class Comment(_Model):
    id: str | None = None
    text: str | None = None
    state: str | None = None
    created_at: datetime | None = None
    anonym: bool = False
    reaction: bool = False
    creator: Target | None = None
    by_stomt_creator: bool = Field(False, alias="byStomtCreator")
    by_target_owner: bool = Field(False, alias="byTargetOwner")
    amount_subcomments: int = Field(0, alias="amountSubcomments")
    amount_votes: int = Field(0, alias="amountVotes")
    amount_positive: int = Field(0, alias="amountPositive")
    amount_negative: int = Field(0, alias="amountNegative")
    subs: list[Comment] = Field(default_factory=list)
    voted: dict[str, Any] | None = None

    @field_validator("anonym", "reaction", "by_stomt_creator", "by_target_owner", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        return _false_if_missing(value)

    @field_validator(
        "amount_subcomments", "amount_votes", "amount_positive", "amount_negative", mode="before"
    )
    @classmethod
    def _counts(cls, value: Any) -> Any:
        return _zero_if_missing(value)

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("subs", mode="before")
    @classmethod
    def _subs(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
        return value


class Session(_Model):
    """The answer to a login. The tokens never appear in ``repr``."""

    accesstoken: str | None = Field(None, repr=False)
    refreshtoken: str | None = Field(None, repr=False)
    user: Target | None = None
    new_user: bool = Field(False, alias="newUser")

    @field_validator("new_user", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return _false_if_missing(value)


def sentence(stomt: Stomt) -> str:
    """The stomt as people read it: ``"I wish …"`` or ``"I like …"``."""
    prefix = "I like" if stomt.positive else "I wish"
    text = (stomt.text or "").strip()
    if not text:
        full = (stomt.text_full or "").strip()
        return full if full else f"{prefix} …"
    if text.lower().startswith(prefix.lower() + " "):
        return text
    return f"{prefix} {text}"


def _validate_slug(what: str, example: str, text: object) -> str:
    if isinstance(text, str):
        slug = text.strip()
        if _SLUG.fullmatch(slug) and slug not in (".", ".."):
            return slug
    raise ValueError(
        f"`{shorten(text)}` is not a {what}: use 1 to {MAX_SLUG} letters, digits, `_`, `-` "
        f"or `.` (e.g. `{example}`)."
    )


def validate_stomt_id(text: object) -> str:
    """The stomt slug when it is one (letters, digits, `_ - .`, 1..200); else ValueError."""
    return _validate_slug("stomt id", "i-wish-the-bot-spoke-german", text)


def validate_target_id(text: object) -> str:
    """The target slug when it is one (letters, digits, `_ - .`, 1..200); else ValueError."""
    return _validate_slug("STOMT target", "chatops-hub", text)
