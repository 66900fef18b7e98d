"""Train the Rasa model only when its inputs changed (fingerprint of config, domain, data, code)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from trolyao.core.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)


def training_inputs(settings: Settings) -> list[Path]:
    bot = settings.bot_dir
    files = [settings.rasa_config_path, settings.catalog_path, PROJECT_ROOT / "knowledge" / "answering" / "aspects.py"]
    files += sorted(p for p in (bot / "domain").rglob("*.yml"))
    files += sorted(p for p in (bot / "data").rglob("*.yml"))
    files += sorted(p for p in (bot / "components").rglob("*.py"))
    return files


def fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(settings):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train_if_needed(settings: Settings, force: bool = False) -> tuple[Path, bool]:
    model = settings.rasa_model_path
    stamp = model.with_suffix(".fingerprint")
    current = fingerprint(settings)
    if not force and model.exists() and stamp.exists() and stamp.read_text().strip() == current:
        return model, False
    from rasa.model_training import train

    settings.models_dir.mkdir(parents=True, exist_ok=True)
    result = train(domain=str(settings.bot_dir / "domain"), config=str(settings.rasa_config_path),
                   training_files=[str(settings.bot_dir / "data")], output=str(settings.models_dir),
                   fixed_model_name="trolyao", force_training=True)
    if result.code != 0 or not model.exists():
        raise SystemExit(f"rasa training failed (code {result.code})")
    stamp.write_text(current + "\n")
    return model, True
