"""The development kit: the console, the Slack Web API fake and the signed-request
builder. The product never needs it to serve; the console and the tests do."""
