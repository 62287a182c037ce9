# Two commands for a fresh machine: `make run` and `make test`. Both build .venv from
# requirements.txt once; the stamp file keeps a second run from reinstalling anything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test screenshots

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# `run` starts the job worker beside Streamlit. Both run in the background of one shell whose
# trap stops both when either Ctrl-C, a SIGTERM to make, or Streamlit's own exit ends it.
run: $(STAMP)
	$(PY) -m curation init
	@# On a first start, load the sample and queue a first training so the queue shows scores
	@# within a minute; the worker started below picks it up.
	$(PY) -m curation import --if-empty sample/research_radar_sample.jsonl | tail -n 1 \
		| grep -q '"imported": 0,' || $(PY) -m curation jobs submit train --params '{"promote": true}'
	$(PY) -m curation serve-check --host $(HOST)
	$(PY) -m curation worker & worker=$$!; \
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --server.fileWatcherType none --browser.gatherUsageStats false & app=$$!; \
	trap 'kill -TERM $$app $$worker 2>/dev/null; wait' EXIT INT TERM; \
	wait $$app

test: $(STAMP)
	$(PY) -m pytest

# A PNG of every page with the sample data (needs Debian's chromium and chromium-driver).
screenshots: $(STAMP)
	$(PY) docs/screenshots.py
