"""Rasa's private names are used in one module only, and each still exists in the installed Rasa.

After a Rasa upgrade, a failure here names the private attribute that went away and the one
module to adapt (trolyao/core/rasa_internals.py), instead of a crash inside an answer.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import rasa

from trolyao.core import rasa_internals

PROJECT = Path(__file__).resolve().parent.parent
MODULE = "trolyao/core/rasa_internals.py"


def _instance(path: str):
    """Objects whose private attribute is set per instance (the tracker-store wrappers)."""
    from rasa.core.tracker_store import (AwaitableTrackerStore, FailSafeTrackerStore,
                                         InMemoryTrackerStore)
    from rasa.shared.core.domain import Domain

    inner = InMemoryTrackerStore(Domain.empty())
    return {"rasa.core.tracker_store:FailSafeTrackerStore": lambda: FailSafeTrackerStore(inner),
            "rasa.core.tracker_store:AwaitableTrackerStore": lambda: AwaitableTrackerStore(inner),
            }.get(path)


def _resolve(path: str):
    module_name, _, qualname = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path, name", rasa_internals.PRIVATE_NAMES + rasa_internals.PATCHED_NAMES,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_rasa_still_has_each_name_we_use(path, name):
    try:
        owner = _resolve(path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"Rasa {rasa.__version__} has no {path} ({exc}); {MODULE} relies on it: "
                    "adapt that module to this Rasa version")
    factory = _instance(path)
    target = factory() if factory is not None else owner
    assert hasattr(target, name), (
        f"Rasa {rasa.__version__} has no {path.split(':')[1]}.{name}; {MODULE} relies on it: "
        "adapt that module to this Rasa version")


def test_unwrapping_the_tracker_store_reaches_the_store_that_holds_the_data():
    from rasa.core.tracker_store import (AwaitableTrackerStore, FailSafeTrackerStore,
                                         InMemoryTrackerStore)
    from rasa.shared.core.domain import Domain

    inner = InMemoryTrackerStore(Domain.empty())
    wrapped = FailSafeTrackerStore(AwaitableTrackerStore(inner))
    assert rasa_internals.innermost_store(wrapped) is inner, (
        f"Rasa {rasa.__version__} wraps tracker stores differently; adapt innermost_store in {MODULE}")


def _private_uses(text: str) -> set[str]:
    """`._name` attribute uses of names that are private in Rasa (from PRIVATE_NAMES)."""
    names = {name for _, name in rasa_internals.PRIVATE_NAMES}
    return {m for m in re.findall(r"\.(_[a-z]\w*)", text) if m in names}


def test_every_private_name_of_the_module_is_pinned():
    source = (PROJECT / MODULE).read_text(encoding="utf-8")
    code = source.split("PATCHED_NAMES = (", 1)[1]  # after the lists themselves
    used = set(re.findall(r"(?:processor|store|self|tokenizer|RemoteAction)\.(_[a-z]\w*)", code))
    used -= {"_rasa_model_load"}
    pinned = {name for _, name in rasa_internals.PRIVATE_NAMES}
    assert used <= pinned, f"{MODULE} uses {sorted(used - pinned)} without listing them in PRIVATE_NAMES"


def test_no_other_module_uses_rasa_private_names():
    offenders = []
    for folder in ("trolyao", "webhook", "actions", "bot", "knowledge"):
        for path in (PROJECT / folder).rglob("*.py"):
            if path == PROJECT / MODULE:
                continue
            found = _private_uses(path.read_text(encoding="utf-8"))
            if found:
                offenders.append(f"{path.relative_to(PROJECT)}: {', '.join(sorted(found))}")
    assert not offenders, f"Rasa private names outside {MODULE}: {offenders}"
