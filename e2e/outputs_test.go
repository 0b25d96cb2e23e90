package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowEndpoint is an HTTP server that takes 10 s to answer each request.
type slowEndpoint struct {
	srv      *httptest.Server
	arrived  chan struct{} // one token per request received
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	inflight int
	quit     chan struct{}
}

func newSlowEndpoint(t *testing.T) *slowEndpoint {
	e := &slowEndpoint{arrived: make(chan struct{}, 1000), quit: make(chan struct{})}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, b)
		e.headers = append(e.headers, r.Header.Clone())
		e.inflight++
		e.mu.Unlock()
		e.arrived <- struct{}{}
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		case <-e.quit:
		}
		e.mu.Lock()
		e.inflight--
		e.mu.Unlock()
	}))
	t.Cleanup(func() {
		close(e.quit)
		e.srv.Close()
	})
	return e
}

func (e *slowEndpoint) state() (requests, inflight int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.bodies), e.inflight
}

// TestSlowHTTPOutput: an http_output endpoint that takes 10 s per request
// never holds up detection. While its first request is still unanswered,
// every later /etc/shadow read gets its stdout alert; the http output's
// queue (capacity 1) drops the rest, falco-run logs the first drop as
// Falco does, raises the internal drop alert, and its exit summary counts
// the drops. The endpoint receives Falcosidekick's payload (the JSON alert).
func TestSlowHTTPOutput(t *testing.T) {
	requireLive(t)
	e := newSlowEndpoint(t)
	f := startFalco(t, "-o", "http_output.enabled=true", "-o", "http_output.url="+e.srv.URL,
		"-o", "outputs_queue.capacity=1", "-o", "http_output.custom_headers.X-Falcoc-Test=slow")
	isShadow := func(a *alert) bool { return a.Rule == shadowRule && a.field("fd.name") == "/etc/shadow" }

	from := len(f.all())
	runCmd(t, false, "cat", "/etc/shadow")
	first, ok := f.wait(from, 10*time.Second, isShadow)
	if !ok {
		t.Fatalf("no stdout alert\n%s", f.errText())
	}
	select {
	case <-e.arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("the endpoint received nothing\n%s", f.errText())
	}
	blockedSince := time.Now()

	// The endpoint now holds the first request for 10 s. Six more reads,
	// each must reach stdout while that request is still unanswered.
	const more = 6
	for i := range more {
		from := len(f.all())
		runCmd(t, false, "cat", "/etc/shadow")
		if _, ok := f.wait(from, 5*time.Second, isShadow); !ok {
			t.Fatalf("read %d: no stdout alert while the http endpoint is blocked\n%s", i, f.errText())
		}
		if n, inflight := e.state(); n != 1 || inflight != 1 {
			t.Fatalf("read %d: the endpoint has %d requests, %d in flight: the first one should still be blocked", i, n, inflight)
		}
	}
	if el := time.Since(blockedSince); el >= 10*time.Second {
		t.Fatalf("the stdout alerts took %s: the endpoint's first request may have ended meanwhile", el)
	}

	// The drops are reported: Falco's log line once, and the internal alert.
	drop, ok := f.wait(0, 5*time.Second, func(a *alert) bool {
		return a.Rule == "Falco internal: outputs queue drop" && a.field("output") == "http"
	})
	if !ok {
		t.Fatalf("no internal drop alert\n%s", f.errText())
	}
	if drop.Priority != "Critical" {
		t.Errorf("internal drop alert = %+v", drop)
	}
	if n, _ := strconv.Atoi(drop.field("n_drops")); n < 1 {
		t.Errorf("internal drop alert n_drops = %q", drop.field("n_drops"))
	}
	// At exit the blocked request is abandoned after output_timeout and
	// falco-run says so in its exit status.
	stderr, err := f.stop()
	if err != nil && !strings.Contains(stderr, "outputs did not drain before the close timeout") {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	if c := strings.Count(stderr, "Outputs queue out of memory. Drop event and continue on ... (output http"); c != 1 {
		t.Errorf("Falco's drop log line appears %d times, want 1\n%s", c, stderr)
	}
	m := regexp.MustCompile(`Output http: sent (\d+), dropped (\d+), failed (\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no http output counters at exit\n%s", stderr)
	}
	// At least the six reads' alerts minus the one the queue held (more,
	// with other matching activity on the machine and the drop alert).
	if dropped, _ := strconv.Atoi(m[2]); dropped < more-1 {
		t.Errorf("http dropped %d alerts, want at least %d\n%s", dropped, more-1, stderr)
	}

	// Falcosidekick's payload: the JSON alert, as stdout printed it (the
	// first read's, unless another process on this machine raised an
	// alert just before).
	e.mu.Lock()
	body, hdr := e.bodies[0], e.headers[0]
	e.mu.Unlock()
	var got alert
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("payload %q: %v", body, err)
	}
	same := false
	for _, a := range f.all() {
		same = same || (a.Output == got.Output && a.Rule == got.Rule && a.Priority == got.Priority)
	}
	if !same || got.Output == "" {
		t.Errorf("payload = %+v, not an alert of stdout (the first read's was %q)", got, first.Output)
	}
	var raw map[string]any
	json.Unmarshal(body, &raw)
	for _, k := range []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("payload has no %q: %s", k, body)
		}
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("User-Agent") != "falcosecurity/falco" || hdr.Get("X-Falcoc-Test") != "slow" {
		t.Errorf("headers = %v", hdr)
	}
}

// TestFileOutputReopen: with file_output kept open, moving the file away
// and sending SIGHUP (or SIGUSR1) makes falco-run write to a new file of
// the same name (log rotation); no alert is lost between the two.
func TestFileOutputReopen(t *testing.T) {
	requireLive(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "events.txt")
	f := startFalco(t, "-o", "file_output.enabled=true", "-o", "file_output.keep_alive=true", "-o", "file_output.filename="+name)
	countShadow := func(file string) int {
		b, _ := os.ReadFile(file)
		return strings.Count(string(b), `"rule":"`+shadowRule+`"`)
	}
	alertTo := func(file string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for countShadow(file) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no alert in %s\n%s", file, f.errText())
			}
			runCmd(t, false, "cat", "/etc/shadow")
			time.Sleep(200 * time.Millisecond)
		}
	}
	alertTo(name)
	for i, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1} {
		rotated := name + "." + strconv.Itoa(i+1)
		if err := os.Rename(name, rotated); err != nil {
			t.Fatal(err)
		}
		if err := f.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		alertTo(name) // a new file appears under the old name
		if countShadow(rotated) == 0 {
			t.Errorf("%s: the rotated file lost its alerts", sig)
		}
	}
	stderr, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	// Every stdout alert of the rule is in exactly one of the files.
	stdout := 0
	for _, a := range f.all() {
		if a.Rule == shadowRule {
			stdout++
		}
	}
	files := countShadow(name) + countShadow(name+".1") + countShadow(name+".2")
	if files != stdout {
		t.Errorf("%d alerts in the files, %d on stdout", files, stdout)
	}
}
