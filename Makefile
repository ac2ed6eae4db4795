# Two commands for a newcomer: `make synth` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# Paths may contain spaces: recipes read them from the environment, quoted ("$$CONFIG").
CONFIG ?=
PRICES ?=
OUT ?= cdk.out
export CONFIG PRICES OUT

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: wheelhouse mlflow-layer setup synth check ci ci-default test coverage lint typecheck unit report screenshots verify-ledger bench clean

# Nothing is byte-compiled at install: aws-cdk-lib alone is 183 MB of Python in ~600 modules, of
# which the app imports about 60, so compiling the whole venv cost 62 CPU seconds where compiling
# on first import costs about 20 (measured on a clean clone). Python writes each module's .pyc the
# first time any process imports it, so recipes must not inherit PYTHONDONTWRITEBYTECODE (set in
# some shells and CI images): with it, every test worker and every `cdk synth` would recompile
# everything it imports, every time. __pycache__ is ignored by git and excluded from assets.
unexport PYTHONDONTWRITEBYTECODE

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile \
	  -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The Evidently engine's job dependencies (monitoring_jobs/requirements.lock), downloaded once
# for the jobs' image (SageMaker scikit-learn 1.4-2-py312: CPython 3.12, x86_64) and shipped as
# a job input; a reproducible tar (sorted, fixed mtime and owner) so its asset hash is stable.
WHEELHOUSE := build/evidently-wheelhouse.tar
$(WHEELHOUSE): monitoring_jobs/requirements.lock $(VENV)/.installed
	rm -rf build/wheelhouse && mkdir -p build/wheelhouse
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --platform manylinux2014_x86_64 --python-version 3.12 --implementation cp \
	  --dest build/wheelhouse -r monitoring_jobs/requirements.lock
	cp monitoring_jobs/requirements.lock build/wheelhouse/requirements.lock
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C build/wheelhouse \
	  -cf $@.tmp requirements.lock $$(cd build/wheelhouse && ls *.whl)
	mv $@.tmp $@

wheelhouse: $(WHEELHOUSE)

# The MLflow relay's Lambda layer (layers/mlflow-relay.lock: mlflow-skinny, sagemaker-mlflow,
# Powertools) for its runtime (Lambda python3.14, x86_64), a reproducible zip (sorted entries,
# fixed timestamps) so its asset hash is stable; synth stops when an environment names an MLflow
# App and the layer is missing or built from another lock.
MLFLOW_LAYER := build/mlflow-layer.zip
$(MLFLOW_LAYER): layers/mlflow-relay.lock layers/build_layer.py $(VENV)/.installed
	$(PY) layers/build_layer.py --lock layers/mlflow-relay.lock --out $@

mlflow-layer: $(MLFLOW_LAYER)

setup: $(VENV)/.installed node_modules/.installed $(WHEELHOUSE) $(MLFLOW_LAYER)

## synth: templates, validation-report.json, governance-inventory.json and the governance report
## in $(OUT)/, exactly what `cdk synth -c config=...` writes; exits non-zero when anything is open.
synth: setup
	$(CDK) synth --quiet --no-notices --output "$$OUT" \
	  $${CONFIG:+--context "config=$$CONFIG"} $${PRICES:+--context "prices=$$PRICES"}

## check: the CI recipe for an organisation's own config (CONFIG=path/to/org.yaml): synth with
## aws-cdk-lib's CloudFormation validation, every compliance pack and the limits, then the
## report; the exit status is non-zero when any finding is open.
check: synth
	@test -f "$$OUT/manifest.json" && test -f "$$OUT/governance-report/report.html"
	@echo "check passed: $${CONFIG:-embedded default config}, report: $$OUT/governance-report/report.html"

## ci: `check` on the default config and on every example in config/examples/, CI_JOBS at a
## time (default 2: one synth keeps about one core busy); each check's output stays together.
CI_JOBS ?= 2
CI_EXAMPLES := $(basename $(notdir $(wildcard config/examples/*.yaml)))
ci: setup
	$(MAKE) --no-print-directory -j$(CI_JOBS) --output-sync=target \
	  ci-default $(addprefix ci-example-,$(CI_EXAMPLES))

ci-default:
	$(MAKE) --no-print-directory check OUT=cdk.out/ci/default CONFIG=

ci-example-%:
	$(MAKE) --no-print-directory check OUT="cdk.out/ci/$*" CONFIG="config/examples/$*.yaml"

## report: re-render the governance report from an existing $(OUT) (PRICES=your-table.json)
report: setup
	$(PY) -m governance_report --assembly "$$OUT" $${PRICES:+--prices "$$PRICES"}

## screenshots: render both example configs' reports and capture them with headless Chromium
screenshots: setup
	command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
	$(PY) bench/screenshot_report.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# -m '' lifts pyproject's default `-m 'not scale'`: make test runs the 500-model scale test too.
unit: setup
	$(PY) -m pytest -n 2 --dist loadfile -q -m ''

## coverage: the suite (scale test included) with line and branch coverage of the app's code
coverage: setup
	$(PY) -m pytest -n 2 --dist loadfile -q -m '' --cov --cov-report=term:skip-covered \
	  --cov-report=json:build/coverage.json

## test: everything CI runs, offline. mypy (one core) runs beside pytest: the 500-model scale
## test keeps one xdist worker busy long after the other has run the rest of the suite.
test: setup
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck unit

## verify-ledger: recompute a model group's hash chain (needs AWS credentials)
verify-ledger: setup
	cd lambda && ../$(PY) -m governance verify-ledger --table $(TABLE) --group $(GROUP)

bench: setup
	$(PY) bench/measure.py

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
