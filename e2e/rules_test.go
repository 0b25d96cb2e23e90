package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// alertTimeout is how long an action's alert may take to arrive.
const alertTimeout = 5 * time.Second

// ruleCase is one default rule, the action that triggers it and the
// alert it must give. Container rules (runtime/containers) can be added
// here with an action that runs a container.
type ruleCase struct {
	rule     string
	priority string
	// act performs the action; it returns the output fields the alert
	// must have (a subset of output_fields, compared as text).
	act func(t *testing.T) map[string]string
}

func defaultRuleCases() []ruleCase {
	return []ruleCase{{
		rule: "Read sensitive file untrusted", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, "cat", "/etc/shadow")
			return map[string]string{"fd.name": "/etc/shadow", "proc.name": "cat", "proc.cmdline": "cat /etc/shadow",
				"evt.type": "openat", "user.name": "root", "user.uid": "0"}
		},
	}, {
		// The same, from a 32-bit system call (int 0x80): a 32-bit
		// program must not get past the rules.
		rule: "Read sensitive file untrusted", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, filepath.Join(bin, "ia32open"), "/etc/shadow")
			return map[string]string{"fd.name": "/etc/shadow", "proc.name": "ia32open", "evt.type": "open"}
		},
	}, {
		rule: "Write below etc", priority: "Error",
		act: func(t *testing.T) map[string]string {
			p := "/etc/falcoc-e2e-test"
			t.Cleanup(func() { os.Remove(p) })
			runCmd(t, false, "touch", p)
			runCmd(t, false, "rm", p)
			return map[string]string{"fd.name": p, "proc.name": "touch", "proc.cmdline": "touch " + p}
		},
	}, {
		rule: "Create files below dev", priority: "Error",
		act: func(t *testing.T) map[string]string {
			p := "/dev/falcoc-e2e-test"
			t.Cleanup(func() { os.Remove(p) })
			runCmd(t, false, "touch", p)
			runCmd(t, false, "rm", p)
			return map[string]string{"fd.name": p, "proc.name": "touch"}
		},
	}, {
		rule: "System binary outbound connection", priority: "Notice",
		act: func(t *testing.T) map[string]string {
			// The rule ignores 127.0.0.0/8: give lo a benchmark-range
			// address so the connection stays on this machine.
			testutil.RequireCommand(t, "ip")
			const addr = "198.18.0.1"
			out, err := exec.Command("ip", "addr", "add", addr+"/32", "dev", "lo").CombinedOutput()
			if err != nil && !strings.Contains(string(out), "File exists") && !strings.Contains(string(out), "already assigned") {
				t.Fatalf("ip addr add: %v\n%s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", addr+"/32", "dev", "lo").Run() })
			l, err := net.Listen("tcp", addr+":0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				if c, err := l.Accept(); err == nil {
					c.Close()
				}
			}()
			port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
			sha := filepath.Join(t.TempDir(), "sha1sum")
			copyFile(t, filepath.Join(bin, "connect"), sha, 0o755)
			runCmd(t, false, sha, l.Addr().String())
			return map[string]string{"proc.name": "sha1sum", "fd.rport": port, "fd.l4proto": "tcp", "evt.type": "connect"}
		},
	}, {
		rule: "Packet socket created", priority: "Notice",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, filepath.Join(bin, "packet"))
			return map[string]string{"proc.name": "packet", "evt.type": "socket"}
		},
	}, {
		rule: "PTRACE attached to process", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, filepath.Join(bin, "tracer"))
			return map[string]string{"proc.name": "tracer", "evt.arg.request": "PTRACE_ATTACH", "evt.type": "ptrace"}
		},
	}, {
		rule: "Linux Kernel Module Injection Detected", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, filepath.Join(bin, "modload"))
			return map[string]string{"proc.name": "modload", "evt.type": "finit_module"}
		},
	}, {
		rule: "Fileless execution via memfd_create", priority: "Critical",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, filepath.Join(bin, "memfdexec"))
			// The kernel names the task after the file executed
			// (/proc/self/fd/N), so only the parent is certain.
			return map[string]string{"evt.type": "execve", "proc.pname": "e2e.test"}
		},
	}, {
		rule: "Execution from /dev/shm", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			p := "/dev/shm/falcoc-e2e-true"
			t.Cleanup(func() { os.Remove(p) })
			copyFile(t, "/bin/true", p, 0o755)
			runCmd(t, false, p)
			return map[string]string{"proc.exepath": p, "evt.type": "execve"}
		},
	}, {
		rule: "Create Symlink Over Sensitive Files", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			link := filepath.Join(t.TempDir(), "shadow-link")
			runCmd(t, false, "ln", "-s", "/etc/shadow", link)
			return map[string]string{"evt.arg.target": "/etc/shadow", "proc.name": "ln"}
		},
	}, {
		rule: "Create Hardlink Over Sensitive Files", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			// Hard links cannot cross file systems: link next to the file.
			link := "/etc/falcoc-e2e-link"
			t.Cleanup(func() { os.Remove(link) })
			runCmd(t, false, "ln", "/etc/shadow", link)
			runCmd(t, false, "rm", link)
			return map[string]string{"evt.arg.oldpath": "/etc/shadow", "evt.arg.newpath": link, "proc.name": "ln"}
		},
	}, {
		rule: "Clear Log Activities", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			p := "/var/log/falcoc-e2e.log"
			t.Cleanup(func() { os.Remove(p) })
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("some log\n")
			f.Close()
			runCmd(t, false, "sh", "-c", ": > "+p)
			return map[string]string{"fd.name": p, "proc.name": "sh"}
		},
	}, {
		rule: "Search Private Keys or Passwords", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			runCmd(t, false, "find", "/", "-maxdepth", "1", "-name", "id_rsa")
			return map[string]string{"proc.name": "find", "proc.cmdline": "find / -maxdepth 1 -name id_rsa"}
		},
	}, {
		rule: "Netcat Remote Code Execution", priority: "Warning",
		act: func(t *testing.T) map[string]string {
			nc := filepath.Join(t.TempDir(), "nc")
			copyFile(t, "/bin/true", nc, 0o755)
			runCmd(t, false, nc, "-e", "/bin/sh", "127.0.0.1", "1")
			return map[string]string{"proc.name": "nc", "proc.cmdline": "nc -e /bin/sh 127.0.0.1 1"}
		},
	}}
}

// matches reports whether a has every field of want.
func matches(a *alert, rule string, want map[string]string) bool {
	if a.Rule != rule {
		return false
	}
	for k, v := range want {
		if a.field(k) != v {
			return false
		}
	}
	return true
}

// TestDefaultRules performs each default rule's action for real and
// checks that its alert arrives.
// It runs once per prefilter mode: the alerts must not depend on it.
func TestDefaultRules(t *testing.T) {
	requireLive(t)
	for _, mode := range []string{"full", "evttype", "off"} {
		t.Run("prefilter="+mode, func(t *testing.T) { testDefaultRules(t, mode) })
	}
}

func testDefaultRules(t *testing.T, mode string) {
	f := startFalco(t, "--prefilter", mode)
	for _, rc := range defaultRuleCases() {
		t.Run(rc.rule, func(t *testing.T) {
			if f.cmd.ProcessState != nil {
				t.Fatal("falco-run was stopped after an earlier failure")
			}
			from := len(f.all())
			want := rc.act(t)
			a, ok := f.wait(from, alertTimeout, func(a *alert) bool { return matches(a, rc.rule, want) })
			if !ok {
				var got []string
				for _, a := range f.all()[from:] {
					got = append(got, a.Rule+": "+a.Output)
				}
				// Stop falco-run so its final counters (losses
				// included) explain the miss.
				errText, _ := f.stop()
				t.Fatalf("no %q alert with %v within %v; alerts since the action:\n%s\nfalco-run stderr:\n%s",
					rc.rule, want, alertTimeout, strings.Join(got, "\n"), errText)
			}
			if a.Priority != rc.priority {
				t.Errorf("priority = %q, want %q", a.Priority, rc.priority)
			}
		})
	}
	errText, err := f.stop()
	if err != nil {
		t.Errorf("falco-run: %v\n%s", err, errText)
	}
	for _, want := range []string{"Kernel: hook calls ", "Live source: events ", "undecodable 0", "Events processed: "} {
		if !strings.Contains(errText, want) {
			t.Errorf("final counters lack %q:\n%s", want, errText)
		}
	}
}

// TestBenignActions checks that ordinary work raises no alert: listing a
// folder, reading /etc/hostname, building a small Go package.
func TestBenignActions(t *testing.T) {
	requireLive(t)
	testutil.RequireCommand(t, "go")
	f := startFalco(t)
	dir := t.TempDir()
	marker := filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/benign\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	from := len(f.all())
	runCmd(t, false, "ls", "-la", dir)
	runCmd(t, false, "cat", "/etc/hostname")
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "benign"), ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A sentinel alert: once it is out, every earlier event was judged.
	runCmd(t, false, "cat", "/etc/shadow", filepath.Join(dir, "go.mod"))
	if _, ok := f.wait(from, alertTimeout, func(a *alert) bool {
		return a.Rule == "Read sensitive file untrusted" && strings.Contains(a.field("proc.cmdline"), marker)
	}); !ok {
		t.Fatalf("no sentinel alert:\n%s", f.errText())
	}
	benign := map[string]bool{"ls": true, "go": true, "compile": true, "link": true, "asm": true, "vet": true, "cgo": true}
	for _, a := range f.all()[from:] {
		if a.Rule == "Read sensitive file untrusted" && strings.Contains(a.field("proc.cmdline"), marker) {
			continue
		}
		if benign[a.field("proc.name")] || strings.Contains(a.Output, marker) || strings.Contains(a.Output, "/etc/hostname") {
			t.Errorf("benign action raised %q: %s", a.Rule, a.Output)
		}
	}
}

// alertKey is what must be equal between a live alert and its replay.
func alertKey(a *alert) string {
	return strings.Join([]string{a.Rule, a.Priority, a.Output}, " | ")
}

// TestCaptureReplay records a live session with --capture and replays it
// with -e: the same alerts come out, with the same text (the capture
// describes each thread's ancestry, so proc.aname[N] replays too).
func TestCaptureReplay(t *testing.T) {
	requireLive(t)
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	f := startFalco(t, "--capture", trace)
	p := "/etc/falcoc-e2e-replay"
	t.Cleanup(func() { os.Remove(p) })
	runCmd(t, false, "cat", "/etc/shadow")
	runCmd(t, false, "touch", p)
	runCmd(t, false, "rm", p)
	if _, ok := f.wait(0, alertTimeout, func(a *alert) bool { return a.Rule == "Write below etc" && a.field("fd.name") == p }); !ok {
		t.Fatalf("no live alert for %s:\n%s", p, f.errText())
	}
	if errText, err := f.stop(); err != nil {
		t.Fatalf("falco-run: %v\n%s", err, errText)
	}
	var live []string
	for _, a := range f.all() {
		live = append(live, alertKey(&a))
	}

	out, err := exec.Command(filepath.Join(bin, "falco-run"), "-r", rulesFile, "-o", "json_output=true",
		"-o", "syslog_output.enabled=false", "-e", trace).Output()
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	r := &falco{notify: make(chan struct{}, 1)}
	r.readAlerts(strings.NewReader(string(out)))
	var replayed []string
	for _, a := range r.all() {
		replayed = append(replayed, alertKey(&a))
	}
	if diff := cmp.Diff(live, replayed); diff != "" {
		t.Errorf("replayed alerts differ (-live +replay):\n%s", diff)
	}
	if len(live) < 2 {
		t.Errorf("only %d live alerts, want at least the two of the actions", len(live))
	}
}

// TestRingBufferLoss runs with a one-page ring buffer and no prefilter,
// floods the kernel with events, and checks the loss is counted and
// reported.
func TestRingBufferLoss(t *testing.T) {
	requireLive(t)
	f := startFalco(t, "--prefilter", "off", "--ring-buffer-size", fmt.Sprint(os.Getpagesize()))
	for range 20000 {
		if fd, err := os.Open("/dev/null"); err == nil {
			fd.Close()
		}
	}
	errText, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, errText)
	}
	var calls, gate, dropped, sent, lost uint64
	found := false
	for _, line := range strings.Split(errText, "\n") {
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&calls, &gate, &dropped, &sent, &lost); err == nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("no kernel counters line:\n%s", errText)
	}
	if lost == 0 || sent == 0 || calls < sent+lost {
		t.Errorf("calls %d, sent %d, lost %d: want losses counted\n%s", calls, sent, lost, errText)
	}
}

// TestNotRoot runs falco-run as an unprivileged user: it must say that
// live capture needs root, and exit 1.
func TestNotRoot(t *testing.T) {
	requireLive(t)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "falco-run"), "-r", rulesFile, "-o", "syslog_output.enabled=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("falco-run as nobody: %v, want exit status 1\n%s", err, out)
	}
	want := "falco-run: live capture needs root (CAP_BPF, CAP_PERFMON)\n"
	if !strings.HasSuffix(string(out), want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
}

// TestRedirectPorts dups a connected TCP socket onto standard output (a
// reverse shell's move) and checks the redirect rule's ports: the client
// on this machine is the local end, so fd.lport is its own port and
// fd.rport the server's, as Falco has them.
func TestRedirectPorts(t *testing.T) {
	requireLive(t)
	f := startFalco(t, "-r", filepath.Join("testdata", "redirect_rules.yaml"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	from := len(f.all())
	out, err := exec.Command(filepath.Join(bin, "redirect"), l.Addr().String()).CombinedOutput()
	if err != nil {
		t.Fatalf("redirect: %v\n%s", err, out)
	}
	_, clientPort, err := net.SplitHostPort(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("redirect printed %q: %v", out, err)
	}
	_, serverPort, _ := net.SplitHostPort(l.Addr().String())
	a, ok := f.wait(from, 5*time.Second, func(a *alert) bool { return a.Rule == "Redirect STDOUT/STDIN to Network Connection" })
	if !ok {
		t.Fatalf("no redirect alert; falco-run stderr:\n%s", f.errText())
	}
	want := map[string]string{"fd.lport": clientPort, "fd.rport": serverPort, "fd.sip": "127.0.0.1", "fd.type": "ipv4"}
	got := map[string]string{}
	for k := range want {
		got[k] = a.field(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("redirect alert (-want +got):\n%s\noutput: %s", diff, a.Output)
	}
}
