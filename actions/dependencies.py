"""What the custom actions need from the process they run in, in one place.

In the assistant's process (and under a standalone `rasa run actions`) these are the
process-wide singletons of `trolyao.core.runtime`: the settings, the catalog and the served
knowledge base (loaded on first use; a re-index swaps its version inside). They are looked up
when an action runs, not when it is imported, because tests switch settings between cases.
An action class reads them from its `deps` attribute, so a test can give it others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from knowledge.catalog import Catalog
from knowledge.search import KnowledgeBase
from trolyao.core import runtime
from trolyao.core.settings import Settings


@dataclass(frozen=True)
class Dependencies:
    settings: Callable[[], Settings] = runtime.settings
    catalog: Callable[[], Catalog] = runtime.catalog
    knowledge_base: Callable[[], KnowledgeBase] = runtime.knowledge_base


PROCESS = Dependencies()
