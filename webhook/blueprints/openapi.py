"""GET /api/openapi.json: the HTTP API described in OpenAPI 3.1 (webhook/openapi.yaml).

The document is one YAML file so each endpoint's author adds its paths there;
tests/test_openapi.py checks real responses against it and that every route is described."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)
DOCUMENT = Path(__file__).resolve().parent.parent / "openapi.yaml"


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    with DOCUMENT.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@bp.get("/api/openapi.json")
def openapi_json():
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
