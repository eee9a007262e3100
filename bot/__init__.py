"""chatops-hub's own side, in three tiers:

* the core services, here: settings (config), the state store (store/), job tracking,
  digests, the access policy, the audit log, background work, logs and metrics — none of
  them imports the handlers, the wiring or the development kit;
* ``bot.wiring``: what puts the core, the handlers and the adapters together (the app's
  Runtime, the server and Slack's doors, Socket Mode, the vendor clients, the admin
  commands);
* ``bot.devkit``: the console, the Slack Web API fake and the signed-request builder.
"""
