# rolecheck: two commands on a fresh machine (only the Rust toolchain needed).
#   make run   builds, runs every scenario against the embedded sim, writes reports/
#   make test  format check, clippy -D warnings, all tests
CARGO ?= cargo
ROLECHECK = $(CARGO) run --quiet --bin rolecheck --

.PHONY: run test fmt-check clippy unit build validate list bench

## Run all scenarios against the embedded sim; reports go to reports/.
run:
	$(ROLECHECK) run --target sim scenarios

## Format check, lints and every test of the workspace.
test: fmt-check clippy unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

build:
	$(CARGO) build --workspace

## Check the scenario files only.
validate:
	$(ROLECHECK) validate scenarios

## List scenarios and the rules they check.
list:
	$(ROLECHECK) list scenarios

## Benchmark (not a test): suite wall time, readiness latency, and bench/baseline.sh
## (kubectl + AWS CLI against `rolecheck sim serve`); last line `speedup: <ratio>x`.
bench:
	@test -x .venv/bin/aws || $(MAKE) venv
	$(CARGO) build --release --bin rolecheck
	ROLECHECK_BIN=target/release/rolecheck $(CARGO) run --release --example bench
