"""What runs for every message: the assistant (Rasa agent on its own event loop), its
conversation stores and locks, settings, redaction, the payload policy, in-process actions
and the speed settings. Nothing here imports the staff tools, the web app or the CLI."""
