"""Slack listeners, one package per vendor; ``register_listeners`` wires them all."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from starlette.routing import BaseRoute

from handlers import flint, mindstamp, mint, stintmint, stomt
from handlers.common import confirm, errors
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


def policy_commands() -> list[str]:
    """Every "<command> <subcommand>" an access policy rule can name (from the usages)."""
    from handlers.common.policy import subcommands_in
    from handlers.flint.parsing import USAGE as FLINT
    from handlers.mindstamp.parsing import USAGE as MINDSTAMP
    from handlers.mint.parsing import USAGE as MINT
    from handlers.stintmint.parsing import USAGE as STINT
    from handlers.stomt.parsing import USAGE as STOMT

    usages = {
        flint.COMMAND: FLINT,
        stomt.COMMAND: STOMT,
        mint.COMMAND: MINT,
        stintmint.COMMAND: STINT,
        mindstamp.COMMAND: MINDSTAMP,
    }
    return [
        f"{slash.lstrip('/')} {sub}"
        for slash, usage in usages.items()
        for sub in subcommands_in(usage)
    ]


def register_listeners(app: AsyncApp, deps: Deps) -> list[BaseRoute]:
    """Register every vendor's listeners; returns the HTTP routes vendors call us on."""
    errors.register(app)
    flint.register(app, deps)
    stomt.register(app, deps)
    mint.register(app, deps)
    mindstamp.register(app, deps)
    # A request held by the access policy runs, once confirmed, as the command it was.
    confirm.register(
        app,
        deps,
        {
            flint.COMMAND: flint.commands.flint_command,
            stomt.COMMAND: stomt.commands.stomt_command,
            mint.COMMAND: mint.commands.mint_command,
            stintmint.COMMAND: stintmint.commands.stint_command,
            mindstamp.COMMAND: mindstamp.commands.mindstamp_command,
        },
    )
    return [*stintmint.register(app, deps)]
