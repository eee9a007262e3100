"""Telling one person something directly, when the original conversation is out of reach
(after a modal, or where the app cannot post)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def tell(client: AsyncWebClient, user_id: str, text: str) -> None:
    try:
        await client.chat_postMessage(channel=user_id, text=text, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("could not message %s: %s", user_id, exc.response.get("error"))
