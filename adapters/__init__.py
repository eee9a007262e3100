"""Vendor clients: HTTP, typed models and a faithful sandbox per vendor. Nothing of Slack here."""
