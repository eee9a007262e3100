"""What handlers are given at start-up. Built by the wiring (bot/wiring/app.py), never
imported by it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters.flint import FlintClient
from adapters.mindstamp import MindstampClient
from adapters.mint import MintClient
from adapters.stintmint import StintmintClient
from adapters.stomt import StomtClient
from bot.audit import Audit
from bot.background import BackgroundWork
from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.digests import Digests
from bot.policy import Policy, UsergroupMembers
from bot.store import Store
from bot.tracking import Tracker


@dataclass(frozen=True)
class Periodic:
    """Work a feature needs done every ``seconds`` in each process (e.g. expiring what
    waited too long); the wiring hands each to the scheduler under ``name``."""

    name: str
    seconds: float
    run: Callable[[], Awaitable[object]]


@dataclass
class Deps:
    settings: Settings
    store: Store
    tracker: Tracker
    work: BackgroundWork
    digests: Digests
    # Built by the wiring, which knows the secrets it must keep out of the log.
    audit: Audit
    flint: FlintClient | None = None
    stomt: StomtClient | None = None
    stintmint: StintmintClient | None = None
    mint: MintClient | None = None
    mindstamp: MindstampClient | None = None
    # Set when the app starts (the secret lives in the state store).
    callbacks: CallbackSigner | None = None
    # Who may run what (CHATOPS_POLICY); without a file, everyone may run everything.
    policy: Policy = field(default_factory=Policy.allow_all)
    members: UsergroupMembers = field(default_factory=lambda: UsergroupMembers(_no_members))
    # Takes the app's own secrets out of a string bound for Slack (bot/wiring/outbound.py).
    redact: Callable[[str], str] = str
    # Display names by policy command prefix ("stint" → "Stintmint"), from the verticals.
    vendor_names: dict[str, str] = field(default_factory=dict)
    # The policy names of the subcommands the verticals declare as changing something:
    # only those may write to the audit log (handlers/common/audited.py).
    changing: frozenset[str] = frozenset()
    # Registered by the listeners' wiring; run by the scheduler once the app starts.
    periodic: list[Periodic] = field(default_factory=list)

    def vendor_name(self, command: str) -> str:
        """Who a policy command name ("mint execute") is sent to, for messages."""
        return self.vendor_names.get(command.split(" ")[0], "the vendor")


async def _no_members(_group: str) -> list[str]:
    return []
