"""Flow titles for Mint's messages, where only a flow's id (a UUID) is at hand: looked up
through the adapter and remembered briefly, so a page of instances, More, or a run again
costs Mint one call a minute at most per flow."""

from __future__ import annotations

import time
import weakref

from adapters.errors import VendorError
from adapters.mint import MintClient

TTL = 60.0  # seconds a title (or that there is none) is remembered
KEPT = 256  # titles remembered per client; the oldest is forgotten first

# Per client (so a test's app, or a replaced client, starts with nothing known):
# definition id -> (when it is forgotten, title or None).
_known: weakref.WeakKeyDictionary[MintClient, dict[str, tuple[float, str | None]]] = (
    weakref.WeakKeyDictionary()
)


async def flow_title(client: MintClient, definition_id: str) -> str | None:
    """The flow's title, or None when Mint has none for it or cannot say now (the caller
    shows the id instead)."""
    known = _known.setdefault(client, {})
    now = time.monotonic()
    cached = known.get(definition_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        flow = await client.get_flow(definition_id)
        title = (flow.title or "").strip() or None
    except (VendorError, ValueError):
        title = None
    known.pop(definition_id, None)
    if len(known) >= KEPT:
        known.pop(next(iter(known)))
    known[definition_id] = (now + TTL, title)
    return title
