"""Slack listeners: one vertical per vendor (a package each), listed once in ``VERTICALS``;
``register_listeners`` turns them into Bolt listeners (handlers/common/listeners.py)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from starlette.routing import BaseRoute

from handlers.common.listeners import wire
from handlers.common.vertical import Vertical
from handlers.deps import Deps
from handlers.flint import VERTICAL as FLINT
from handlers.mindstamp import VERTICAL as MINDSTAMP
from handlers.mint import VERTICAL as MINT
from handlers.stintmint import VERTICAL as STINTMINT
from handlers.stomt import VERTICAL as STOMT

# A sixth vendor is one more package and one more line here.
VERTICALS: tuple[Vertical, ...] = (FLINT, STOMT, MINT, STINTMINT, MINDSTAMP)

COMMANDS = tuple(vertical.slash for vertical in VERTICALS)
# Shortcuts' callback ids (manifest.yml declares the same).
SHORTCUTS = tuple(shortcut.callback_id for v in VERTICALS for shortcut in v.shortcuts)


def policy_commands() -> list[str]:
    """Every "<command> <subcommand>" an access policy rule can name."""
    return [name for vertical in VERTICALS for name in vertical.policy_names()]


def register_listeners(app: AsyncApp, deps: Deps) -> list[BaseRoute]:
    """Register every vertical's listeners; returns the HTTP routes vendors call us on."""
    return wire(app, deps, VERTICALS)
