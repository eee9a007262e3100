"""``make bench``: the same signed Slack load on chatops-hub, a bare Bolt app and a raw ASGI
endpoint, plus the completion-notice, tracker, card-pacing, digest, memory and start-up figures.

Run ``python -m bench`` (the full run, a few minutes) or ``python -m bench --quick`` (a
short smoke run). Every server runs in its own process on loopback; the load generator
runs in yet another process, so it never competes with a server for an event loop.
"""
