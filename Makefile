# SPDX-License-Identifier: MIT
# A thin wrapper over CMake. `make demo` and `make test` are all a newcomer needs.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages: build, tests, sanitizers, fuzzing, benchmarks.
DEB_PKGS = build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev \
	libsimdjson-dev libcmocka-dev libjson-c-dev libsqlite3-dev libpq-dev \
	libcurl4-openssl-dev libpcre2-dev valgrind sqlite3 python3-venv postgresql chromium

.PHONY: all build deps demo test unit golden asan valgrind fuzz fixtures corpus bench clean format

all: build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

deps:
	@tools/deps.sh $(DEB_PKGS)

demo: deps build
	@tools/demo.sh $(BUILD)

test: deps build
	@BUILD=$(BUILD) tests/run.sh

asan: deps
	cmake -S . -B build-asan -G Ninja -DMS_SANITIZE=ON $(CMAKE_FLAGS)
	ninja -C build-asan -j $(JOBS)
	@BUILD=build-asan MS_SUITES="unit golden replay integration" MS_INTEGRATION_LIGHT=1 tests/run.sh

valgrind: deps build
	@BUILD=$(BUILD) MS_SUITES="valgrind" tests/run.sh

fuzz: deps
	@fuzz/run_fuzz.sh

fixtures:
	tools/fixtures/make_fixtures.sh

corpus:
	bash tools/fixtures/make_corpus.sh

bench: deps
	@bench/run.sh
	@bench/run_search.sh   # first run generates a 1M-trace store (~26 GB, ~10 min); BENCH_TRACES=N for less
	@bench/run_rest.sh     # 10k traces through a real mlflow server, vs MLflow's Python client (~15 min)
	@bench/run_sessions.sh # sessions list/show on the 1M store; PostgreSQL and REST with 10k
	@if [ -x bench/run_analyze.sh ]; then bench/run_analyze.sh; fi   # analyze --all on 100k traces
	@if [ -x bench/bench_code.sh ]; then bench/bench_code.sh; fi     # source scan vs grep -rE

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-bench
