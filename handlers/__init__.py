"""Slack listeners, one package per vendor; ``register_listeners`` wires them all."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import flint
from handlers.common import errors
from handlers.deps import Deps

COMMANDS = (flint.COMMAND,)


def register_listeners(app: AsyncApp, deps: Deps) -> None:
    errors.register(app)
    flint.register(app, deps)
