"""Your Home tab in the console: ``home`` opens it (the ``app_home_opened`` event Slack
sends when you click the app's Home tab), the page the app publishes is drawn like a
message, and its buttons are clicked by number, sent as Slack sends a click in a view."""

from __future__ import annotations

from typing import Any

from bot.devkit.console.screen import Button, Screen, Shown, with_block_ids
from bot.devkit.console.workspace import (
    APP_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    USER_ID,
    VERIFICATION_TOKEN,
)
from bot.devkit.slack_requests import (
    app_home_opened_event,
    event_callback_body,
    view_block_actions_payload,
)

HOME = "home"  # where the Home tab is on screen: no conversation has this id


def opened_body(user_id: str = USER_ID) -> bytes:
    """``user_id`` opens the app's Home tab, as Slack tells the app (JSON)."""
    return event_callback_body(
        app_home_opened_event(user_id), team_id=TEAM_ID, api_app_id=APP_ID, token=VERIFICATION_TOKEN
    )


def view_click_payload(
    view: dict[str, Any],
    element: dict[str, Any],
    *,
    block_id: str,
    user_id: str = USER_ID,
    user_name: str | None = None,
) -> dict[str, Any]:
    """Your click on ``element`` of ``view`` (the Home tab), in the console's workspace."""
    return view_block_actions_payload(
        view,
        element,
        block_id=block_id,
        user_id=user_id,
        user_name=user_name,
        team_id=TEAM_ID,
        team_domain=TEAM_DOMAIN,
        api_app_id=APP_ID,
        token=VERIFICATION_TOKEN,
    )


class HomeTab:
    """Your Home tab on screen: one numbered entry, its blocks replaced each time the app
    publishes it; drawn when you asked for it (``home``, or a click on it), else noted."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.view: dict[str, Any] = {}
        self.shown: Shown | None = None
        self.wanted = False

    def owns(self, shown: Shown) -> bool:
        return shown.channel == HOME

    def published(self, data: dict[str, Any]) -> None:
        view = data.get("view")
        if data.get("user") != USER_ID or not isinstance(view, dict):
            return
        self.view = view
        blocks = view.get("blocks") or []
        if self.shown is None:
            self.shown = self.screen.add(
                channel=HOME, ts=str(view.get("id")), text="(empty Home tab)", blocks=blocks
            )
        else:
            self.shown.blocks = with_block_ids(blocks)
        if self.wanted:
            self.wanted = False
            self.screen.show(self.shown, f"#{self.shown.number}  your Home tab in chatops-hub")
        else:
            self.screen.note(f"(your Home tab #{self.shown.number} was updated; `home` shows it)")

    def click_payload(self, button: Button, *, user_name: str) -> dict[str, Any]:
        self.wanted = True
        return view_click_payload(
            self.view, button.element, block_id=button.block_id, user_name=user_name
        )
