"""The wiring tier: what puts the core services, the handlers and the adapters together
(the app's Runtime, the HTTP server and Slack's doors, Socket Mode, the vendor clients)
and the admin commands built on it (`check`, `audit`). Nothing in the core imports it."""
