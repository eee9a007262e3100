"""``chatops preview --out DIR``: a scripted tour (the console's script format) run
against the built-in sandboxes and the Slack fake, exactly as ``chatops console`` runs
it, drawn as a static HTML gallery of every message, form and the Home page."""

from bot.devkit.preview.run import main

__all__ = ["main"]
