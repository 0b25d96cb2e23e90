package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testAlert(i int) *Alert {
	return &Alert{
		Time:     int64(i) * 1_000_000_000,
		Rule:     "r",
		Priority: PriorityWarning,
		Source:   "syscall",
		Hostname: "h",
		Message:  fmt.Sprintf("alert %d", i),
	}
}

func textLines(n int) string {
	var s strings.Builder
	for i := range n {
		fmt.Fprintf(&s, "00:00:%02d.000000000: Warning alert %d\n", i, i)
	}
	return s.String()
}

func utcConfig() Config {
	o := utcOptions()
	return Config{Format: &o}
}

func newOutputs(t *testing.T, cfg Config, chans ...Channel) *Outputs {
	t.Helper()
	o, err := New(cfg, chans...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func sendAndClose(t *testing.T, o *Outputs, n int) {
	t.Helper()
	for i := range n {
		o.Send(testAlert(i))
	}
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func wantStats(t *testing.T, o *Outputs, want ...Stats) {
	t.Helper()
	if diff := cmp.Diff(want, o.Stats()); diff != "" {
		t.Errorf("Stats (-want +got)\n%s", diff)
	}
}

func TestStdout(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			var buf lockedBuffer
			o := newOutputs(t, utcConfig(), NewStdout(&buf, buffered))
			sendAndClose(t, o, 3)
			if diff := cmp.Diff(textLines(3), buf.String()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			wantWrites := 3
			if buffered {
				wantWrites = 1 // one flush at Close
			}
			if buf.writes != wantWrites {
				t.Errorf("writes = %d, want %d", buf.writes, wantWrites)
			}
			wantStats(t, o, Stats{Name: "stdout", Sent: 3})
		})
	}
}

func TestJSONToStdout(t *testing.T) {
	var buf lockedBuffer
	cfg := utcConfig()
	cfg.JSON = true
	cfg.Format.JSONIncludeOutputFieldsProperty = false
	o := newOutputs(t, cfg, NewStdout(&buf, false))
	sendAndClose(t, o, 1)
	want := `{"hostname":"h","output":"00:00:00.000000000: Warning alert 0","priority":"Warning","rule":"r","source":"syscall","tags":[],"time":"1970-01-01T00:00:00.000000000Z"}` + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestFile(t *testing.T) {
	for _, keepAlive := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep_alive=%v", keepAlive), func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "events.txt")
			if err := os.WriteFile(name, []byte("existing\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			o := newOutputs(t, utcConfig(), NewFile(FileConfig{Filename: name, KeepAlive: keepAlive}))
			sendAndClose(t, o, 2)
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("existing\n"+textLines(2), string(got)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			wantStats(t, o, Stats{Name: "file", Sent: 2})
		})
	}
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "events.txt")
	rotated := filepath.Join(dir, "events.txt.1")
	ch := NewFile(FileConfig{Filename: name, KeepAlive: true})
	o := utcOptions()
	write := func(i int) {
		t.Helper()
		line := FormatText(nil, testAlert(i), &o)
		if err := ch.Write(context.Background(), &Message{Line: line}); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	if err := os.Rename(name, rotated); err != nil {
		t.Fatal(err)
	}
	write(1) // still the old, renamed file
	ch.(Reopener).Reopen()
	write(2) // a new file
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(textLines(3), "\n")
	for file, want := range map[string]string{rotated: lines[0] + lines[1], name: lines[2]} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s (-want +got)\n%s", file, diff)
		}
	}
}

func TestFileError(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing-dir", "events.txt")
	var gotErr []string
	cfg := utcConfig()
	cfg.OnError = func(ch string, err error) { gotErr = append(gotErr, ch+": "+err.Error()) }
	o := newOutputs(t, cfg, NewFile(FileConfig{Filename: name}))
	sendAndClose(t, o, 1)
	msg := "open output file: open " + name + ": no such file or directory"
	wantStats(t, o, Stats{Name: "file", Failed: 1, LastError: msg})
	if diff := cmp.Diff([]string{"file: " + msg}, gotErr); diff != "" {
		t.Errorf("OnError (-want +got)\n%s", diff)
	}
}

func TestProgram(t *testing.T) {
	for _, keepAlive := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep_alive=%v", keepAlive), func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "out.txt")
			// With keep_alive one process sees every line; without, each
			// process sees one. The marker counts processes.
			prog := fmt.Sprintf("echo start >> %s; cat >> %s", name, name)
			o := newOutputs(t, utcConfig(), NewProgram(ProgramConfig{Program: prog, KeepAlive: keepAlive}))
			sendAndClose(t, o, 3)
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(textLines(3), "\n")
			want := "start\n" + lines[0] + "start\n" + lines[1] + "start\n" + lines[2]
			if keepAlive {
				want = "start\n" + textLines(3)
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			wantStats(t, o, Stats{Name: "program", Sent: 3})
		})
	}
}

func TestProgramFailure(t *testing.T) {
	o := newOutputs(t, utcConfig(), NewProgram(ProgramConfig{Program: "cat >/dev/null; exit 3"}))
	sendAndClose(t, o, 2)
	wantStats(t, o, Stats{Name: "program", Failed: 2, LastError: "output program: exit status 3"})
}

func TestProgramKeepAliveRespawn(t *testing.T) {
	// The program reads one line and exits; later writes fail with a broken
	// pipe once, then the channel starts a new process.
	name := filepath.Join(t.TempDir(), "out.txt")
	ch := NewProgram(ProgramConfig{Program: "head -n1 >> " + name, KeepAlive: true})
	defer ch.Close()
	var failures int
	for i := range 50 {
		line := []byte(fmt.Sprintf("line %d", i))
		if err := ch.Write(context.Background(), &Message{Line: line}); err != nil {
			failures++
			if !strings.HasPrefix(err.Error(), "write to output program: ") {
				t.Errorf("error = %q", err)
			}
		}
		time.Sleep(time.Millisecond) // let head exit between writes
	}
	if failures == 0 {
		t.Fatalf("no write failed although the program exits after one line")
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "\n"); n < 2 {
		t.Errorf("program ran %d times, want a respawn:\n%s", n, got)
	}
}

func TestHTTP(t *testing.T) {
	type req struct{ method, ctype, ua, body string }
	var mu sync.Mutex
	var reqs []req
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, req{r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), string(b)})
		st := status
		mu.Unlock()
		w.WriteHeader(st)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name   string
		json   bool
		ua     string
		status int
		want   []req
		stats  Stats
	}{
		{
			name:  "text",
			want:  []req{{"POST", "text/plain", "falcosecurity/falco", "00:00:00.000000000: Warning alert 0"}},
			stats: Stats{Name: "http", Sent: 1},
		},
		{
			name: "json custom agent",
			json: true,
			ua:   "me/1",
			want: []req{{"POST", "application/json", "me/1",
				`{"hostname":"h","output":"00:00:00.000000000: Warning alert 0","output_fields":{"evt.time":0},"priority":"Warning","rule":"r","source":"syscall","tags":[],"time":"1970-01-01T00:00:00.000000000Z"}`}},
			stats: Stats{Name: "http", Sent: 1},
		},
		{
			name:   "server error",
			status: http.StatusInternalServerError,
			want:   []req{{"POST", "text/plain", "falcosecurity/falco", "00:00:00.000000000: Warning alert 0"}},
			stats:  Stats{Name: "http", Failed: 1, LastError: "http output: 500 Internal Server Error"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			reqs = nil
			status = http.StatusOK
			if tc.status != 0 {
				status = tc.status
			}
			mu.Unlock()
			ch, err := NewHTTP(HTTPConfig{URL: srv.URL, UserAgent: tc.ua})
			if err != nil {
				t.Fatal(err)
			}
			cfg := utcConfig()
			cfg.JSON = tc.json
			o := newOutputs(t, cfg, ch)
			sendAndClose(t, o, 1)
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tc.want, reqs, cmp.AllowUnexported(req{})); diff != "" {
				t.Errorf("requests (-want +got)\n%s", diff)
			}
			wantStats(t, o, tc.stats)
		})
	}
}

func TestNewHTTPErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"no url", HTTPConfig{}, "http output: url is empty"},
		{"missing ca", HTTPConfig{URL: "https://x", CACert: filepath.Join(dir, "ca.pem")},
			"http output: read CA: open " + filepath.Join(dir, "ca.pem") + ": no such file or directory"},
		{"missing client cert", HTTPConfig{URL: "https://x", MTLS: true, ClientCert: filepath.Join(dir, "c.pem"), ClientKey: filepath.Join(dir, "k.pem")},
			"http output: load client certificate: open " + filepath.Join(dir, "c.pem") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHTTP(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSyslog(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Date(2026, 11, 6, 7, 8, 9, 0, time.UTC)
	ch := NewSyslog(SyslogConfig{Address: addr, Now: func() time.Time { return now }})
	o := newOutputs(t, utcConfig(), ch)
	a := testAlert(0)
	a.Priority = PriorityCritical
	o.Send(a)
	a.Priority = PriorityDebug
	o.Send(a)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 4096)
	for range 2 {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	pid := os.Getpid()
	want := []string{
		fmt.Sprintf("<10>Nov  6 07:08:09 falco[%d]: 00:00:00.000000000: Critical alert 0", pid),
		fmt.Sprintf("<15>Nov  6 07:08:09 falco[%d]: 00:00:00.000000000: Debug alert 0", pid),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	wantStats(t, o, Stats{Name: "syslog", Sent: 2})
}

func TestSyslogNoDaemon(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "nothing")
	o := newOutputs(t, utcConfig(), NewSyslog(SyslogConfig{Address: addr}))
	sendAndClose(t, o, 1)
	wantStats(t, o, Stats{Name: "syslog", NoReceiver: 1})
}

// gateChannel blocks every write until released.
type gateChannel struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gateChannel) Name() string { return "gate" }
func (g *gateChannel) Write(ctx context.Context, _ *Message) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g *gateChannel) Close() error { return nil }

func TestQueueOverflow(t *testing.T) {
	gate := &gateChannel{entered: make(chan struct{}, 100), release: make(chan struct{})}
	var buf lockedBuffer
	cfg := utcConfig()
	cfg.QueueCapacity = 2
	o := newOutputs(t, cfg, gate, NewStdout(&buf, false))
	o.Send(testAlert(0))
	<-gate.entered // the worker holds alert 0; the queue is empty
	for i := 1; i < 10; i++ {
		o.Send(testAlert(i)) // 1 and 2 fit, 3..9 are dropped for gate
	}
	close(gate.release)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// stdout may also drop when its worker lags; every alert is accounted for.
	st := o.Stats()
	if diff := cmp.Diff(Stats{Name: "gate", Sent: 3, Dropped: 7, Capacity: 2}, st[0]); diff != "" {
		t.Errorf("gate stats (-want +got)\n%s", diff)
	}
	if st[1].Sent+st[1].Dropped != 10 || st[1].Failed != 0 {
		t.Errorf("stdout stats = %+v, want sent+dropped = 10", st[1])
	}
	if got := strings.Count(buf.String(), "\n"); uint64(got) != st[1].Sent {
		t.Errorf("stdout has %d lines, stats say %d sent", got, st[1].Sent)
	}
}

func TestStalledChannels(t *testing.T) {
	// An HTTP server that never answers and a program that never exits:
	// Send must keep returning, the losses are counted, and Close gives up
	// after its timeout, aborting both.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	hc, err := NewHTTP(HTTPConfig{URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	cfg := utcConfig()
	cfg.QueueCapacity = 1
	cfg.CloseTimeout = 100 * time.Millisecond
	o := newOutputs(t, cfg, hc, NewProgram(ProgramConfig{Program: "sleep 30"}), NewStdout(&buf, false))
	const n = 200
	for i := range n {
		o.Send(testAlert(i))
	}
	err = o.Close()
	if !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want %v", err, ErrCloseTimeout)
	}
	for _, s := range o.Stats() {
		if s.Sent+s.Dropped+s.Failed != n {
			t.Errorf("%s: sent %d + dropped %d + failed %d != %d", s.Name, s.Sent, s.Dropped, s.Failed, n)
		}
		if s.Name != "stdout" && s.Dropped < n-2 {
			t.Errorf("%s: dropped %d, want at least %d", s.Name, s.Dropped, n-2)
		}
	}
	// Sending after Close counts a drop and does not panic.
	o.Send(testAlert(0))
	if got := o.Stats()[2].Dropped; got == 0 {
		t.Errorf("stdout dropped = 0 after Send on closed outputs")
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(Config{QueueCapacity: -1})
	if diff := cmp.Diff("outputs queue capacity -1: must not be negative", err.Error()); diff != "" {
		t.Error(diff)
	}
}

func BenchmarkSend(b *testing.B) {
	o, err := New(Config{QueueCapacity: 1 << 16}, NewStdout(io.Discard, true))
	if err != nil {
		b.Fatal(err)
	}
	a := sampleAlert(1795714795528217587, "cat", "cat /etc/shadow")
	b.ReportAllocs()
	for b.Loop() {
		o.Send(a)
	}
	if err := o.Close(); err != nil {
		b.Fatal(err)
	}
}

func TestOutputsReopen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "events.txt")
	gate := &gateChannel{entered: make(chan struct{}, 10), release: make(chan struct{})}
	close(gate.release)
	o := newOutputs(t, utcConfig(), NewFile(FileConfig{Filename: name, KeepAlive: true}), gate)
	o.Send(testAlert(0))
	<-gate.entered // alert 0 went through both workers' queues
	o.Send(testAlert(1))
	<-gate.entered
	// The file worker may still be writing alert 1; sync on it via Stats.
	for o.Stats()[0].Sent < 2 {
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(name, name+".1"); err != nil {
		t.Fatal(err)
	}
	o.Reopen() // the gate channel is no Reopener and is skipped
	o.Send(testAlert(2))
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(textLines(3), "\n")
	for file, want := range map[string]string{name + ".1": lines[0] + lines[1], name: lines[2]} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s (-want +got)\n%s", file, diff)
		}
	}
}
