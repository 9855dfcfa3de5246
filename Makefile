# Weixi — everything a fresh machine needs is installed from here.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench postgres chromium install demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# test data only: the IBM Telco churn table (evalml/demos/data/churn.csv, BSD-3); its own dependencies conflict with ours
	$(BIN)/pip install -q --no-deps evalml==0.84.0
	touch $(STAMP)

install: $(STAMP)

# The Debian PostgreSQL server, for the ledger suite's PostgreSQL run (root on Debian).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	  else echo "PostgreSQL server not installed and cannot apt-get it here; PostgreSQL tests will be skipped"; fi; \
	fi

# Debian's chromium for the browser tests (tests/browser, Playwright drives /usr/bin/chromium; never
# `playwright install`), with a CJK font so that screenshots show the Chinese pages (root on Debian).
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; \
	  else echo "chromium not installed and cannot apt-get it here; browser tests will be skipped (they fail under CI)"; fi; \
	fi

# Demo: a fresh embedded database, the example plan, posted example events and a simulation.
run: $(STAMP)
	rm -f var/demo.db var/demo.db-wal var/demo.db-shm
	mkdir -p var
	WEIXI_DB=var/demo.db $(BIN)/weixi init
	WEIXI_DB=var/demo.db $(BIN)/weixi plan apply plans/examples/telecom-points.yaml
	cp examples/telecom-events.csv var/telecom-events.csv
	WEIXI_DB=var/demo.db $(BIN)/weixi events post var/telecom-events.csv
	WEIXI_DB=var/demo.db $(BIN)/weixi verify
	$(BIN)/weixi simulate --plan plans/examples/telecom-points.yaml --events examples/telecom-events.csv --as-of 2026-12-31
	@echo "== demo operator: 20,000 members x 12 months closed one by one, churn, targets, tasks, incentives, campaigns =="
	$(BIN)/weixi demo --out var/operator --db var/operator.db --members 20000 --months 12
	WEIXI_DB=var/operator.db WEIXI_DATA=var/operator $(BIN)/weixi member show M0000000002
	@echo "== demo logins (one per role) and the API + console on http://127.0.0.1:$(PORT)/ =="
	WEIXI_DB=var/operator.db $(BIN)/weixi users demo --member-id M0000000002
	@echo "open http://127.0.0.1:$(PORT)/ (API docs: http://127.0.0.1:$(PORT)/docs); log in as admin, analyst, manager, agent, clerk or member, password weixi-demo; Ctrl-C stops"
	WEIXI_DB=var/operator.db WEIXI_DATA=var/operator $(BIN)/weixi serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP) postgres chromium
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports  # the layer contracts in pyproject.toml [tool.importlinter] (docs/architecture.md)
# bytecode cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): otherwise each worker
# compiles every module and pytest rewrites every test's asserts again (collection 26 s -> 13 s a worker)
	PYTHONDONTWRITEBYTECODE= WEIXI_REQUIRE_PG=$${CI:+1} scripts/with-postgres.sh $(BIN)/python -m pytest -q -n 2 --dist loadgroup --shuffle

# bytecode cached as an installed package has it: a command that compiles its modules at every start measures the
# compiler (about 0.45 s of each `weixi close`)
bench: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var build *.egg-info
