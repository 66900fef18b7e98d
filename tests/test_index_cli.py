"""The maintainers' CLI: `trolyao index add|remove|build|status`, as a real subprocess."""
from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT
from knowledge.embedding import DEFAULT_MODEL

TROLYAO = str(Path(sys.executable).with_name("trolyao"))


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([TROLYAO, *args], env=env, capture_output=True, text=True, timeout=600,
                          cwd=PROJECT_ROOT)


@pytest.fixture()
def maintainer_env(tmp_path):
    docs = tmp_path / "docs"
    (docs / "procedure").mkdir(parents=True)
    for name in ("can-cuoc.md", "tam-tru.md"):
        source = PROJECT_ROOT / "knowledge" / "documents" / "procedure" / name
        shutil.copy(source, docs / "procedure" / name)
    env = {**os.environ, "TROLYAO_HOME": str(tmp_path / "home"), "TROLYAO_DOCS_DIR": str(docs)}
    return env, docs


def test_status_of_the_shipped_knowledge_base_covers_every_catalog_id(knowledge_index, settings):
    env = {**os.environ, "TROLYAO_HOME": str(settings.home)}
    result = run(["index", "status", "--json"], env)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["services_without_documents"] == []
    assert status["model"] == DEFAULT_MODEL  # the bundled E5 unless configured otherwise
    assert status["documents"] >= 43 and status["passages"] > status["documents"]
    assert status["version"] == knowledge_index.version or status["version"]


def test_add_build_remove_cycle(maintainer_env, tmp_path):
    env, docs = maintainer_env
    result = run(["index", "build"], env)
    assert result.returncode == 0, result.stderr
    assert "2 documents" in result.stdout

    guide = tmp_path / "huong-dan-luu-tru.html"
    guide.write_text("<html><body><article><h1>Thông báo lưu trú cho khách thuê phòng</h1>"
                     "<p>Chủ nhà trọ thông báo lưu trú cho khách qua ứng dụng VNeID trước 23 giờ."
                     "</p></article></body></html>", encoding="utf-8")
    broken = tmp_path / "hong.pdf"
    broken.write_bytes(b"%PDF-1.4 broken")
    result = run(["index", "add", str(guide), str(broken)], env)
    assert result.returncode == 1, "a batch with an unreadable file exits non-zero"
    assert "hong.pdf" in result.stderr and "PDF" in result.stderr
    assert "added:" in result.stdout and "added 1" in result.stdout
    imported = docs / "imported" / "huong-dan-luu-tru.md"
    assert imported.exists() and "service: luu-tru" in imported.read_text(encoding="utf-8")

    status = json.loads(run(["index", "status", "--json"], env).stdout)
    assert status["documents"] == 3
    assert status["per_service"]["luu-tru"]["documents"] == 1
    assert "luu-tru" not in status["services_without_documents"]

    result = run(["index", "remove", "imported/huong-dan-luu-tru"], env)
    assert result.returncode == 0, result.stderr
    assert not imported.exists()
    status = json.loads(run(["index", "status", "--json"], env).stdout)
    assert status["documents"] == 2 and "luu-tru" in status["services_without_documents"]


def test_add_with_a_wrong_service_id_is_refused(maintainer_env, tmp_path):
    env, _ = maintainer_env
    note = tmp_path / "note.txt"
    note.write_text("Hướng dẫn chung về thủ tục.", encoding="utf-8")
    result = run(["index", "add", str(note), "--service", "khong-ton-tai"], env)
    assert result.returncode == 2
    assert "not a catalog id" in result.stderr


def test_status_without_an_index_explains_what_to_do(tmp_path):
    env = {**os.environ, "TROLYAO_HOME": str(tmp_path)}
    result = run(["index", "status"], env)
    assert result.returncode == 1
    assert "trolyao index build" in result.stdout


def test_status_lists_documents_due_for_review(maintainer_env):
    env, docs = maintainer_env
    old = docs / "procedure" / "tam-tru.md"
    text = old.read_text(encoding="utf-8")
    old.write_text(re.sub(r"(?m)^reviewed: .*$", "reviewed: 2020-01-15", text), encoding="utf-8")
    assert run(["index", "build"], env).returncode == 0
    result = run(["index", "status"], env)
    assert result.returncode == 0, result.stderr
    stale = [line for line in result.stdout.splitlines() if line.startswith("  procedure/")]
    assert len(stale) == 1 and "procedure/tam-tru" in stale[0] and "2020-01-15" in stale[0], result.stdout
    assert "reviewed more than 180 days ago" in result.stdout
    status = json.loads(run(["index", "status", "--json"], {**env, "TROLYAO_REVIEW_MAX_AGE_DAYS": "36500"}).stdout)
    assert status["review"] == {"max_age_days": 36500, "stale": []}
