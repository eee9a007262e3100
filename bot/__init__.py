"""chatops-hub: app wiring, settings, state store, job tracking and scheduling."""
