package web

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthz(t *testing.T) {
	var ready atomic.Bool
	s := start(t, Options{Address: "127.0.0.1:0", HealthzPath: "/live", Ready: ready.Load, Versions: []byte(`{"v":1}`),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "m 1\n") })})
	if code, body := fetch(t, s.URL()+"/live"); code != 503 || body != `{"status": "not ready"}` {
		t.Errorf("before ready: %d %s", code, body)
	}
	ready.Store(true)
	if code, body := fetch(t, s.URL()+"/live"); code != 200 || body != `{"status": "ok"}` {
		t.Errorf("ready: %d %s", code, body)
	}
	if code, _ := fetch(t, s.URL()+"/healthz"); code != 404 {
		t.Errorf("/healthz with k8s_healthz_endpoint /live: %d, want 404", code)
	}
	if code, body := fetch(t, s.URL()+"/versions"); code != 200 || body != `{"v":1}` {
		t.Errorf("/versions: %d %s", code, body)
	}
	if code, body := fetch(t, s.URL()+"/metrics"); code != 200 || body != "m 1\n" {
		t.Errorf("/metrics: %d %s", code, body)
	}
}

func TestListenErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Address: "127.0.0.1:0", HealthzPath: "healthz"}, `k8s_healthz_endpoint "healthz": must start with /`},
		{Options{Address: "127.0.0.1:0", TLS: true, CertFile: "/nonexistent.pem"}, "ssl_certificate: open /nonexistent.pem: no such file or directory"},
		{Options{Address: "127.0.0.1:0", TLS: true, CertFile: bad}, "ssl_certificate " + bad + ": tls: failed to find any PEM data in certificate input (the file holds the certificate and its private key)"},
		{Options{Address: "127.0.0.1:99999"}, "listen tcp: address 99999: invalid port"},
	}
	for _, tc := range tests {
		_, err := Listen(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %s", tc.o, err, tc.want)
		}
	}
}
