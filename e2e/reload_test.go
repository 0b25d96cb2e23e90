package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadRulesA = `
- rule: Reload test A
  desc: cat reads /etc/hostname
  condition: evt.type in (open, openat) and proc.name = cat and fd.name = /etc/hostname
  output: "reload test A %fd.name"
  priority: NOTICE
`

const reloadRulesB = `
- rule: Reload test B
  desc: head reads /etc/hostname
  condition: evt.type in (open, openat) and proc.name = head and fd.name = /etc/hostname
  output: "reload test B %fd.name"
  priority: NOTICE
`

// startReloadable starts falco-run with a rules file of its own holding
// reloadRulesA, and returns it with a function that rewrites that file.
func startReloadable(t *testing.T) (*falco, func(string)) {
	file := filepath.Join(t.TempDir(), "reload.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadRulesA)
	return startFalco(t, "-r", file), write
}

// TestReload sends SIGHUP to a running falco-run: a broken rules file is
// reported and the running rules keep working; a good one replaces them
// (engine and kernel tables) without a restart.
func TestReload(t *testing.T) {
	requireLive(t)
	f, write := startReloadable(t)
	is := func(rule string) func(*alert) bool {
		return func(a *alert) bool { return a.Rule == rule }
	}
	waitErr := func(text string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(f.errText(), text) {
			if time.Now().After(deadline) {
				t.Fatalf("falco-run did not say %q:\n%s", text, f.errText())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	from := len(f.all())
	runCmd(t, false, "cat", "/etc/hostname")
	if _, ok := f.wait(from, 5*time.Second, is("Reload test A")); !ok {
		t.Fatalf("no alert from the first rule set:\n%s", f.errText())
	}

	// A broken file: reported, the running rules stay.
	write(reloadRulesA + "\n- rule: broken\n  desc: x\n  condition: proc.nope = 1\n  output: x\n  priority: INFO\n")
	if err := f.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitErr("reload failed, keeping the current rules")
	from = len(f.all())
	runCmd(t, false, "cat", "/etc/hostname")
	if _, ok := f.wait(from, 5*time.Second, is("Reload test A")); !ok {
		t.Fatalf("the running rules stopped after a failed reload:\n%s", f.errText())
	}

	// A good file replaces the rules: B fires, A no longer does.
	write(reloadRulesB)
	if err := f.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitErr("rules reloaded")
	// Let the swap happen: it is taken between two events.
	deadline := time.Now().Add(10 * time.Second)
	for {
		from = len(f.all())
		runCmd(t, false, "head", "-c1", "/etc/hostname")
		if _, ok := f.wait(from, time.Second, is("Reload test B")); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert from the reloaded rules:\n%s", f.errText())
		}
	}
	from = len(f.all())
	runCmd(t, false, "cat", "/etc/hostname")
	if a, ok := f.wait(from, 2*time.Second, is("Reload test A")); ok {
		t.Fatalf("the old rule still fires after the reload: %+v", a)
	}
}

// TestReloadOverCapacity reloads rules whose kernel comm table needs more
// entries than the maps falco-run sized at start for the first rules:
// the comm dimension is dropped from the kernel's tables (sound: the
// kernel narrows less), falco-run says so, and the new rule fires (issue
// 10: tables sized from the plan at load).
func TestReloadOverCapacity(t *testing.T) {
	requireLive(t)
	f, write := startReloadable(t)
	var names strings.Builder
	for i := range 5000 { // more than the default 4,096 comm entries
		fmt.Fprintf(&names, ", capacity-%d", i)
	}
	write(`
- rule: Reload test big
  desc: head (or one of 5,000 other programs) reads /etc/hostname
  condition: evt.type in (open, openat) and proc.name in (head` + names.String() + `) and fd.name = /etc/hostname
  output: "reload test big %fd.name"
  priority: NOTICE
`)
	if err := f.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(f.errText(), "dimension comm not checked in the kernel") {
		if time.Now().After(deadline) {
			t.Fatalf("falco-run did not report the dropped dimension:\n%s", f.errText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	is := func(a *alert) bool { return a.Rule == "Reload test big" }
	for {
		from := len(f.all())
		runCmd(t, false, "head", "-c1", "/etc/hostname")
		if _, ok := f.wait(from, time.Second, is); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert from the reloaded rules:\n%s", f.errText())
		}
	}
}
