"""Short forms of long texts for tables, transcripts and diffs."""
from __future__ import annotations


def excerpt(text: str, limit: int) -> str:
    """`text` on one line (runs of white space become one space), cut at `limit` characters
    with " …" when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + " …"
