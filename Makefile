# falcoc: see README.md.
GO ?= go
PREFIX ?= /usr/local
BENCHTIME ?= 1s

.PHONY: build test test-short bench generate install clean

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$(BENCHTIME) ./...

# Rebuild generated files (bpf2go objects, stringer output). Needs clang,
# llvm and libbpf-dev; `go build` never does.
generate:
	$(GO) generate ./...

install: build
	install -m 0755 bin/falcoc bin/falco-run $(PREFIX)/bin/

clean:
	rm -rf bin/
