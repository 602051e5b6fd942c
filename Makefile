# rolecheck: two commands on a fresh machine (only the Rust toolchain needed).
#   make run   builds, runs every scenario against the embedded sim, writes reports/
#   make test  format check, clippy -D warnings, all tests
CARGO ?= cargo
ROLECHECK = $(CARGO) run --quiet --bin rolecheck --

.PHONY: run test venv xmllint browser fmt-check clippy unit build validate list bench moto localstack kind-up kind-down test-kind test-eks cluster cluster-down unit-with-cluster

## Run all scenarios against the embedded sim; reports go to reports/.
run:
	$(ROLECHECK) run --target sim scenarios

## Format check, lints and every test of the workspace, with the local cluster up (it is
## brought down at the end, also when tests fail or are interrupted).
test: venv moto localstack xmllint browser fmt-check clippy unit-with-cluster

## xmllint checks the JUnit report against its schema (harness/tests/junit_consumers.rs):
## Debian's libxml2-utils, installed once.
xmllint:
	@command -v xmllint >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libxml2-utils >/dev/null; }

## The HTML report's filter is run in a headless browser (harness/tests/report_html.rs):
## Debian's chromium, installed once; the test runs it in its own network namespace.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

fmt-check:
	$(CARGO) fmt --all -- --check

## Lints, also of the code behind feature `kind` (Docker client, certificate generation):
## it cannot run here (no Docker daemon), so CI at least compiles and lints it; and the API
## docs of the workspace's crates build without a broken link.
clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p rolecheck --features kind --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

unit:
	$(CARGO) test --workspace

## `make unit` with the local cluster: up, every test with ROLECHECK_LOCAL_CLUSTER=1 (the
## local-cluster tests and the suite on `--target local` run instead of skipping), down
## (always, by a trap), then the check that down left the machine as up found it.
unit-with-cluster:
	@trap '$(MAKE) --no-print-directory cluster-down' EXIT INT TERM; \
	$(MAKE) --no-print-directory cluster && \
	ROLECHECK_LOCAL_CLUSTER=1 ROLECHECK_REQUIRE_BROWSER=1 $(CARGO) test --workspace
	ROLECHECK_LOCAL_CLUSTER_DOWN=1 $(CARGO) test -p rolecheck --test local_cluster_down

## The real local cluster (Kubernetes 1.20.2 from Debian's packages, on loopback): the first
## run installs Debian packages and builds into ~/.cache/rolecheck/local-k8s (cold: several
## minutes); later runs reuse that cache. Idempotent.
cluster:
	$(ROLECHECK) env up local

## Stop the local cluster and remove everything it created (the build cache stays).
cluster-down:
	$(ROLECHECK) env down local

build:
	$(CARGO) build --workspace

## Check the scenario files only.
validate:
	$(ROLECHECK) validate scenarios

## List scenarios and the rules they check.
list:
	$(ROLECHECK) list scenarios

.PHONY: coverage selfcheck

## Which scenarios check each rule, and whether they run on the sim (exit 1: a rule has none).
coverage:
	$(ROLECHECK) coverage --target sim scenarios

## The suite on the healthy sim, then once per fault switch: every fault must be detected.
## Writes reports/selfcheck.json.
selfcheck:
	$(ROLECHECK) selfcheck scenarios

## Benchmark (not a test): suite wall time, readiness latency, and bench/baseline.sh
## (kubectl + AWS CLI against `rolecheck sim serve`), on the sim and on the local cluster
## (brought up, and down at the end by a trap); last line `speedup: <ratio>x` (the sim's).
bench:
	@test -x .venv/bin/aws || $(MAKE) venv
	$(CARGO) build --release --bin rolecheck
	@trap '$(MAKE) --no-print-directory cluster-down' EXIT INT TERM; \
	$(MAKE) --no-print-directory cluster && \
	ROLECHECK_BIN=target/release/rolecheck $(CARGO) run --release --example bench

## The stock AWS clients the sim must serve unmodified (boto3, AWS CLI v1), pinned in
## python/requirements.txt; sim/tests/python_clients.rs runs them (idempotent via the stamp).
venv: .venv/.stamp

.venv/.stamp: python/requirements.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt
	touch $@

## STS/IAM stand-ins for `--target moto` / `--target localstack`, each in its own virtualenv
## (idempotent: the stamp file names the pinned version).
PYTHON ?= python3
MOTO_VERSION = 5.2.5
LOCALSTACK_VERSION = 2026.3.0
LOCALSTACK_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))

moto: .venv-moto/.stamp-$(MOTO_VERSION)

.venv-moto/.stamp-$(MOTO_VERSION):
	$(PYTHON) -m venv .venv-moto
	.venv-moto/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

localstack: .venv-localstack/.stamp-$(LOCALSTACK_VERSION)

.venv-localstack/.stamp-$(LOCALSTACK_VERSION):
	@test -n "$(LOCALSTACK_PYTHON)" || { echo "make localstack: LocalStack needs Python >= 3.12 (3.13 tested); none found in $(HOME)/.pyenv/versions/3.13*/bin or on PATH (set LOCALSTACK_PYTHON=...)" >&2; exit 2; }
	$(LOCALSTACK_PYTHON) -m venv .venv-localstack
	.venv-localstack/bin/pip install --quiet --disable-pip-version-check 'localstack-core[runtime]==$(LOCALSTACK_VERSION)' service-identity 'pyopenssl==25.1.0' 'cryptography<46' 'cbor2<6'
	touch $@

## kind + LocalStack (needs Docker and kind): bring up, tear down, and run the ignored tests.
kind-up:
	$(CARGO) run --quiet --features kind --bin rolecheck -- env up kind

kind-down:
	$(CARGO) run --quiet --features kind --bin rolecheck -- env down kind

test-kind:
	$(CARGO) test -p rolecheck --features kind --test target_kind -- --ignored

## Real EKS + AWS (needs credentials; see README "Target: eks").
test-eks:
	ROLECHECK_ALLOW_REAL_AWS=1 $(CARGO) test -p rolecheck --test target_eks -- --ignored
