"""Settings, read from the environment and a ``.env`` file, exactly as CONTRACT.md lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PositiveFloat = Annotated[float, Field(gt=0)]


@dataclass(frozen=True)
class VendorStatus:
    """Whether a vendor has the settings it needs, and which variables to set if not."""

    name: str
    configured: bool
    missing: str  # e.g. "FLINT_URL and FLINT_USERNAME + FLINT_PASSWORD, or FLINT_KEY"


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
    chatops_log_level: str = "INFO"
    # "text" (one readable line per event) or "json" (one JSON object per line).
    chatops_log_format: Literal["text", "json"] = "text"
    # Days the audit log keeps its entries (0 keeps them forever).
    chatops_audit_retention_days: int = Field(90, ge=0)

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

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None and bool(self.slack_app_token.get_secret_value())

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.chatops_timezone)

    def flint_status(self) -> VendorStatus:
        has_login = bool(self.flint_username and _secret(self.flint_password))
        has_key = bool(_secret(self.flint_key))
        return VendorStatus(
            name="Flint",
            configured=bool(self.flint_url) and (has_login or has_key),
            missing="FLINT_URL and FLINT_USERNAME + FLINT_PASSWORD, or FLINT_KEY",
        )

    def stomt_status(self) -> VendorStatus:
        has_login = bool(self.stomt_username and _secret(self.stomt_password))
        return VendorStatus(
            name="STOMT",
            configured=bool(self.stomt_appid)
            and (bool(_secret(self.stomt_accesstoken)) or has_login),
            missing="STOMT_APPID and STOMT_ACCESSTOKEN, or STOMT_USERNAME + STOMT_PASSWORD",
        )

    def stintmint_status(self) -> VendorStatus:
        return VendorStatus(
            name="Stintmint",
            configured=bool(self.stintmint_username) and bool(_secret(self.stintmint_key)),
            missing="STINTMINT_USERNAME and STINTMINT_KEY",
        )

    def mint_status(self) -> VendorStatus:
        return VendorStatus(
            name="Signicat Mint",
            configured=bool(self.mint_client_id) and bool(_secret(self.mint_client_secret)),
            missing="MINT_CLIENT_ID and MINT_CLIENT_SECRET",
        )

    def mindstamp_status(self) -> VendorStatus:
        return VendorStatus(
            name="Mindstamp",
            configured=bool(_secret(self.mindstamp_token)),
            missing="MINDSTAMP_TOKEN",
        )

    def serve_problems(self) -> list[str]:
        """What stops ``chatops serve`` from starting, in words a Slack admin can act on."""
        problems = []
        if not _secret(self.slack_bot_token):
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if not self.socket_mode and not _secret(self.slack_signing_secret):
            problems.append(
                "SLACK_SIGNING_SECRET is not set (needed in HTTP mode; "
                "or set SLACK_APP_TOKEN to use Socket Mode)"
            )
        return problems


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
