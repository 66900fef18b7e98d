"""Aspects live with the answering stage (knowledge/answering/aspects.py); re-exported here
for the actions that name them."""
from knowledge.answering.aspects import (ASPECT_CUES, ASPECT_LABELS, ASPECT_SECTIONS,  # noqa: F401
                                         detect_aspect, section_matches)
