"""Settings, read from the environment and a ``.env`` file, exactly as CONTRACT.md lists them."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from adapters.redact import SecretRedactor

PositiveFloat = Annotated[float, Field(gt=0)]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Every setting that is a base URL the app calls or hands out: http(s) with a host.
URL_FIELDS = (
    "slack_api_url",
    "public_url",
    "flint_url",
    "stomt_url",
    "mint_url",
    "mint_token_url",
    "stintmint_url",
    "mindstamp_url",
)
# A DNS label; underscores too, since container platforms hand out names with them.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class VendorStatus:
    """Whether a vendor has the settings it needs, and which variables to set if not."""

    name: str
    configured: bool
    missing: str  # e.g. "FLINT_URL and FLINT_USERNAME + FLINT_PASSWORD, or FLINT_KEY"
    # Some of the vendor's variables are set but not enough of them: what is missing, e.g.
    # "FLINT_PASSWORD is not set (FLINT_URL and FLINT_USERNAME are)". "" otherwise.
    partial: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)
    public_url: str | None = None
    database_url: str = "sqlite:///chatops.db"
    chatops_policy: str | None = None
    chatops_timezone: str = "UTC"
    chatops_poll_interval: PositiveFloat = 5.0
    # Not in the contract's table, but needed by a mature tracker: how long a job may run
    # before we stop polling it and say so, and the ceiling of the poll back-off.
    chatops_job_timeout: PositiveFloat = 24 * 3600.0
    chatops_poll_max_interval: PositiveFloat = 60.0
    chatops_digest_check_interval: PositiveFloat = 30.0
    # Commands in progress (after their ack) beyond which new ones are turned away.
    chatops_max_inflight: int = Field(200, ge=1)
    # The same, per user: no one user can take every slot.
    chatops_max_inflight_per_user: int = Field(20, ge=1)
    # Seconds one command may hold its slot: a synchronous run still going after this is
    # followed as a background job (the slot is freed, the result arrives on the card).
    chatops_command_seconds: PositiveFloat = 60.0
    # Hosts the app sends response_url answers to (comma-separated); the host of
    # SLACK_API_URL is always allowed too (local fakes serve both from one host).
    chatops_response_url_hosts: str = "hooks.slack.com,hooks.slack-gov.com"
    chatops_log_level: str = "INFO"
    # "text" (one readable line per event) or "json" (one JSON object per line).
    chatops_log_format: Literal["text", "json"] = "text"
    # Days the audit log keeps its entries (0 keeps them forever).
    chatops_audit_retention_days: int = Field(90, ge=0)
    # Seconds a request held for approval (a policy rule's ``approvers``) waits for enough
    # approvals before it expires unrun.
    chatops_approval_ttl: PositiveFloat = 3600.0
    # Slack's chat.update budget (Tier 3, "50+ per minute" per app and workspace) that job
    # cards share across every replica; raise it only where Slack allows more.
    chatops_card_updates_per_minute: int = Field(50, ge=1, le=100_000)

    flint_url: str | None = None
    flint_username: str | None = None
    flint_password: SecretStr | None = None
    flint_key: SecretStr | None = None

    stomt_url: str = "https://rest.stomt.com"
    stomt_appid: str | None = None
    stomt_accesstoken: SecretStr | None = None
    stomt_username: str | None = None
    stomt_password: SecretStr | None = None
    stomt_target: str | None = None

    mint_url: str = "https://api.signicat.com/mint"
    mint_token_url: str = "https://api.signicat.com/auth/open/connect/token"  # noqa: S105
    mint_client_id: str | None = None
    mint_client_secret: SecretStr | None = None

    stintmint_url: str = "https://stintmint.com/api/v1"
    stintmint_username: str | None = None
    stintmint_key: SecretStr | None = None

    mindstamp_url: str = "https://api.mindstamp.com/api/v1"
    mindstamp_token: SecretStr | None = None

    @field_validator("flint_url", "public_url", "chatops_policy", "flint_username", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("chatops_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    # Validated here, so that `serve` and `check` both stop at once with the variable's name
    # and what it expects, instead of a traceback (or a hang) somewhere later. The messages
    # never repeat a value that could hold a secret (URLs may carry a password).

    @field_validator(*URL_FIELDS, mode="before")
    @classmethod
    def _blank_url_is_default(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name or ""].default
        return value

    @field_validator(*URL_FIELDS)
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = url_problem(value.strip())
        if problem:
            raise ValueError(problem)
        return value.strip()

    @field_validator("host")
    @classmethod
    def _listen_host(cls, value: str) -> str:
        if not is_host(value.strip()):
            raise ValueError(
                f"expected an IP address (127.0.0.1, 0.0.0.0, ::) or a host name, not {value!r}"
            )
        return value.strip()

    @field_validator("chatops_log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, not {value!r}")
        return level

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        problem = database_url_problem(value.strip())
        if problem:
            raise ValueError(problem)
        return value.strip()

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token(value, "xoxb-", "SLACK_BOT_TOKEN")

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token(value, "xapp-", "SLACK_APP_TOKEN")

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None and bool(self.slack_app_token.get_secret_value())

    @property
    def response_url_hosts(self) -> frozenset[str]:
        """Hosts response_url answers may go to: the configured ones and SLACK_API_URL's."""
        hosts = {h.strip().lower() for h in self.chatops_response_url_hosts.split(",")}
        api_host = urlsplit(self.slack_api_url).hostname
        return frozenset(h for h in (*hosts, api_host) if h)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.chatops_timezone)

    def flint_status(self) -> VendorStatus:
        has_login = bool(self.flint_username and _secret(self.flint_password))
        has_key = bool(_secret(self.flint_key))
        given = {
            "FLINT_URL": bool(self.flint_url),
            "FLINT_USERNAME": bool(self.flint_username),
            "FLINT_PASSWORD": bool(_secret(self.flint_password)),
            "FLINT_KEY": has_key,
        }
        return VendorStatus(
            name="Flint",
            configured=bool(self.flint_url) and (has_login or has_key),
            missing="FLINT_URL and FLINT_USERNAME + FLINT_PASSWORD, or FLINT_KEY",
            partial=_partial(
                given, ("FLINT_URL", "FLINT_USERNAME", "FLINT_PASSWORD"), ("FLINT_URL", "FLINT_KEY")
            ),
        )

    def stomt_status(self) -> VendorStatus:
        has_login = bool(self.stomt_username and _secret(self.stomt_password))
        given = {
            "STOMT_APPID": bool(self.stomt_appid),
            "STOMT_ACCESSTOKEN": bool(_secret(self.stomt_accesstoken)),
            "STOMT_USERNAME": bool(self.stomt_username),
            "STOMT_PASSWORD": bool(_secret(self.stomt_password)),
            "STOMT_TARGET": bool(self.stomt_target),
            "STOMT_URL": self._changed("stomt_url"),
        }
        return VendorStatus(
            name="STOMT",
            configured=bool(self.stomt_appid)
            and (bool(_secret(self.stomt_accesstoken)) or has_login),
            missing="STOMT_APPID and STOMT_ACCESSTOKEN, or STOMT_USERNAME + STOMT_PASSWORD",
            partial=_partial(
                given,
                ("STOMT_APPID", "STOMT_ACCESSTOKEN"),
                ("STOMT_APPID", "STOMT_USERNAME", "STOMT_PASSWORD"),
            ),
        )

    def stintmint_status(self) -> VendorStatus:
        given = {
            "STINTMINT_USERNAME": bool(self.stintmint_username),
            "STINTMINT_KEY": bool(_secret(self.stintmint_key)),
            "STINTMINT_URL": self._changed("stintmint_url"),
        }
        return VendorStatus(
            name="Stintmint",
            configured=bool(self.stintmint_username) and bool(_secret(self.stintmint_key)),
            missing="STINTMINT_USERNAME and STINTMINT_KEY",
            partial=_partial(given, ("STINTMINT_USERNAME", "STINTMINT_KEY")),
        )

    def mint_status(self) -> VendorStatus:
        given = {
            "MINT_CLIENT_ID": bool(self.mint_client_id),
            "MINT_CLIENT_SECRET": bool(_secret(self.mint_client_secret)),
            "MINT_URL": self._changed("mint_url"),
            "MINT_TOKEN_URL": self._changed("mint_token_url"),
        }
        return VendorStatus(
            name="Signicat Mint",
            configured=bool(self.mint_client_id) and bool(_secret(self.mint_client_secret)),
            missing="MINT_CLIENT_ID and MINT_CLIENT_SECRET",
            partial=_partial(given, ("MINT_CLIENT_ID", "MINT_CLIENT_SECRET")),
        )

    def mindstamp_status(self) -> VendorStatus:
        given = {
            "MINDSTAMP_TOKEN": bool(_secret(self.mindstamp_token)),
            "MINDSTAMP_URL": self._changed("mindstamp_url"),
        }
        return VendorStatus(
            name="Mindstamp",
            configured=bool(_secret(self.mindstamp_token)),
            missing="MINDSTAMP_TOKEN",
            partial=_partial(given, ("MINDSTAMP_TOKEN",)),
        )

    def vendor_statuses(self) -> list[VendorStatus]:
        return [
            self.flint_status(),
            self.stomt_status(),
            self.stintmint_status(),
            self.mint_status(),
            self.mindstamp_status(),
        ]

    def _changed(self, field: str) -> bool:
        """Whether a setting with a default was given a different value."""
        return getattr(self, field) != type(self).model_fields[field].default

    def slack_problems(self) -> list[str]:
        """What in the Slack settings stops ``chatops serve``, in words an admin can act on."""
        problems = []
        if not _secret(self.slack_bot_token):
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if not self.socket_mode and not _secret(self.slack_signing_secret):
            problems.append(
                "SLACK_SIGNING_SECRET is not set (needed in HTTP mode; "
                "or set SLACK_APP_TOKEN to use Socket Mode)"
            )
        return problems

    def database_problem(self) -> str | None:
        """A SQLite file the app cannot create (its folder is missing or not writable), or a
        PostgreSQL URL without its driver installed."""
        if self.database_url.startswith(("postgresql:", "postgres:")):
            if importlib.util.find_spec("asyncpg") is None:
                return (
                    "DATABASE_URL is PostgreSQL, but its driver is not installed: "
                    "pip install 'chatops-hub[postgres]'"
                )
            return None
        folder = sqlite_folder(self.database_url)
        if folder is None:
            return None
        if not folder.is_dir():
            return (
                f"DATABASE_URL: the folder {folder} does not exist "
                "(create it, or point DATABASE_URL at a file in an existing folder)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            # SQLite writes its journal (WAL) files beside the database file.
            return f"DATABASE_URL: the app may not write in the folder {folder}"
        return None

    def serve_problems(self) -> list[str]:
        """What stops ``chatops serve`` from starting, in words a Slack admin can act on."""
        problems = self.slack_problems()
        database = self.database_problem()
        if database:
            problems.append(database)
        return problems


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _partial(given: dict[str, bool], *complete: tuple[str, ...]) -> str:
    """What is missing when some of a vendor's variables are set but no complete set is.

    ``complete`` lists the sets that are each enough; the one closest to complete is
    taken to be the one meant. Variables in ``given`` but in no set (a target, a URL
    with a default) only show that the vendor was meant to be configured.
    """
    if not any(given.values()) or any(all(given[v] for v in names) for names in complete):
        return ""
    meant = min(complete, key=lambda names: sum(not given[v] for v in names))
    missing = [v for v in meant if not given[v]]
    present = [v for v, ok in given.items() if ok]
    return (
        f"{_join(missing)} {'is' if len(missing) == 1 else 'are'} not set "
        f"({_join(present)} {'is' if len(present) == 1 else 'are'})"
    )


def is_host(value: str) -> bool:
    """An IP address, or a name made of DNS labels (``999.1.1.1`` is neither)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if not name or len(name) > 253 or labels[-1].isdigit():
        return False  # an all-digit last label: an IPv4 address gone wrong, not a name
    return all(_LABEL.match(label) for label in labels)


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, or None when it is one."""
    expected = "expected an http:// or https:// URL with a host, e.g. https://example.com/api"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"{expected} (the port is not a number from 0 to 65535)"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return expected
    if not is_host(parts.hostname):
        return f"{expected} (the host is not a valid host name or IP address)"
    return None


def database_url_problem(value: str) -> str | None:
    """Why ``value`` is not a SQLite or PostgreSQL URL (never repeating it: a password)."""
    expected = "expected sqlite:///path/to/chatops.db or postgresql://user:password@host/database"
    try:
        url = make_url(value)
        url.port  # noqa: B018 - parsed lazily by some versions
    except Exception:  # SQLAlchemy's parse errors quote the URL, password and all
        return expected
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            return f"{expected} (an in-memory SQLite database would lose every job at restart)"
        return None
    if backend in ("postgresql", "postgres"):
        return None
    return expected


def sqlite_folder(database_url: str) -> Path | None:
    """The folder that holds a SQLite database file, or None for another database."""
    try:
        url = make_url(database_url)
    except Exception:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().absolute().parent


# What each kind of Slack token starts with, and the variable it belongs in.
_TOKEN_KINDS = {
    "xoxb-": ("a bot token", "SLACK_BOT_TOKEN"),
    "xapp-": ("an app-level token", "SLACK_APP_TOKEN"),
    "xoxp-": ("a user token", ""),
    "xoxe": ("a token-rotation (refresh) token", ""),
}
_TOKEN_WANTED = {
    "xoxb-": "the Bot User OAuth Token (xoxb-…, under OAuth & Permissions)",
    "xapp-": (
        "an app-level token (xapp-…, under Basic Information → App-Level Tokens, "
        "with the connections:write scope)"
    ),
}


def _token(value: SecretStr | None, prefix: str, variable: str) -> SecretStr | None:
    """A Slack token of the kind ``prefix`` names; the error says what was given instead."""
    if value is None:
        return None
    token = value.get_secret_value().strip()  # a pasted token often ends in a newline
    if not token or token.startswith(prefix):
        return SecretStr(token)
    wanted = f"expected {_TOKEN_WANTED[prefix]}"
    for start, (kind, home) in _TOKEN_KINDS.items():
        if token.startswith(start):
            belongs = f", which belongs in {home}" if home and home != variable else ""
            raise ValueError(f"this is {kind} ({start}…){belongs}; {wanted}")
    raise ValueError(f"this is not a Slack token; {wanted}")


def describe_errors(exc: ValidationError) -> list[str]:
    """Each settings error as "VARIABLE: what is expected", never repeating a secret.

    Our own validators never quote a secret; pydantic's messages for the secret fields are
    searched for the value given all the same.
    """
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        if _is_secret_field(name) and isinstance(value, str):
            message = SecretRedactor([value])(message)
        line = f"{name.upper()}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


def _is_secret_field(name: str) -> bool:
    field = Settings.model_fields.get(name)
    return field is None or "SecretStr" in str(field.annotation)
