"""Flint's XML documents <-> plain Python values, shared by the client and the sandbox.

Reading: children become keys, repeated tags become lists, leaves become their text (an
empty or whitespace-only leaf becomes ``None``); attributes and namespaces are ignored.
Parsing goes through defusedxml with DTDs forbidden, so a document that declares a DTD or
entities is refused instead of expanded.

Writing: mappings become child elements, lists become repeated elements, ``None`` an empty
element, booleans ``true``/``false``; ElementTree escapes every value.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building, and ParseError; parsing is defusedxml
from collections.abc import Mapping
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
MAX_DEPTH = 64

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class XMLDocumentError(ValueError):
    """The bytes are not an XML document we accept (malformed, DTD, entities, too deep)."""


def parse(content: bytes | str) -> tuple[str, Any]:
    """The root's tag and its value; raises XMLDocumentError."""
    try:
        root = SafeET.fromstring(content, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise XMLDocumentError(f"XML with a DTD or entities is not accepted ({exc})") from exc
    except ET.ParseError as exc:
        raise XMLDocumentError(f"malformed XML ({exc})") from exc
    return _local(root.tag), _value(root, 0)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _value(element: ET.Element, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise XMLDocumentError(f"XML nested deeper than {MAX_DEPTH} levels")
    children = list(element)
    if not children:
        text = element.text
        return text if text is not None and text.strip() else None
    result: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in children:
        key, value = _local(child.tag), _value(child, depth + 1)
        if key not in result:
            result[key] = value
        elif key in repeated:
            result[key].append(value)
        else:
            result[key] = [result[key], value]
            repeated.add(key)
    return result


def render(root: str, value: Any) -> bytes:
    """A UTF-8 XML document ``<root>…</root>``; raises ValueError for what XML cannot say."""
    element = ET.Element(_check_name(root))
    _fill(element, value, 0)
    return XML_DECLARATION + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:40] + "…"
        raise ValueError(
            f"{shown} cannot be an XML element name (use letters, digits, `_ . -`, "
            "starting with a letter or `_`)"
        )
    return name


def _fill(element: ET.Element, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = _check_name(key)
            items = item if isinstance(item, list | tuple) else [item]
            for one in items:
                _fill(ET.SubElement(element, name), one, depth + 1)
    elif isinstance(value, list | tuple):
        # A bare list has no tag of its own: each item becomes an <item>.
        for one in value:
            _fill(ET.SubElement(element, "item"), one, depth + 1)
    elif value is None:
        return
    else:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _NOT_XML_CHAR.search(text):
        raise ValueError("a value contains control characters that XML cannot carry")
    return text
