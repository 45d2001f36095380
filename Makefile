# PowerDesk. `make run` and `make test` are all a newcomer needs; `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
RASA_VENV := .venv-rasa
export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup run test test-fast lint bench nlu-eval lock train clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.stamp $(RASA_VENV)/.stamp var/.chromium var/.fonts-cjk var/models/.stamp ## create both virtual environments, Chromium and the embedder (idempotent)

$(VENV)/.stamp: requirements/app.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements/app.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(RASA_VENV)/.stamp: requirements/rasa.lock
	$(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --no-deps --ignore-requires-python -r requirements/rasa.lock
	touch $@

var/models/.stamp: $(VENV)/.stamp
	$(VENV)/bin/powerdesk kb embedder
	@touch $@

var/.chromium:
	@mkdir -p var
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@touch $@

var/.fonts-cjk:
	@mkdir -p var
	@fc-list :lang=zh | grep -q . || { echo "installing fonts-noto-cjk (Chinese text in the report PDFs)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-noto-cjk >/dev/null; }
	@touch $@

run: setup ## set up what is missing, then run Rasa, the action server and the api on the demo data
	$(VENV)/bin/powerdesk run

train: setup ## train the Rasa model if bot/ changed
	$(VENV)/bin/powerdesk train

test: setup ## everything: bot validation and conversation tests, unit, database, end-to-end and browser tests
	$(VENV)/bin/powerdesk train
	cd bot && PYTHONPATH=. ../$(RASA_VENV)/bin/rasa data validate --domain domain --data data --config config.yml
	cd bot && PYTHONPATH=. ../$(RASA_VENV)/bin/rasa test core --model models/powerdesk.tar.gz --stories tests/test_stories.yml \
	  --endpoints endpoints.yml --fail-on-prediction-errors --out ../var/rasa-test-results
	$(VENV)/bin/pytest -q -p no:cacheprovider

test-fast: setup ## unit and database tests only (no Rasa, no browser)
	$(VENV)/bin/pytest -q -m "not e2e and not browser"

lint: setup ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check core services api cli ops demo actions knowledge analytics tests benchmarks scripts
	$(VENV)/bin/ruff format --check core services api cli ops demo actions knowledge analytics tests benchmarks scripts
	$(VENV)/bin/mypy

bench: setup ## run the benchmarks, results in benchmarks/results/
	$(VENV)/bin/python benchmarks/chat.py
	$(VENV)/bin/python benchmarks/chat_replicas.py
	$(VENV)/bin/python benchmarks/knowledge.py
	$(VENV)/bin/python benchmarks/billing.py
	$(VENV)/bin/python benchmarks/anomaly.py
	$(VENV)/bin/python benchmarks/theft_real.py
	$(VENV)/bin/python benchmarks/recommend.py
	$(VENV)/bin/python benchmarks/handoff.py
	$(VENV)/bin/python benchmarks/wechat.py
	$(VENV)/bin/python benchmarks/forecast.py
	$(VENV)/bin/python benchmarks/report.py
	$(VENV)/bin/python benchmarks/faults.py
	$(VENV)/bin/python benchmarks/outage_notices.py
	$(VENV)/bin/python benchmarks/outage_storm.py
	$(VENV)/bin/python benchmarks/outage_storm.py --profile scaled
	$(VENV)/bin/python scripts/bench_tables.py

NLU_SET ?= tests/nlu_holdout3.yml
nlu-eval: train ## intent accuracy on a held-out set (NLU_SET, under bot/; never trained on)
	cd bot && PYTHONPATH=. ../$(RASA_VENV)/bin/rasa test nlu --model models/powerdesk.tar.gz --nlu $(NLU_SET) \
	  --out ../var/nlu-eval --no-plot
	@$(VENV)/bin/python -c "import json; r=json.load(open('var/nlu-eval/intent_report.json')); \
	  print('held-out intent accuracy', round(r['accuracy'], 3), 'macro F1', round(r['macro avg']['f1-score'], 3))"

lock: ## re-resolve requirements/*.in into the lock files
	rm -rf /tmp/pd-lock && $(PYTHON) -m venv /tmp/pd-lock/app && /tmp/pd-lock/app/bin/pip install -q -r requirements/app.in
	/tmp/pd-lock/app/bin/pip freeze --exclude-editable | grep -v '^pip==' > requirements/app.lock
	$(PYTHON) -m venv /tmp/pd-lock/rasa && /tmp/pd-lock/rasa/bin/pip install -q -r requirements/rasa.in -c requirements/rasa-constraints.txt
	/tmp/pd-lock/rasa/bin/pip install -q --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	/tmp/pd-lock/rasa/bin/pip freeze | grep -v '^pip==' > requirements/rasa.lock

clean: ## remove generated state (databases, models, results of test runs)
	rm -rf var bot/models bot/.rasa
