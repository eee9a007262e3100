"""Slack listeners, one package per vendor; ``register_listeners`` wires them all."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from starlette.routing import BaseRoute

from handlers import flint, mindstamp, mint, stintmint, stomt
from handlers.common import errors
from handlers.deps import Deps

COMMANDS = (
    flint.COMMAND,
    stomt.COMMAND,
    mint.COMMAND,
    stintmint.COMMAND,
    mindstamp.COMMAND,
)
# Message shortcuts' callback ids (manifest.yml declares the same).
SHORTCUTS = (stomt.SHORTCUT,)


def register_listeners(app: AsyncApp, deps: Deps) -> list[BaseRoute]:
    """Register every vendor's listeners; returns the HTTP routes vendors call us on."""
    errors.register(app)
    flint.register(app, deps)
    stomt.register(app, deps)
    mint.register(app, deps)
    mindstamp.register(app, deps)
    return [*stintmint.register(app, deps)]
