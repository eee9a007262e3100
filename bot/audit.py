"""Writing the audit log: redacted parameters, never a reason to fail the user's request."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.logs import REDACTED, SecretRedactor
from bot.store import AuditEntry, Store

log = logging.getLogger(__name__)

# Parameter names whose values are secrets whatever they look like.
_SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|api.?key|access.?key|client.?key|(?:^|[-_.])key$|authoriz"
    r"|(?:^|[-_.])auth(?:$|[-_.])|credential|session|cookie|signature|private"
    r"|(?:^|[-_.])(?:pin|otp|sig)$",
    re.IGNORECASE,
)
# Values that look like credentials wherever they appear.
_SECRET_VALUE = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT
    r"|(?:sk|pk|rk|ghp|gho|glpat|AKIA)[-_]?[A-Za-z0-9]{16,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
# The secret part of a URL's user info (scheme://user:secret@host), and of name=value
# pairs in query strings and connection strings (token=…&, Password=…;).
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):[^/\s@]+@")
_SECRET_PAIR = re.compile(
    r"(?i)\b((?:[a-z_]*(?:pass(?:word)?|pwd|secret|token|api_?key|access_?key|sig|signature)"
    r"[a-z_]*))=([^&;\s]+)"
)
# Long runs of mixed case and digits: API keys, not ids (ids are lower-case hex with
# dashes, slugs have dashes between words).
_HIGH_ENTROPY = re.compile(
    r"\b(?=[A-Za-z0-9_+/=]*[a-z])(?=[A-Za-z0-9_+/=]*[A-Z])"
    r"(?=[A-Za-z0-9_+/=]*[0-9])[A-Za-z0-9_+/=]{32,}\b"
)
# Items shaped {"name": …, "value"|"info"|…: …}, e.g. Stintmint descriptors.
_NAMED_ITEM_KEYS = ("name", "key", "field")


def redact(value: Any, known_secrets: Iterable[str] = ()) -> Any:
    """``value`` with secret-looking parts replaced, recursively through dicts and lists."""
    return _redact(value, SecretRedactor(known_secrets))


def _redact(value: Any, known: Callable[[str], str], name: str = "") -> Any:
    if name and _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        label = next((str(value[k]) for k in _NAMED_ITEM_KEYS if isinstance(value.get(k), str)), "")
        if label and _SECRET_NAME.search(label):  # {"name": "api_token", "info": "…"}
            kept = (*_NAMED_ITEM_KEYS, "type")
            return {str(k): v if k in kept else REDACTED for k, v in value.items()}
        return {_redact_text(str(k), known): _redact(v, known, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, known) for v in value]
    if isinstance(value, str):
        return _redact_text(value, known)
    return value


def _redact_text(text: str, known: Callable[[str], str]) -> str:
    text = _SECRET_VALUE.sub(REDACTED, known(text))  # the app's own secrets, as logs do
    text = _URL_PASSWORD.sub(lambda m: f"{m[1]}:{REDACTED}@", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m[1]}={REDACTED}", text)
    return _HIGH_ENTROPY.sub(REDACTED, text)


class AuditUnavailable(Exception):
    """The entry for a call that changes something could not be written: the call must
    not be made."""


class Audit:
    """Records entries in the store. A call that changes something is written before it
    is made (``begin``, which raises ``AuditUnavailable`` when it cannot be) and completed
    after (``finish``); other entries (denials, confirmations) are written with ``record``,
    whose failure is logged, never raised."""

    def __init__(self, store: Store, *, secrets: Iterable[str] = (), retention_days: int = 90):
        self.store = store
        self._known = SecretRedactor(secrets)
        self.retention_days = retention_days

    async def record(
        self,
        *,
        user_id: str,
        channel_id: str,
        command: str,
        target: str,
        outcome: str,
        params: dict[str, Any] | None = None,
        detail: str = "",
        vendor_ids: dict[str, Any] | None = None,
    ) -> None:
        with contextlib.suppress(AuditUnavailable):  # logged by begin; a denial stands
            await self.begin(
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                target=target,
                outcome=outcome,
                params=params,
                detail=detail,
                vendor_ids=vendor_ids,
            )

    async def begin(
        self,
        *,
        user_id: str,
        channel_id: str,
        command: str,
        target: str,
        outcome: str = "started",
        params: dict[str, Any] | None = None,
        detail: str = "",
        vendor_ids: dict[str, Any] | None = None,
    ) -> int:
        """Write an entry (by default "started", before the call it is for); its id."""
        try:
            entry = AuditEntry(
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                target=_redact_text(target, self._known),
                outcome=outcome,
                params=_redact(params or {}, self._known),
                detail=_redact_text(detail, self._known),
                vendor_ids=_ids(vendor_ids),
            )
            entry_id = await self.store.audit.add(entry)
        except Exception as exc:
            log.exception("could not write the audit log entry for %s by %s", command, user_id)
            raise AuditUnavailable(command) from exc
        log.info("audit: %s %s %s by %s in %s", command, entry.target, outcome, user_id, channel_id)
        return entry_id

    async def finish(
        self,
        entry_id: int,
        *,
        outcome: str,
        detail: str = "",
        vendor_ids: dict[str, Any] | None = None,
    ) -> None:
        """Complete an entry written by ``begin``; a failure is logged (the call was made,
        and its entry says "started")."""
        try:
            await self.store.audit.complete(
                entry_id,
                outcome=outcome,
                detail=_redact_text(detail, self._known),
                vendor_ids=_ids(vendor_ids),
            )
        except Exception:
            log.exception("could not complete audit log entry %s (%s)", entry_id, outcome)
            return
        log.info("audit: entry %s %s", entry_id, outcome)

    async def prune(self, now: float | None = None) -> int:
        """Drop entries older than the retention (and stale confirmations / request keys)."""
        now = time.time() if now is None else now
        removed = 0
        if self.retention_days:
            removed = await self.store.audit.prune(now - self.retention_days * 86400)
        await self.store.confirmations.prune(now - 86400)
        await self.store.handled.prune(now - 86400)
        return removed


def _ids(vendor_ids: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (vendor_ids or {}).items() if v is not None}
