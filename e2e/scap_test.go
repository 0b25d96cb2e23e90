package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCaptureReplayScap records a live session with --capture FILE.scap (a
// libscap capture: the state's threads, fds and users, then the events)
// and replays it with -e: the same alerts, with every output field equal.
func TestCaptureReplayScap(t *testing.T) {
	requireLive(t)
	capture := filepath.Join(t.TempDir(), "live.scap")
	f := startFalco(t, "--capture", capture)
	p := "/etc/falcoc-e2e-scap"
	t.Cleanup(func() { os.Remove(p) })
	runCmd(t, false, "cat", "/etc/shadow")
	runCmd(t, false, "touch", p)
	runCmd(t, false, "rm", p)
	if _, ok := f.wait(0, alertTimeout, func(a *alert) bool { return a.Rule == "Write below etc" && a.field("fd.name") == p }); !ok {
		t.Fatalf("no live alert for %s:\n%s", p, f.errText())
	}
	errText, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, errText)
	}
	if !strings.Contains(errText, "Capture written: ") {
		t.Errorf("no capture summary:\n%s", errText)
	}
	live := f.all()

	cmd := exec.Command(filepath.Join(bin, "falco-run"), "-r", rulesFile, "-o", "json_output=true",
		"-o", "syslog_output.enabled=false", "-e", capture)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Capture "+capture+": format 1.2") {
		t.Errorf("replay did not read a 1.2 capture:\n%s", stderr.String())
	}
	r := &falco{notify: make(chan struct{}, 1)}
	r.readAlerts(strings.NewReader(string(out)))
	replayed := r.all()
	if len(live) != len(replayed) {
		t.Fatalf("%d live alerts, %d replayed", len(live), len(replayed))
	}
	for i := range live {
		if !reflect.DeepEqual(live[i], replayed[i]) {
			t.Errorf("alert %d differs:\nlive   %+v\nreplay %+v", i+1, live[i], replayed[i])
		}
	}
	// libscap itself (Falco's replay engine) reads the capture, when its
	// checker is built (runtime/scap/testdata/libscapcheck).
	if check := os.Getenv("FALCOC_LIBSCAP_CHECK"); check != "" {
		b, err := exec.Command(check, capture).CombinedOutput()
		if err != nil {
			t.Fatalf("libscap: %v\n%s", err, b)
		}
		var written int
		i := strings.Index(errText, "Capture written: ")
		fmt.Sscanf(errText[i:], "Capture written: %d events", &written)
		if written == 0 || !strings.Contains(string(b), fmt.Sprintf("\nevents %d (filtered 0)\n", written)) {
			t.Errorf("libscap read something else than the %d events written:\n%s", written, b)
		}
	}
	rules := map[string]bool{}
	for _, a := range live {
		rules[a.Rule] = true
	}
	if !rules["Write below etc"] || !rules["Read sensitive file untrusted"] {
		t.Errorf("live alerts lack the workload's: %v", rules)
	}
}
