# Two commands on a fresh machine: `make dev` runs Plutomi, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint lint-image typecheck unit integration e2e bench synth cfn-lint layers k8s clean browser vendor

$(STAMP): requirements.txt requirements-runtime.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) ..."
	@$(BIN)/pip install --disable-pip-version-check --progress-bar off -q -r requirements.txt
	@$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/plutomi dev

test: $(STAMP) node_modules/.installed browser lint lint-image typecheck
	$(BIN)/pytest

# Front-end packages pinned in package.json: axe-core for the browser tests, htmx (copied into the
# plutomi layer's static files by `make vendor`), the CDK CLI.
node_modules/.installed: package.json package-lock.json
	@echo "installing front-end packages into node_modules ..."
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

vendor: node_modules/.installed $(STAMP)
	$(BIN)/python -m plutomi.web.vendor

# Debian's Chromium for the browser tests (tests/browser): installed when missing and we are root;
# otherwise the browser tests are skipped, and both this and pytest say so.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests ..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
		echo "!!!!!!!! could not install chromium: BROWSER TESTS WILL BE SKIPPED !!!!!!!!"; \
	else \
		echo "!!!!!!!! chromium is missing and this is not root: BROWSER TESTS WILL BE SKIPPED !!!!!!!!"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The container image's Dockerfile: hadolint with no findings at all, style included.
lint-image: $(STAMP)
	$(BIN)/hadolint --failure-threshold style Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy

# Rewrites the K3S base (k8s/base/) from plutomi.topology; tests/integration/test_k8s.py fails when stale.
k8s: $(STAMP)
	$(BIN)/python k8s/generate.py

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py

# The CDK app into cdk.out/ (no AWS credentials, no npm needed), after building the Lambda assets
# that are stale (as `make layers`). `npx cdk synth` does the same.
synth: $(STAMP)
	$(BIN)/python app.py

# cfn-lint over what `make synth` wrote; errors fail (tests/cdk/test_cfn_lint.py checks the same).
cfn-lint: synth
	$(BIN)/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

# The Lambda assets under build/lambda, as the functions' runtime (Python 3.13, arm64) runs them,
# whatever this machine is: the functions code, the plutomi layer and the dependencies layer
# (manylinux aarch64 wheels only), each with bytecode from a python3.13 (PLUTOMI_LAMBDA_PYTHON
# names one). Only what is not current is rebuilt. `make synth` and `cdk deploy` do this too.
layers: $(STAMP)
	$(BIN)/python -c 'from stacks.packaging import main; main()'

clean:
	rm -rf $(VENV) .plutomi .pytest_cache .mypy_cache .ruff_cache cdk.out build node_modules tests/browser/artifacts
