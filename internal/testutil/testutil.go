// Package testutil holds helpers shared by the project's tests.
//
// Tests that need root, BPF or a container runtime call the Require
// helpers. On a developer machine without those they skip; when the
// environment variable FALCOC_REQUIRE_PRIVILEGED is set to 1 (as .ci/run
// does), a missing capability is a failure instead, so CI can never pass
// by skipping the live tests.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// EnvRequirePrivileged names the variable that turns skips into failures.
const EnvRequirePrivileged = "FALCOC_REQUIRE_PRIVILEGED"

// Strict reports whether skips of privileged tests must fail.
func Strict() bool { return os.Getenv(EnvRequirePrivileged) == "1" }

// SkipOrFail skips the test, or fails it when [Strict] is true.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if Strict() {
		tb.Fatalf("required by "+EnvRequirePrivileged+"=1: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// RequireRoot skips (or fails, see [Strict]) unless running as root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(tb, "needs root")
	}
}

// RequireBTF skips (or fails) when the kernel exposes no BTF.
func RequireBTF(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		SkipOrFail(tb, "needs kernel BTF: %v", err)
	}
}

// RequireCommand skips (or fails) when the named program is not on PATH.
func RequireCommand(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(tb, "needs %s on PATH: %v", name, err)
	}
	return p
}

// SkipIfShort skips a slow test under `go test -short`. It never fails.
func SkipIfShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("slow test skipped with -short")
	}
}
