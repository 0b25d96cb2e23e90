// Package e2e runs the falco-run binary as a real process against the live
// kernel: it performs each default rule's action for real and checks the
// alert. The tests need root and kernel BTF (see internal/testutil): they
// skip on a developer machine and fail in CI.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/falcoc/falcoc/internal/testutil"
)

// bin is the folder with falco-run and the helper programs.
var bin string

// rulesFile is the default rules file (the one embedded in falco-run).
var rulesFile string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "falcoc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = dir
	// The falco-run processes read no /etc/falco/falco.yaml of this
	// machine's (a Falco installed beside would turn its web server on).
	os.Setenv("FALCOC_DEFAULT_CONFIG", "")
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rulesFile = filepath.Join(root, "rules", "falco_rules.yaml")
	builds := [][]string{{"-o", filepath.Join(dir, "falco-run"), "./cmd/falco-run"}}
	helpers, _ := filepath.Glob(filepath.Join(root, "e2e", "testdata", "helpers", "*.go"))
	for _, h := range helpers {
		builds = append(builds, []string{"-o", filepath.Join(dir, strings.TrimSuffix(filepath.Base(h), ".go")), h})
	}
	for _, b := range builds {
		cmd := exec.Command("go", append([]string{"build"}, b...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", strings.Join(b, " "), err, out)
			return 1
		}
	}
	return m.Run()
}

// alert is one JSON alert as falco-run prints it.
type alert struct {
	Rule     string         `json:"rule"`
	Priority string         `json:"priority"`
	Output   string         `json:"output"`
	Fields   map[string]any `json:"output_fields"`
}

// field returns an output field as text ("" when missing).
func (a *alert) field(name string) string {
	v, ok := a.Fields[name]
	if !ok || v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprint(v)
}

// falco is a running falco-run process.
type falco struct {
	cmd   *exec.Cmd
	ready chan struct{}
	done  chan struct{} // closed when both pipes are drained

	mu     sync.Mutex
	alerts []alert
	stderr strings.Builder
	notify chan struct{}
}

// requireLive skips (or fails in CI) unless live capture can work here.
func requireLive(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBTF(t)
}

// startFalco runs falco-run with the default rules and JSON output plus
// args, and waits for its "ready" line. The process is stopped when the
// test ends.
func startFalco(t *testing.T, args ...string) *falco {
	t.Helper()
	base := []string{"-r", rulesFile, "-o", "json_output=true", "-o", "syslog_output.enabled=false"}
	cmd := exec.Command(filepath.Join(bin, "falco-run"), append(base, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &falco{cmd: cmd, ready: make(chan struct{}), done: make(chan struct{}), notify: make(chan struct{}, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.readAlerts(stdout)
	}()
	go func() {
		defer wg.Done()
		f.readStderr(stderr)
	}()
	go func() {
		wg.Wait()
		close(f.done)
	}()
	t.Cleanup(func() { f.stop() })
	select {
	case <-f.ready:
	case <-f.done:
		_ = cmd.Wait()
		t.Fatalf("falco-run exited before it was ready:\n%s", f.errText())
	case <-time.After(30 * time.Second):
		t.Fatalf("falco-run not ready after 30s:\n%s", f.errText())
	}
	return f
}

func (f *falco) readAlerts(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		var a alert
		if json.Unmarshal(s.Bytes(), &a) != nil || a.Rule == "" {
			f.mu.Lock()
			fmt.Fprintf(&f.stderr, "(stdout) %s\n", s.Text())
			f.mu.Unlock()
			continue
		}
		f.mu.Lock()
		f.alerts = append(f.alerts, a)
		f.mu.Unlock()
		select {
		case f.notify <- struct{}{}:
		default:
		}
	}
}

func (f *falco) readStderr(r io.Reader) {
	s := bufio.NewScanner(r)
	isReady := false
	for s.Scan() {
		f.mu.Lock()
		f.stderr.WriteString(s.Text() + "\n")
		f.mu.Unlock()
		if !isReady && strings.Contains(s.Text(), "ready") {
			isReady = true
			close(f.ready)
		}
	}
}

func (f *falco) errText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stderr.String()
}

// all returns the alerts received so far.
func (f *falco) all() []alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]alert(nil), f.alerts...)
}

// stop interrupts falco-run, waits for it to exit, and returns its
// stderr and exit error.
func (f *falco) stop() (string, error) {
	if f.cmd.ProcessState == nil {
		_ = f.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-f.done:
		case <-time.After(20 * time.Second):
			_ = f.cmd.Process.Kill()
			<-f.done
		}
		err := f.cmd.Wait()
		return f.errText(), err
	}
	return f.errText(), nil
}

// wait returns the first alert (from index from on) that match accepts,
// waiting up to timeout for it.
func (f *falco) wait(from int, timeout time.Duration, match func(*alert) bool) (alert, bool) {
	deadline := time.After(timeout)
	for {
		all := f.all()
		for i := from; i < len(all); i++ {
			if match(&all[i]) {
				return all[i], true
			}
		}
		select {
		case <-f.notify:
		case <-deadline:
			return alert{}, false
		case <-f.done:
			return alert{}, false
		}
	}
}

// runCmd runs a command and fails the test when it fails (unless
// mayFail).
func runCmd(t *testing.T, mayFail bool, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && !mayFail {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// kernelRelease is uname -r, printed beside measured figures.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
