# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
JOBS ?= 2
RUN_DIR ?= runs/char-lm

.PHONY: install run test bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,corpora]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m pipelines char-lm --output $(RUN_DIR)

test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --durations=15 -q

bench: $(STAMP)
	$(PY) benchmarks/rnn_speed.py --output benchmarks/results/rnn_speed.json
	$(PY) benchmarks/word2vec_initializer.py
	$(PY) benchmarks/input_pipeline.py --output benchmarks/results/input_pipeline.json

clean:
	rm -rf $(VENV) runs .pytest_cache
