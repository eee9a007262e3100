"""``chatops console``: type slash commands and click buttons in a terminal, no Slack needed.

Everything runs in one asyncio event loop, each part a real uvicorn server on a free
loopback port: the vendor sandboxes, a Slack Web API fake and the real app (HTTP mode,
lifespan on). What the person types becomes a correctly signed Slack request to the app's
``POST /slack/events``; everything the app sends to "Slack" arrives at the fake and is
drawn here as it arrives. State lives in a temporary SQLite file, removed at exit.
"""

from bot.devkit.console.run import main

__all__ = ["main"]
