"""``/flint`` text → a request, validated before anything talks to Flint."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from adapters.base import shorten
from adapters.flint import FlintbitRef, parse_flintbit, validate_job_id
from handlers.common.commands import Help
from handlers.common.held import holdable
from handlers.common.replies import closest, trailing_json
from handlers.common.text import UsageError, normalize, split_args

MAX_TIMEOUT_MS = 3_600_000
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")


@holdable
@dataclass(frozen=True)
class RunRequest:
    flintbit: FlintbitRef
    input: dict[str, Any] = field(default_factory=dict)
    sync: bool = False
    timeout_ms: int | None = None


@holdable
@dataclass(frozen=True)
class ResultRequest:
    job_id: str


FlintRequest = RunRequest | ResultRequest | Help


def policy_view(request: RunRequest | ResultRequest) -> tuple[str, str | None]:
    """The request as the access policy sees it: (subcommand, target)."""
    if isinstance(request, RunRequest):
        return "run", str(request.flintbit)
    return "result", request.job_id


def parse(text: str | None) -> FlintRequest:
    """Raises UsageError with a sentence saying what is wrong."""
    text = normalize(text)
    body, json_input = trailing_json(text)
    args = split_args(body)
    if not args or args[0].lower() in ("help", "-h", "--help"):
        if json_input is not None:
            raise UsageError("A JSON object only goes after `run BOX:BIT`.")
        return Help()
    sub, rest = args[0].lower(), args[1:]
    if sub == "run":
        return _parse_run(rest, json_input)
    if json_input is not None:
        raise UsageError("A JSON object only goes after `run BOX:BIT`.")
    if sub == "result":
        if len(rest) != 1:
            raise UsageError("`/flint result` takes exactly one job id (it is on the run's card).")
        try:
            return ResultRequest(validate_job_id(rest[0]))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    raise UsageError(f"Unknown subcommand `{shorten(args[0])}`.")


def _parse_run(args: list[str], json_input: dict[str, Any] | None) -> RunRequest:
    if not args:
        raise UsageError("Say which flintbit to run, as BOX:BIT (e.g. `demo:hello.rb`).")
    flintbit = flintbit_ref(args[0])
    sync = False
    timeout_ms: int | None = None
    values: dict[str, Any] = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--sync":
            sync = True
        elif arg == "--timeout" or arg.startswith("--timeout="):
            raw = arg.partition("=")[2] if "=" in arg else next(rest, None)
            timeout_ms = _timeout(raw)
            sync = True
        elif arg.startswith("--") or (arg.startswith("-") and "=" not in arg):
            meant = closest(arg.lstrip("-").lower(), ["sync", "timeout"])
            hint = f" Did you mean `--{meant}`?" if meant else ""
            raise UsageError(
                f"Unknown option `{shorten(arg)}`; the options are --sync and --timeout MS.{hint}"
            )
        else:
            key, value = input_pair(arg)
            values[key] = value
    if json_input is not None:
        values = {**json_input, **values}
    return RunRequest(flintbit, values, sync, timeout_ms)


def flintbit_ref(text: str) -> FlintbitRef:
    """``BOX:BIT`` as the command reads it (a Workflow Builder step's Flintbit too)."""
    try:
        return parse_flintbit(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def input_pair(arg: str) -> tuple[str, str]:
    """One ``key=value`` input, split at its first ``=``, as the command reads it (a step's
    Inputs line too)."""
    if "=" not in arg and arg.startswith("["):
        raise UsageError(
            f"`{shorten(arg)}` is a JSON array: inputs are key=value pairs or one JSON "
            'object at the end, like `{"items": [1, 2]}`.'
        )
    if "=" not in arg:
        raise UsageError(
            f"Did not understand `{shorten(arg)}`: inputs are key=value pairs "
            "or one JSON object at the end."
        )
    key, _, value = arg.partition("=")
    if not key:
        raise UsageError(f"`{shorten(arg)}` has no name before `=`: write name=value.")
    if not INPUT_NAME.fullmatch(key):
        raise UsageError(f"`{shorten(key)}` is not a valid input name (letters, digits, `_ . -`).")
    return key, value


def _timeout(raw: str | None) -> int:
    if raw is None or not raw.isdigit() or not raw.isascii():
        raise UsageError(
            "`--timeout` needs a whole number of milliseconds, e.g. `--timeout 60000`."
        )
    value = int(raw)
    if not 0 < value <= MAX_TIMEOUT_MS:
        raise UsageError(f"`--timeout` must be between 1 and {MAX_TIMEOUT_MS:,} milliseconds.")
    return value
