"""What handlers are given at start-up. Built by the wiring (bot/app.py), never imported by it."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.flint import FlintClient
from adapters.mindstamp import MindstampClient
from adapters.mint import MintClient
from adapters.stintmint import StintmintClient
from adapters.stomt import StomtClient
from bot.background import BackgroundWork
from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.digests import Digests
from bot.store import Store
from bot.tracking import Tracker


@dataclass
class Deps:
    settings: Settings
    store: Store
    tracker: Tracker
    work: BackgroundWork
    digests: Digests
    flint: FlintClient | None = None
    stomt: StomtClient | None = None
    stintmint: StintmintClient | None = None
    mint: MintClient | None = None
    mindstamp: MindstampClient | None = None
    # Set when the app starts (the secret lives in the state store).
    callbacks: CallbackSigner | None = None
