"""What custom actions, the assistant and the staff tools agree on: where an answer's
sources travel in the bot's messages, and which service an answer cites."""

# Key of the custom JSON payload in which actions pass sources, chosen passages and the
# fallback flag to the assistant (never shown to citizens as a message).
META_KEY = "trolyao"


def cited_service(sources) -> str | None:
    """The service of an answer's first source (the document the reply quotes): what the
    answer was about. None when it cites nothing (declined, small talk)."""
    for source in list(sources or [])[:1]:
        if isinstance(source, dict) and source.get("service"):
            return source["service"]
    return None
