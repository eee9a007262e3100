"""What handlers are given at start-up. Built by the wiring (bot/app.py), never imported by it."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.flint import FlintClient
from bot.background import BackgroundWork
from bot.config import Settings
from bot.store import Store
from bot.tracking import Tracker


@dataclass
class Deps:
    settings: Settings
    store: Store
    tracker: Tracker
    work: BackgroundWork
    flint: FlintClient | None = None
