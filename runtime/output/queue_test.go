package output

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// TestUnboundedQueue: capacity 0 is Falco's "no bound": a stalled channel
// keeps every alert queued and loses none.
func TestUnboundedQueue(t *testing.T) {
	gate := &gateChannel{entered: make(chan struct{}, 100000), release: make(chan struct{})}
	o := newOutputs(t, utcConfig(), gate)
	const n = 20000
	o.Send(testAlert(0))
	<-gate.entered
	for i := 1; i < n; i++ {
		o.Send(testAlert(i))
	}
	if st := o.Stats()[0]; st.Queued != n-1 || st.Dropped != 0 || st.Capacity != 0 {
		t.Errorf("stats while stalled = %+v, want %d queued, none dropped", st, n-1)
	}
	close(gate.release)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	wantStats(t, o, Stats{Name: "gate", Sent: n})
}

func TestQueueRing(t *testing.T) {
	q := newQueue(3)
	var items [5]shared
	for i := range 3 {
		if !q.push(&items[i]) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(&items[3]) {
		t.Fatal("push beyond the capacity accepted")
	}
	if s, _ := q.pop(); s != &items[0] {
		t.Fatal("pop: not the oldest")
	}
	q.push(&items[3])
	q.push(&items[4]) // refused: full again
	q.close()
	var got []*shared
	for {
		s, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, s)
	}
	if len(got) != 3 || got[0] != &items[1] || got[1] != &items[2] || got[2] != &items[3] {
		t.Errorf("drained %p, want items 1, 2, 3 (%p %p %p)", got, &items[1], &items[2], &items[3])
	}
	if q.push(&items[0]) {
		t.Error("push after close accepted")
	}
}

// TestDropAlert: a channel whose queue overflows gets Falco's log line
// once, and the internal alert reaches the other channels with the count.
func TestDropAlert(t *testing.T) {
	gate := &gateChannel{entered: make(chan struct{}, 100), release: make(chan struct{})}
	var out, log lockedBuffer
	cfg := utcConfig()
	cfg.QueueCapacity = 1
	cfg.DropAlertInterval = 20 * time.Millisecond
	cfg.Log = &log
	cfg.Hostname = "h"
	o := newOutputs(t, cfg, gate, NewStdout(&out, false))
	o.Send(testAlert(0))
	<-gate.entered // the gate holds alert 0, alert 1 is queued, 2..4 are dropped
	for i := 1; i < 5; i++ {
		o.Send(testAlert(i))
	}
	re := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{9}: Critical Falco internal: outputs queue drop\. 3 alerts dropped for output gate in the last 20ms\. \(n_drops="3" n_drops_total="3" output="gate" queue_capacity="1"\)$`)
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no internal drop alert on stdout:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate.release)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// stdout's queue (capacity 1 too) may overflow as well when its
	// worker lags: each output logs its first drop once.
	want := "falco-run: Outputs queue out of memory. Drop event and continue on ... (output gate, outputs_queue.capacity 1)\n"
	if c := strings.Count(log.String(), want); c != 1 {
		t.Errorf("log has the gate's line %d times, want 1:\n%s", c, log.String())
	}
	st := o.Stats()
	if st[0].Dropped < 3 || o.Dropped() != st[0].Dropped+st[1].Dropped {
		t.Errorf("Dropped() = %d, stats %+v", o.Dropped(), st)
	}
}

func TestFormatInternal(t *testing.T) {
	opts := utcOptions()
	fields := []InternalField{{"n_drops", String("3")}, {"n_evts", Uint(12)}, {"output", String(`a"b`)}}
	ts := int64(1_700_000_000_123_456_789)
	text := string(FormatInternalText(nil, ts, PriorityCritical, "Falco internal: x. 3 dropped.", fields, &opts))
	if want := `22:13:20.123456789: Critical Falco internal: x. 3 dropped. (n_drops="3" n_evts=12 output="a\"b")`; text != want {
		t.Errorf("text\n got %s\nwant %s", text, want)
	}
	js := string(FormatInternalJSON(nil, ts, PriorityCritical, "Falco internal: x", "Falco internal: x. 3 dropped.", "h", fields))
	want := `{"hostname":"h","output":"Falco internal: x. 3 dropped.","output_fields":{"n_drops":"3","n_evts":12,"output":"a\"b"},"priority":"Critical","rule":"Falco internal: x","source":"internal","time":"2023-11-14T22:13:20.123456789Z"}`
	if js != want {
		t.Errorf("json\n got %s\nwant %s", js, want)
	}
}

// TestAlertData: channels that want data get the alert's fields as
// Falco's gRPC output carries them.
func TestAlertData(t *testing.T) {
	a := testAlert(1)
	a.Tags = []string{"t1"}
	a.Fields = []Field{{Name: "proc.name", Value: String("cat")}, {Name: "proc.pid", Value: Int(7)},
		{Name: "container.id", Value: Missing()}, {Name: "proc.name", Value: String("dup")}}
	opts := utcOptions()
	d := alertData(a, &opts)
	want := &AlertData{Time: 1_000_000_000, Priority: PriorityWarning, Rule: "r", Source: "syscall", Hostname: "h",
		Tags: []string{"t1"}, Fields: map[string]string{"evt.time": "1000000000", "proc.name": "cat", "proc.pid": "7", "container.id": "null"}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// tlsEndpoint is an HTTPS server requiring a client certificate signed by
// the test CA; it records the requests' headers and answers "ok".
func tlsEndpoint(t *testing.T, c testutil.Certs) (*httptest.Server, func() []http.Header) {
	var mu sync.Mutex
	var hdrs []http.Header
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hdrs = append(hdrs, r.Header.Clone())
		mu.Unlock()
		w.Write([]byte("ok\n"))
	}))
	cert, err := tls.LoadX509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(c.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return append([]http.Header(nil), hdrs...)
	}
}

// TestHTTPTLSOptions posts to a real HTTPS server that requires a client
// certificate, with each way Falco's http_output names the trusted CA.
func TestHTTPTLSOptions(t *testing.T) {
	dir := t.TempDir()
	c := testutil.WriteCerts(t, dir)
	caDir := filepath.Join(dir, "cas")
	os.Mkdir(caDir, 0o755)
	pem, _ := os.ReadFile(c.CA)
	os.WriteFile(filepath.Join(caDir, "ca.pem"), pem, 0o644)
	srv, headers := tlsEndpoint(t, c)
	mtls := func(h HTTPConfig) HTTPConfig {
		h.URL, h.MTLS, h.ClientCert, h.ClientKey = srv.URL, true, c.ClientCert, c.ClientKey
		return h
	}
	for _, tc := range []struct {
		name    string
		cfg     HTTPConfig
		wantErr string
	}{
		{name: "ca_cert", cfg: mtls(HTTPConfig{CACert: c.CA, CABundle: c.OtherCA})},
		{name: "ca_bundle", cfg: mtls(HTTPConfig{CABundle: c.CA, CAPath: "/nonexistent"})},
		{name: "ca_path", cfg: mtls(HTTPConfig{CAPath: caDir})},
		{name: "insecure", cfg: mtls(HTTPConfig{Insecure: true})},
		{name: "other CA", cfg: mtls(HTTPConfig{CACert: c.OtherCA}), wantErr: "certificate signed by unknown authority"},
		{name: "ca_cert wins over a good bundle", cfg: mtls(HTTPConfig{CACert: c.OtherCA, CABundle: c.CA}), wantErr: "certificate signed by unknown authority"},
		{name: "no client certificate", cfg: HTTPConfig{URL: srv.URL, CACert: c.CA}, wantErr: "certificate required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := NewHTTP(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = ch.Write(context.Background(), &Message{Line: []byte("x")})
			ch.Close()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Write: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Write: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
	if len(headers()) != 4 {
		t.Errorf("server got %d requests, want 4", len(headers()))
	}
}

// TestHTTPRequestOptions: echo, compress_uploads (TE, as libcurl's
// CURLOPT_TRANSFER_ENCODING), custom headers, a quoted URL, and one
// connection reused for several alerts.
func TestHTTPRequestOptions(t *testing.T) {
	var mu sync.Mutex
	var hdrs []http.Header
	conns := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hdrs = append(hdrs, r.Header.Clone())
		conns[r.RemoteAddr] = true
		mu.Unlock()
		w.Write([]byte("answer;"))
	}))
	defer srv.Close()
	var echo bytes.Buffer
	ch, err := NewHTTP(HTTPConfig{URL: `"` + srv.URL + `"`, Echo: &echo, CompressUploads: true,
		Headers: map[string]string{"Authorization": "Bearer x", "X-Custom": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ch.Write(context.Background(), &Message{Line: []byte("x"), JSON: true}); err != nil {
			t.Fatal(err)
		}
	}
	ch.Close()
	if echo.String() != "answer;answer;answer;" {
		t.Errorf("echo = %q", echo.String())
	}
	mu.Lock()
	defer mu.Unlock()
	h := hdrs[0]
	if h.Get("Te") != "gzip" || h.Get("Authorization") != "Bearer x" || h.Get("X-Custom") != "1" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", h)
	}
	if len(conns) != 1 {
		t.Errorf("%d connections for 3 alerts, want 1 (reused)", len(conns))
	}
}

// TestHTTPTimeoutRetries: a request that times out is sent again up to
// max_consecutive_timeouts times.
func TestHTTPTimeoutRetries(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices the client leaving
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n%3 != 0 { // the first two of every three hang past the timeout
			select {
			case <-r.Context().Done():
			case <-quit:
			}
		}
	}))
	defer srv.Close()
	defer close(quit)
	for _, tc := range []struct {
		max     int
		wantErr bool
	}{{max: 2}, {max: 1, wantErr: true}} {
		mu.Lock()
		calls = 0
		mu.Unlock()
		ch, err := NewHTTP(HTTPConfig{URL: srv.URL, Timeout: 100 * time.Millisecond, MaxConsecutiveTimeouts: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		err = ch.Write(context.Background(), &Message{Line: []byte("x")})
		if (err != nil) != tc.wantErr {
			t.Errorf("max %d: Write = %v, want error %v", tc.max, err, tc.wantErr)
		}
		mu.Lock()
		if calls != tc.max+1 {
			t.Errorf("max %d: %d requests, want %d", tc.max, calls, tc.max+1)
		}
		mu.Unlock()
		ch.Close()
	}
}
