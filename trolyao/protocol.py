"""What custom actions and the assistant agree on."""

# Key of the custom JSON payload in which actions pass sources, chosen passages and the
# fallback flag to the assistant (never shown to citizens as a message).
META_KEY = "trolyao"
