package containers

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// TestWatchDocker: a container docker reports as created is fetched before
// anyone asks for it, refetched when it starts, and forgotten when it is
// destroyed.
func TestWatchDocker(t *testing.T) {
	inspect := readTestdata(t, "docker-falcoc-probe.json")
	events := make(chan string, 8)
	var requests []string
	reqCh := make(chan string, 64)
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqCh <- r.URL.Path
		switch r.URL.Path {
		case "/events":
			if got := r.URL.Query().Get("filters"); got != `{"type":["container"]}` {
				t.Errorf("events filters = %q", got)
			}
			streamEvents(w, r, events)
		case "/containers/ddab144ade9615516cd53431954d0ffed7c0665991a455ee1b1ebc22f7ce68aa/json":
			w.Write(inspect)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	dir := t.TempDir()
	l := New(&Options{DockerSockets: []string{sock}, PodmanSockets: []string{dir + "/p.sock"}, ContainerdSockets: []string{dir + "/c.sock"}, CRISockets: []string{}})
	defer l.Close()

	ev := func(action string) string {
		b, _ := json.Marshal(map[string]any{
			"Type": "container", "Action": action,
			"Actor": map[string]any{"ID": full1, "Attributes": map[string]string{"name": "falcoc-probe"}},
		})
		return string(b)
	}
	waitFor := func(what string, cond func(Stats) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond(l.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stats %+v, requests %q", what, l.Stats(), requests)
			}
			select {
			case p := <-reqCh:
				requests = append(requests, p)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	events <- `{"Type":"network","Action":"connect","Actor":{"ID":"abc"}}`
	events <- ev("create")
	waitFor("fetch after create", func(s Stats) bool { return s.Found == 1 })
	c, ok := l.Container("ddab144ade96")
	if !ok || c.Name != "falcoc-probe" || !c.Privileged {
		t.Fatalf("Container after create event = %+v, %v", c, ok)
	}
	if st := l.Stats(); st.Misses != 0 || st.Events != 1 {
		t.Errorf("stats = %+v, want no miss and 1 container event", st)
	}
	events <- ev("start")
	waitFor("refetch after start", func(s Stats) bool { return s.Found == 2 })
	if c2, ok := l.Container("ddab144ade96"); !ok || c2 == c {
		t.Errorf("after start: %p, %v; want a new %p", c2, ok, c)
	}
	events <- ev("destroy")
	waitFor("destroy", func(s Stats) bool { return s.Events == 3 })
	// forget runs right after the event is counted; wait for the map.
	deadline := time.Now().Add(30 * time.Second)
	for {
		l.mu.Lock()
		_, cached := l.entries["ddab144ade96"]
		l.mu.Unlock()
		if !cached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("destroyed container still cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for len(reqCh) > 0 {
		requests = append(requests, <-reqCh)
	}
	want := []string{
		"/events",
		"/containers/" + full1 + "/json",
		"/containers/" + full1 + "/json",
	}
	// Image lookups (404 here) are not part of the comparison.
	var got []string
	for _, p := range requests {
		if p == "/events" || p == "/containers/"+full1+"/json" {
			got = append(got, p)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestWatchPodmanInspectFails: podman's inspect can answer 500 while a
// short-lived container's process exits. The container is then known by
// what its create event said (name and image), and fetched in full once
// it has died.
func TestWatchPodmanInspectFails(t *testing.T) {
	inspect := readTestdata(t, "docker-falcoc-probe.json")
	events := make(chan string, 8)
	var dead atomic.Bool
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			streamEvents(w, r, events)
		case "/containers/" + full1 + "/json":
			if !dead.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"cause":"no such process","message":"read /proc/17855/cgroup: no such process","response":500}`))
				return
			}
			w.Write(inspect)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	dir := t.TempDir()
	l := New(&Options{DockerSockets: []string{dir + "/d.sock"}, PodmanSockets: []string{sock}, ContainerdSockets: []string{dir + "/c.sock"}, CRISockets: []string{}})
	defer l.Close()
	ev := func(action string) string {
		b, _ := json.Marshal(map[string]any{
			"Type": "container", "Action": action,
			"Actor": map[string]any{"ID": full1, "Attributes": map[string]string{
				"name": "evtest", "image": "localhost/falcoc-busybox:latest", "podId": ""}},
		})
		return string(b)
	}
	waitFor := func(what string, cond func(Stats) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond(l.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stats %+v, last error %v", what, l.Stats(), l.LastError())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	events <- ev("create")
	waitFor("failed fetch after create", func(s Stats) bool { return s.Errors == 1 })
	c, ok := l.Container("ddab144ade96")
	want := &extract.Container{
		FullID: full1, ID: "ddab144ade96", Type: container.TypePodman, Name: "evtest",
		Image: "localhost/falcoc-busybox:latest", ImageRepository: "localhost/falcoc-busybox", ImageTag: "latest",
	}
	if !ok {
		t.Fatalf("Container after a failed fetch: not found; stats %+v", l.Stats())
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Container from the create event (-want +got):\n%s", diff)
	}
	dead.Store(true)
	events <- ev("died")
	waitFor("fetch after died", func(s Stats) bool { return s.Found == 1 })
	c, ok = l.Container("ddab144ade96")
	if !ok || c.Name != "falcoc-probe" || !c.Privileged {
		t.Errorf("Container after died = %+v, %v; want the full inspect", c, ok)
	}
}

// streamEvents serves a docker-style /events stream: each string sent on
// events is one line, until the request ends.
func streamEvents(w http.ResponseWriter, r *http.Request, events <-chan string) {
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for {
		select {
		case ev := <-events:
			w.Write([]byte(ev + "\n"))
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		}
	}
}
