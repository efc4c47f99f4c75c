# Newsline: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo cluster-demo test test-fast test-integration test-e2e bench eval lint clean distclean

BYTECODE := $(VENV)/.bytecode

venv: $(STAMP) $(BYTECODE)

# The lock (requirements.lock) is the full resolved tree, Airflow's included; requirements.txt holds
# the top-level pins it was resolved from. uv installs the lock in seconds; pip would work too.
$(STAMP): requirements.txt requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Bytecode for every installed library, written once. uv installs none by default and Python writes
# none when PYTHONDONTWRITEBYTECODE is set, and then every process (each crawl, each Airflow task, CLI
# call and test worker) compiles what it imports from source: about 1.3 s of CPU per crawl.
$(BYTECODE): $(STAMP)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || echo "make: some library files did not compile (Python will compile them at import)" >&2
	touch $(BYTECODE)

## Every demo site's daily DAG through Airflow for its demo days against the local demo world.
demo: venv
	$(BIN)/newsline demo

## Every demo site's days through the distributed deployment: PostgreSQL + Redis + CeleryExecutor with
## two workers that share no disk + run folders and warehouse on a local S3 API server (newsline/cluster.py).
## Needs Debian's postgresql and redis-server packages (.ci/run installs them). DAYS=…, SITES=… narrow it.
cluster-demo: venv
	$(BIN)/python -m newsline.cluster $(if $(DAYS),--days $(DAYS)) $(if $(SITES),--sites $(SITES))

## The whole test suite, offline: every tier, in parallel (one test module per worker).
TEST_WORKERS ?= 4
test: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

## The unit tier alone (under a minute): no crawls, no servers, no Airflow.
test-fast: venv
	$(BIN)/python -m pytest -n 2 -m "not integration and not e2e and not slow"

## Integration and end-to-end tiers.
test-integration: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m "integration and not e2e"
test-e2e: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m e2e

bench: venv
	$(BIN)/python -m bench

## Score the generic extractor against trafilatura on ../shared/datasets/readability-test-pages (NEWSLINE_EVAL_PAGES).
eval: venv
	$(BIN)/python -m bench.eval

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff check --preview --select AIR3 dags/

clean:
	rm -rf data .airflow .pytest_cache

distclean: clean
	rm -rf $(VENV)
