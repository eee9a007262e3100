"""Flint: run flintbits and read their results (client), typed answers (models), a sandbox."""

from adapters.flint.client import FLINT_DEFAULT_SYNC_MS, VENDOR, FlintAuth, FlintClient
from adapters.flint.models import (
    FlintbitRef,
    FlintMeta,
    FlintResult,
    FlintStatus,
    parse_flintbit,
    validate_job_id,
)

__all__ = [
    "FLINT_DEFAULT_SYNC_MS",
    "VENDOR",
    "FlintAuth",
    "FlintClient",
    "FlintMeta",
    "FlintResult",
    "FlintStatus",
    "FlintbitRef",
    "parse_flintbit",
    "validate_job_id",
]
