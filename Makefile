# SPDX-License-Identifier: MIT
# The two set-up commands of the README, and the benchmarks:
#   make run    install missing Debian packages, build, run the seed demo
#   make test   install what the suite needs, run every build of the matrix
#   make bench  run the benchmarks against their peers (by hand, not in CI)
.PHONY: run test bench deps-run deps-test deps-bench clean

BUILD ?= build/release
JOBS ?= 2

run: deps-run
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DCORIO_BUILD_TESTS=OFF -DCORIO_BUILD_BENCH=OFF >/dev/null
	cmake --build $(BUILD) -j$(JOBS) --target seed_demo
	$(BUILD)/examples/seed_demo

test: deps-test
	CORIO_JOBS=$(JOBS) tools/test-all.sh $(STAGES)

bench: deps-bench
	bench/run $(BENCH_ARGS)

deps-run:
	tools/deps.sh run
deps-test:
	tools/deps.sh test
deps-bench:
	tools/deps.sh bench

clean:
	rm -rf build
