"""STOMT: post wishes and likes, list, read and delete stomts (client), typed answers, a sandbox."""

from adapters.stomt.client import (
    PING_TARGET,
    VENDOR,
    StomtAuth,
    StomtClient,
    check_text,
    unix_seconds,
)
from adapters.stomt.models import (
    MAX_TEXT,
    Category,
    Comment,
    File,
    Polarity,
    Session,
    Stomt,
    StomtKind,
    Target,
    TargetStats,
    sentence,
    validate_stomt_id,
    validate_target_id,
)

__all__ = [
    "MAX_TEXT",
    "PING_TARGET",
    "VENDOR",
    "Category",
    "Comment",
    "File",
    "Polarity",
    "Session",
    "Stomt",
    "StomtAuth",
    "StomtClient",
    "StomtKind",
    "Target",
    "TargetStats",
    "check_text",
    "sentence",
    "unix_seconds",
    "validate_stomt_id",
    "validate_target_id",
]
