"""Process environment set before Rasa, TensorFlow, transformers or SQLAlchemy load (they read
these variables when imported). Imports nothing heavy, so entry points call it first."""
from __future__ import annotations

import os


def quiet_environment() -> None:
    """Offline and quiet: no telemetry, no hub downloads, sensible threads for small CPUs."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
