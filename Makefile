# The front door: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13, the Lambda runtime's version: a pyenv-installed one if there is one
# (pyenv's shims need PYENV_VERSION to run it), else python3.13 from PATH.
PYTHON ?= $(or $(lastword $(sort $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13))),$(shell command -v python3.13))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCAN_VENV := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed

# The dev venv's bin first: `sam build` looks for uv and python3.13 on PATH. uv's project
# commands (the functions' lock and export) take no venv's interpreter, only a system one:
# the one the venv was made from, never one uv would download.
export PATH := $(CURDIR)/$(BIN):$(if $(PYTHON),$(dir $(PYTHON)):)$(PATH)
export UV_PYTHON_DOWNLOADS := never
# Builds install what the functions' uv.lock pins; a lock behind its pyproject.toml
# fails the build (run `make lock`) instead of being re-resolved on the way.
export UV_LOCKED := 1
# No usage reports. No region either: nothing offline needs one, and `make deploy` and
# `make logs` take the one of your AWS configuration, as the SAM CLI does.
export SAM_CLI_TELEMETRY := 0

HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
BUILD_DIR := .aws-sam/build
HOST_BUILD_DIR := .aws-sam/build-host
# What the Lambda runtime puts on the path after the function's code (boto3 and its
# dependencies), for everything that runs a built package here.
LAMBDA_RUNTIME_DIR := .aws-sam/lambda-runtime/python3.13
LAMBDA_RUNTIME_STAMP := $(LAMBDA_RUNTIME_DIR)/.installed
FUNCTION_DIRS := inference_fn log_processor_fn canary_fn
# The functions' locked dependencies as requirements files (pip, the dev venv, scanners).
FUNCTION_REQUIREMENTS := requirements-inference.txt requirements-log-processor.txt requirements-canary.txt

# Where `make run` keeps its logs, metrics, traces and key (`make report`, `make trace` and
# `make openapi` too).
STATE_DIR ?= .local

.PHONY: help env venv lint format typecheck validate scan audit build build-host pytest test fuzz bench run openapi drill report trace deploy logs train clean pre-traffic

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# Each venv installs a list that pins every package, transitive ones included (compiled by
# `make lock`), and nothing else: --no-deps keeps pip from adding whatever is latest today,
# and pip check fails the install if the list misses a dependency. The venv's own pip does
# it; upgrading pip would install whatever pip is latest that day.
$(STAMP): requirements-dev.txt $(FUNCTION_REQUIREMENTS) Makefile
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it, or run make PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-dev.txt
	$(BIN)/python -m pip check >&2
	@# tools/ run the function's own metadata reader and binning: its package is on the venv's path.
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "inference-fn.pth").write_text("$(CURDIR)/inference_fn\n")'
	touch $@

venv: $(STAMP) ## Create .venv with Python 3.13 and the pinned dev tools

# Exactly what make exports, so that `sam` run by hand (build, deploy, logs, local) finds
# uv and Python 3.13 and installs the locks as make's builds do.
env: $(STAMP) ## Print the environment make gives the SAM CLI: eval "$(make -s env)", then run sam
	@echo 'export PATH="$(PATH)" UV_PYTHON_DOWNLOADS=$(UV_PYTHON_DOWNLOADS) UV_LOCKED=$(UV_LOCKED) SAM_CLI_TELEMETRY=$(SAM_CLI_TELEMETRY)'

.PHONY: lock lambda-runtime

# Locks keep their pins where the declarations allow; UPGRADE=1 moves every package to its
# latest release. The tools' lists are compiled for any platform (macOS and Linux developers
# get the same pins) and after the functions' files, which the dev list includes.
LOCK_UPGRADE := $(if $(filter 1,$(UPGRADE)),--upgrade)

lock: $(STAMP) ## Re-resolve pyproject.toml and requirements-*.in into the locks (UPGRADE=1: latest releases)
	for dir in $(FUNCTION_DIRS); do env -u UV_LOCKED $(BIN)/uv lock $(LOCK_UPGRADE) --project $$dir || exit 1; done
	$(BIN)/uv export --project inference_fn --no-emit-project --no-hashes --quiet \
		--output-file requirements-inference.txt
	$(BIN)/uv export --project log_processor_fn --no-emit-project --no-hashes --quiet \
		--output-file requirements-log-processor.txt
	$(BIN)/uv export --project canary_fn --no-emit-project --no-hashes --quiet \
		--output-file requirements-canary.txt
	for list in requirements-dev requirements-scan; do \
		$(BIN)/uv pip compile --quiet --universal --python-version 3.13 $(LOCK_UPGRADE) \
			--custom-compile-command "make lock" $$list.in --output-file $$list.txt || exit 1; \
	done

$(LAMBDA_RUNTIME_STAMP): requirements-lambda-runtime.txt | $(STAMP)
	rm -rf $(LAMBDA_RUNTIME_DIR)
	$(BIN)/uv pip install --quiet --no-deps --python $(BIN)/python --target $(LAMBDA_RUNTIME_DIR) \
		-r requirements-lambda-runtime.txt
	touch $@

lambda-runtime: $(LAMBDA_RUNTIME_STAMP) ## Install what the Lambda runtime provides into .aws-sam/lambda-runtime

lint: $(STAMP) ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## ruff: fix what can be fixed, format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy, strict
	$(BIN)/mypy

validate: $(STAMP) ## sam validate --lint (cfn-lint) on template.yaml
	$(BIN)/sam validate --lint

$(SCAN_STAMP): requirements-scan.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found"; exit 1; }
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --no-deps -r requirements-scan.txt
	$(SCAN_VENV)/bin/python -m pip check
	touch $@

scan: $(SCAN_STAMP) ## checkov on template.yaml: zero failed checks (skips are in the template's Metadata)
	$(SCAN_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

# The function code bandit reads, and the built folders pip-audit reads (what is deployed).
FUNCTION_PACKAGES := inference_fn/inference log_processor_fn/log_processor canary_fn/canary
DEPLOYED := $(BUILD_DIR)/InferenceFunction $(BUILD_DIR)/LogProcessorFunction $(BUILD_DIR)/CanaryFunction
AUDIT_STRICT ?= 0

# Not part of `make test`: its verdict is what the advisory feeds say today, so the same
# commit can pass one day and fail the next. Run it before a release and on a schedule.
audit: $(SCAN_STAMP) build ## bandit on the function code; pip-audit on the deployed packages (AUDIT_STRICT=1: fail on packages not audited)
	$(SCAN_VENV)/bin/bandit --quiet --recursive --severity-level medium $(FUNCTION_PACKAGES)
	@echo "bandit: no medium or high findings in $(FUNCTION_PACKAGES)"
	$(SCAN_VENV)/bin/python tools/audit_packages.py $(DEPLOYED)$(if $(filter 1,$(AUDIT_STRICT)), --strict)

build: $(STAMP) ## sam build for Lambda (arm64 unless Architecture is overridden) into .aws-sam/build
	$(BIN)/sam build --build-dir $(BUILD_DIR)

build-host: $(STAMP) $(LAMBDA_RUNTIME_STAMP) ## sam build for this machine's architecture into .aws-sam/build-host
	$(BIN)/sam build --build-dir $(HOST_BUILD_DIR) --cache-dir .aws-sam/cache-host \
		--parameter-overrides Architecture=$(HOST_ARCH)

pytest: $(STAMP) $(LAMBDA_RUNTIME_STAMP) ## The pytest suite alone (builds must exist for tests/package)
	REQUIRE_BUILDS=1 $(BIN)/pytest

test: lint typecheck validate scan build build-host pytest ## Everything CI runs: lint, types, template, scan, builds, tests (no network once installed)

FUZZ_EXAMPLES ?= 1000

fuzz: build-host ## Longer API fuzzing of the emulator: FUZZ_EXAMPLES (1000) per operation; make test runs 100
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) REQUIRE_BUILDS=1 $(BIN)/pytest tests/e2e/test_fuzz.py

bench: build build-host ## Benchmarks: side-by-side ratios, figures to .bench/results.json (BENCH_OUT=...)
	PYTHONPATH=inference_fn:log_processor_fn:. $(BIN)/python -m bench

PORT ?= 3000
# A models folder served as ModelsS3Uri's would be: MODELS_URI=file:///path/to/models.
MODELS_URI ?=
# Seconds per drift window (default: the template's DriftWindowMinutes).
DRIFT_WINDOW_SECONDS ?=

run: build-host ## The whole monitored chain on 127.0.0.1: PORT (3000), STATE_DIR (.local), MAX_CONCURRENCY (4 environments a function), MODELS_URI (file://...), DRIFT_WINDOW_SECONDS, CANARY_SECONDS (the template's rate); Ctrl-C stops
	$(BIN)/python -m emulator --port $(PORT) --state-dir $(STATE_DIR) --build-dir $(HOST_BUILD_DIR) \
		--runtime-dir $(LAMBDA_RUNTIME_DIR) $(if $(MAX_CONCURRENCY),--max-concurrency $(MAX_CONCURRENCY))$(if $(MODELS_URI), --parameter 'ModelsS3Uri=$(MODELS_URI)')$(if $(DRIFT_WINDOW_SECONDS), --drift-window-seconds $(DRIFT_WINDOW_SECONDS))$(if $(CANARY_SECONDS), --canary-seconds $(CANARY_SECONDS))

pre-traffic: build-host ## A simulated deployment's pre-traffic check: the hook runs the golden inputs against the built function (exit 1 if it fails)
	$(BIN)/python -m emulator --pre-traffic --port 0 --state-dir $(STATE_DIR) --build-dir $(HOST_BUILD_DIR) \
		--runtime-dir $(LAMBDA_RUNTIME_DIR)$(if $(MODELS_URI), --parameter 'ModelsS3Uri=$(MODELS_URI)')

AUTH_MODE ?= API_KEY

openapi: $(STAMP) ## Write STATE_DIR/openapi.json: the API as plain OpenAPI 3.0 (AUTH_MODE=API_KEY, IAM or NONE)
	$(BIN)/python -m emulator.openapi --auth-mode $(AUTH_MODE) --out $(STATE_DIR)/openapi.json

drill: $(STAMP) ## Alarm drills: named scenarios over simulated hours through the template's alarms
	PYTHONPATH=log_processor_fn:. $(BIN)/python -m emulator.drills

report: $(STAMP) ## Metrics of the local run as CloudWatch would show them; SINCE=, UNTIL= for a window
	$(BIN)/python -m emulator.report --metrics $(STATE_DIR)/metrics.jsonl $(if $(SINCE),--since '$(SINCE)') $(if $(UNTIL),--until '$(UNTIL)')

trace: $(STAMP) ## One request of the local run: ID=<request id>; its gateway timings and X-Ray segments
	@test -n '$(ID)' || { echo "make trace ID=<request id>: an answer's x-amzn-RequestId, or a requestId of $(STATE_DIR)/logs/access.log"; exit 2; }
	$(BIN)/python -m emulator.trace --state-dir $(STATE_DIR) '$(ID)'

deploy: build ## sam deploy (samconfig.toml [default]; CONFIG_ENV=prod for production)
	$(BIN)/sam deploy --config-env $(or $(CONFIG_ENV),default)

logs: $(STAMP) ## Tail the inference function's logs from a deployed stack
	$(BIN)/sam logs --config-env $(or $(CONFIG_ENV),default)

train: $(STAMP) ## Retrain and export the bundled models (fixed seeds; same labels, probabilities within 1e-3)
	$(BIN)/python tools/train_models.py

clean: ## Remove builds and caches (keeps .venv)
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
