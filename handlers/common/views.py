"""What a submitted modal carries besides its fields."""

from __future__ import annotations

import json
from typing import Any

from bot import bounded_json


def private_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON object the app put in a modal's ``private_metadata``, or ``{}`` when the
    submission carries anything else (Slack returns it as given, but a payload is still
    input: it may be empty, not JSON, or JSON of another shape)."""
    try:
        data = bounded_json.loads(str(view.get("private_metadata") or "{}"))
    except (json.JSONDecodeError, bounded_json.JsonLimitError):
        return {}
    return data if isinstance(data, dict) else {}
