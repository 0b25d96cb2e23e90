package k8saudit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// startServer listens on a free local port and serves until the test ends.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	s, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

type reply struct {
	Code int
	Body string
}

func post(t *testing.T, url, contentType, body string) reply {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, string(b)}
}

// event is an audit event with a verb.
func event(verb string) string {
	return `{"kind":"Event","auditID":"` + verb + `","verb":"` + verb + `","stageTimestamp":"2026-11-26T10:00:00Z"}`
}

func TestServer(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	s := startServer(t, Options{Path: "/k8s-audit", MaxBodyBytes: 1024, QueueSize: 2, Logf: func(f string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		msg := fmt.Sprintf(f, args...)
		logged = append(logged, msg[strings.LastIndex(msg, "refused: ")+len("refused: "):])
	}})
	url := s.URL()
	list := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + event("get") + `,` + event("list") + `]}`
	steps := []struct {
		name        string
		contentType string
		body        string
		want        reply
	}{
		{"list", "application/json", list, reply{200, ""}},
		{"broken", "application/json", `{"kind":"Event",`, reply{400, "malformed audit event: unexpected end of JSON input\n"}},
		{"not JSON content", "application/x-www-form-urlencoded", event("watch"), reply{400, "wrong Content Type\n"}},
		// Refused as the plugin refuses them, and counted.
		{"kind 0", "application/json", `{"kind": 0}`, reply{400, "data not recognized as a k8s audit event\n"}},
		{"no stageTimestamp", "application/json", `{"kind":"Event","auditID":"x","verb":"get"}`, reply{400, "can't read stageTimestamp\n"}},
		{"list item whose kind is not a string", "application/json", `{"kind":"EventList","items":[{"kind":["Event"],"stageTimestamp":"2026-11-26T10:00:00Z"},` + event("watch") + `]}`, reply{200, ""}},
		{"huge", "application/json", `{"kind":"Event","x":"` + strings.Repeat("a", 2000) + `"}`, reply{413, "request body larger than 1024 bytes\n"}},
		{"empty list", "application/json", `{"kind":"EventList","items":[]}`, reply{200, ""}},
		// The engine takes nothing: the queue of 2 requests is full.
		{"queue full", "application/json", event("patch"), reply{503, "event queue full: retry later\n"}},
		{"queue full with a list", "application/json", list, reply{503, "event queue full: retry later\n"}},
	}
	for _, st := range steps {
		if got := post(t, url, st.contentType, st.body); got != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	if d := cmp.Diff(Stats{Events: 3, Malformed: 6, Dropped: 3}, s.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	mu.Lock()
	wantLog := []string{"malformed audit event: unexpected end of JSON input", `wrong Content Type "application/x-www-form-urlencoded"`, "data not recognized as a k8s audit event",
		"can't read stageTimestamp", "items[0]: data not recognized as a k8s audit event"}
	if d := cmp.Diff(wantLog, logged); d != "" {
		t.Errorf("logged (-want +got):\n%s", d)
	}
	mu.Unlock()
	var verbs []string
	for range 2 {
		select {
		case evs := <-s.Events():
			for _, ev := range evs {
				verbs = append(verbs, extract(t, ev, "ka.verb"))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the queue holds less than 2 requests")
		}
	}
	if d := cmp.Diff([]string{`"get"`, `"list"`, `"watch"`}, verbs); d != "" {
		t.Errorf("queued events (-want +got):\n%s", d)
	}
	// Room again: accepted.
	if got := post(t, url, "application/json", list); got != (reply{200, ""}) {
		t.Errorf("after draining: %+v", got)
	}
}

func TestParseOpenParams(t *testing.T) {
	tests := []struct {
		in      string
		want    Options
		wantErr string
	}{
		{"", Options{Addr: ":9765", Path: "/k8s-audit"}, ""},
		{"http://:9765/k8s-audit", Options{Addr: ":9765", Path: "/k8s-audit"}, ""},
		{"http://127.0.0.1:8080", Options{Addr: "127.0.0.1:8080", Path: "/"}, ""},
		{"http://[::1]:80/audit", Options{Addr: "[::1]:80", Path: "/audit"}, ""},
		{"https://:9765/k8s-audit", Options{}, `"https://:9765/k8s-audit": https is not supported (no TLS certificate option): use http`},
		{":9765/k8s-audit", Options{}, `":9765/k8s-audit": parse ":9765/k8s-audit": missing protocol scheme`},
		{"file:///tmp/audit.json", Options{}, `"file:///tmp/audit.json": want an http URL such as http://:9765/k8s-audit`},
		{"http://localhost/k8s-audit", Options{}, `"http://localhost/k8s-audit": no port`},
	}
	for _, tc := range tests {
		got, err := ParseOpenParams(tc.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tc.wantErr {
			t.Errorf("ParseOpenParams(%q) error = %q, want %q", tc.in, gotErr, tc.wantErr)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ParseOpenParams(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestListenError(t *testing.T) {
	_, err := Listen(Options{Addr: "127.0.0.1:99999"})
	want := "k8s audit webhook: listen tcp: address 99999: invalid port"
	if err == nil || err.Error() != want {
		t.Errorf("Listen = %v, want %q", err, want)
	}
}
