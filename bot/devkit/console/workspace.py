"""Who "you" are in the console's pretend workspace."""

TEAM_ID = "T0CONSOLE"
TEAM_DOMAIN = "chatops-console"
CHANNEL_ID = "C0CONSOLE"
CHANNEL_NAME = "console"
USER_ID = "U0CONSOLE"
APP_ID = "A0CONSOLE"
VERIFICATION_TOKEN = "console-verification-token"  # noqa: S105 - deprecated field, not a secret
