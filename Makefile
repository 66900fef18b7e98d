# Two commands for a new user:  `make run`  and  `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: soak setup run serve-prod test test-fast train index validate rasa-test browser-deps bench eval clean help

help:
	@echo "make run    - set up, train if needed, index if needed, serve on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make setup | train | index | validate | serve-prod | bench | eval | clean"

# The lock pins every package; torch 2.13.0 is a local CPU wheel (no CUDA downloads).
$(STAMP): requirements/lock.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "torch==2.13.0"
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --ignore-requires-python -r requirements/lock.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

train: setup
	$(BIN)/trolyao train

index: setup
	$(BIN)/trolyao index build

run: train index
	TROLYAO_PORT=$(PORT) $(BIN)/trolyao serve --port $(PORT)

serve-prod: train index
	$(BIN)/trolyao serve --host $${TROLYAO_HOST:-0.0.0.0} --port $(PORT) --workers $${WORKERS:-2}

validate: setup
	$(BIN)/rasa data validate --domain bot/domain --data bot/data --config config.yml --fail-on-warnings

# Debian packages the tests need: headless Chromium (+ driver) for the widget, an emoji font
# for its screenshots, redis-server and postgresql for the conversation-store and lock tests
# (each test starts its own throw-away server). Installed as root.
TEST_DEBS := chromium chromium-driver fonts-noto-color-emoji redis-server postgresql
browser-deps:
	@missing=; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "warning: could not install$$missing (browser/Redis tests will fail)"; \
	  else echo "warning: install Debian packages$$missing for the browser and Redis tests"; fi; \
	fi

test: setup browser-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -rfE

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

soak: setup
	$(BIN)/python -m pytest -q -rfE -m soak

bench: train index
	$(BIN)/python bench/run.py

eval: train index
	$(BIN)/trolyao eval ../shared/eval/dev.jsonl

clean:
	rm -rf var .pytest_cache
