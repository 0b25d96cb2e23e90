# falcoc: see README.md.
GO ?= go
PREFIX ?= /usr/local
BENCHTIME ?= 1s

.PHONY: build test test-short fuzz bench kernel-matrix generate image install uninstall clean

build:
	$(GO) build -o bin/ ./cmd/...

# The full suite. Tests that need root, BPF or a container runtime skip when
# they cannot run, unless FALCOC_REQUIRE_PRIVILEGED=1 (set by .ci/run).
# Packages run one at a time (-p 1): the live tests measure rates and
# losses on a 2-core machine and must not compete with each other.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 ./...
	$(MAKE) fuzz

# A short run of each fuzz target (FUZZTIME each; new crashers land in the
# package's testdata/fuzz and fail the run). Go runs one target per command.
# Minimizing a new input is capped at 2s, or it takes up the whole run.
# FUZZTIME is a count of inputs, not a duration: with a duration, Go's
# coordinator can report its own deadline as a failure ("context deadline
# exceeded": the deadline's done channel is seen before the workers' context
# is cancelled), which failed CI once with no crasher. 50000 inputs take
# 10-20 s per target here.
FUZZTIME ?= 50000x
FUZZ_TARGETS ?= ./runtime/scap:FuzzReader ./runtime/scap:FuzzDecode ./runtime/scap:FuzzReplay
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s "$${t%%:*}"; \
	done

test-short:
	$(GO) test -short ./...

# The micro benchmarks, then (as root) the A/B harness against no agent with
# the default rules, with 2,000 generated rules added (beside the default rules
# alone in the same run: issue 10), and with the rule set
# shaped like Falco's stable rules beside the default rules in the same run
# (issue 9; see internal/bench). The third run's workloads run at real-time
# priority (-rt), as issue 9's measurement of Falco was made: the figures are
# the kernel's cost to the workload, and falco-run's userspace (and anything
# else on the machine) cannot take the workload's CPU.
BENCH_DURATION ?= 600ms
BENCH_ROUNDS ?= 5
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$(BENCHTIME) ./...
	@if [ "$$(id -u)" = 0 ]; then \
		$(GO) build -o bin/falco-run ./cmd/falco-run && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) -rules-generated 2000 -compare-default && \
		$(GO) run ./cmd/falcoc-bench -q -falco-run bin/falco-run -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) -rules internal/bench/rules/stable_shaped.yaml -compare-default -rt 50; \
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

# Rebuild generated files (bpf2go objects, stringer output, the gRPC code
# from runtime/grpcapi/proto). Needs clang, llvm, libbpf-dev and
# protobuf-compiler (protoc; its Go plugins are go.mod tools); `go build`
# never does.
generate:
	$(GO) generate ./...

# The container image (issue 12): static binaries (CGO_ENABLED=0), the rules
# and deploy/falco.yaml, from scratch (no base image, nothing pulled), as a
# `docker save` archive in bin/falcoc-image.tar that `docker load`,
# `podman load` and `ctr -n k8s.io images import` read. When a docker daemon
# answers, the image is loaded into it.
IMAGE ?= falcoc/falco-run:latest
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/static/ ./cmd/falco-run ./cmd/falcoc
	$(GO) run ./cmd/falcoc-image -o bin/falcoc-image.tar -tag $(IMAGE) -bin bin/static -rules rules -config deploy/falco.yaml
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		docker load -i bin/falcoc-image.tar; \
	else \
		echo "make image: no docker daemon: load bin/falcoc-image.tar with docker load, podman load or ctr images import"; \
	fi

# Install the binaries, the rules, falco.yaml and the systemd unit
# (deploy/systemd/falcoc.service runs $(PREFIX)/bin/falco-run -c
# $(SYSCONFDIR)/falcoc/falco.yaml). An existing falco.yaml is kept.
# DESTDIR stages the files elsewhere (packaging, tests).
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= /lib/systemd/system
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/falcoc $(DESTDIR)$(SYSTEMDDIR)
	install -m 0755 bin/falcoc bin/falco-run $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 rules/falco_rules.yaml rules/k8s_audit_rules.yaml $(DESTDIR)$(SYSCONFDIR)/falcoc/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/falcoc/falco.yaml ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/falcoc/falco.yaml"; \
	else \
		sed 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' deploy/systemd/falco.yaml > $(DESTDIR)$(SYSCONFDIR)/falcoc/falco.yaml; \
	fi
	sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' deploy/systemd/falcoc.service > $(DESTDIR)$(SYSTEMDDIR)/falcoc.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/falcoc.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/falcoc $(DESTDIR)$(PREFIX)/bin/falco-run $(DESTDIR)$(SYSTEMDDIR)/falcoc.service
	rm -f $(DESTDIR)$(SYSCONFDIR)/falcoc/falco_rules.yaml $(DESTDIR)$(SYSCONFDIR)/falcoc/k8s_audit_rules.yaml

clean:
	rm -rf bin/
