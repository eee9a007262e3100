"""Requests held by the access policy are kept as the typed request itself.

A confirmation used to keep the command as text and parse it again on Confirm, so what
ran could differ from what was held (a STOMT form whose text said `--target other-page`
posted to other-page). Now the parsed request is serialised, and exactly it runs.

Only request types registered with ``@holdable`` can be loaded back: the stored type name
is looked up in this registry, never imported, and the fields are validated again by the
type's own rules (pydantic), so a stored row cannot build anything else.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T", bound=type)

_TYPES: dict[str, type] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def holdable(cls: T) -> T:
    """Register a request dataclass as one a confirmation (or an approval) may hold."""
    _TYPES[_name(cls)] = cls
    return cls


@cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def dump(request: Any) -> dict[str, Any]:
    """``request`` as JSON-ready data; raises TypeError for a type not registered."""
    cls: type = type(request)
    if _TYPES.get(_name(cls)) is not cls:
        raise TypeError(f"{_name(cls)} is not a holdable request type")
    return {"type": _name(cls), "fields": _adapter(cls).dump_python(request, mode="json")}


def load(data: Any) -> Any | None:
    """The request ``dump`` made, or None when the data is not one (unknown type, fields
    that no longer validate, e.g. after an upgrade changed the type)."""
    if not isinstance(data, dict):
        return None
    cls = _TYPES.get(str(data.get("type")))
    if cls is None:
        return None
    try:
        return _adapter(cls).validate_python(data.get("fields"))
    except (ValidationError, ValueError, TypeError):
        return None
