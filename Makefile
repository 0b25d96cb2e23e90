# falcoc: see README.md.
GO ?= go
PREFIX ?= /usr/local
BENCHTIME ?= 1s

.PHONY: build test test-short bench kernel-matrix generate install clean

build:
	$(GO) build -o bin/ ./cmd/...

# The full suite. Tests that need root, BPF or a container runtime skip when
# they cannot run, unless FALCOC_REQUIRE_PRIVILEGED=1 (set by .ci/run).
# Packages run one at a time (-p 1): the live tests measure rates and
# losses on a 2-core machine and must not compete with each other.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 ./...

test-short:
	$(GO) test -short ./...

# The micro benchmarks, then (as root) the A/B harness against no agent with
# the default rules, with 200 generated rules added, and with the rule set
# shaped like Falco's stable rules beside the default rules in the same run
# (issue 9; see internal/bench).
BENCH_DURATION ?= 600ms
BENCH_ROUNDS ?= 5
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$(BENCHTIME) ./...
	@if [ "$$(id -u)" = 0 ]; then \
		$(GO) build -o bin/falco-run ./cmd/falco-run && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) -rules-generated 200 && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) -rules internal/bench/rules/stable_shaped.yaml -compare-default; \
	else \
		echo "make bench: not root: skipping falcoc-bench (it attaches BPF programs)"; \
	fi

# The kernel matrix (issue 8): boots Debian's cloud kernels from 5.10 to sid
# under QEMU (TCG) and runs, as root inside each, the bpf package's tests and
# falco-run with the default rules against a workload that must raise alerts
# (see internal/kmatrix). Downloads go to /var/cache/falcoc-kmatrix
# (or FALCOC_KMATRIX_CACHE), logs to bin/kernel-matrix/. KMATRIX_FLAGS adds
# flags: -kernels sid, -update (rewrite bpf/testdata/headroom), -install-deps.
KMATRIX_FLAGS ?=
kernel-matrix:
	CGO_ENABLED=0 $(GO) test -c -o bin/bpf.test ./bpf
	CGO_ENABLED=0 $(GO) build -o bin/falco-run-static ./cmd/falco-run
	$(GO) build -o bin/falcoc-kmatrix ./cmd/falcoc-kmatrix
	bin/falcoc-kmatrix -bpf-test bin/bpf.test -falco-run bin/falco-run-static -keep bin/kernel-matrix $(KMATRIX_FLAGS)

# Rebuild generated files (bpf2go objects, stringer output). Needs clang,
# llvm and libbpf-dev; `go build` never does.
generate:
	$(GO) generate ./...

install: build
	install -m 0755 bin/falcoc bin/falco-run $(PREFIX)/bin/

clean:
	rm -rf bin/
