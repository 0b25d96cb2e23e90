package containers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/extract"
)

// fakeBackend answers from a map and records the calls it gets.
type fakeBackend struct {
	name  string
	serve func(typ string) bool
	fetch func(ctx context.Context, id, typ string) (*extract.Container, error)

	mu    sync.Mutex
	calls []string
}

func (f *fakeBackend) Name() string { return f.name }

func (f *fakeBackend) Serves(typ string) bool {
	if f.serve == nil {
		return true
	}
	return f.serve(typ)
}

func (f *fakeBackend) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	f.mu.Lock()
	f.calls = append(f.calls, id+"/"+typ)
	f.mu.Unlock()
	return f.fetch(ctx, id, typ)
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func known(ids ...string) func(ctx context.Context, id, typ string) (*extract.Container, error) {
	return func(_ context.Context, id, _ string) (*extract.Container, error) {
		for _, k := range ids {
			if k == id {
				return &extract.Container{FullID: id, Name: "n-" + id}, nil
			}
		}
		return nil, fmt.Errorf("fake: %s: %w", id, ErrNotFound)
	}
}

const full1 = "ddab144ade9615516cd53431954d0ffed7c0665991a455ee1b1ebc22f7ce68aa"

func TestLookupPrefetchThenHit(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known(full1)}
	l := New(&Options{Backends: []Backend{b}})
	defer l.Close()

	l.Prefetch(full1, "docker")
	l.Prefetch(full1, "docker") // in flight or cached: no second fetch
	got, ok := l.Wait("ddab144ade96", 10*time.Second)
	if !ok {
		t.Fatalf("Wait: nothing; stats %+v, last error %v", l.Stats(), l.LastError())
	}
	want := &extract.Container{ID: "ddab144ade96", FullID: full1, Name: "n-" + full1, Type: "docker"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	again, ok := l.Container("ddab144ade96")
	if !ok || again != got {
		t.Errorf("Container after Wait = %p, %v; want the cached %p", again, ok, got)
	}
	if diff := cmp.Diff([]string{full1 + "/docker"}, b.Calls()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
	st := l.Stats()
	if st.Fetches != 1 || st.Found != 1 || st.Hits < 2 {
		t.Errorf("stats = %+v, want 1 fetch, 1 found, at least 2 hits", st)
	}
}

func TestLookupHostAndEmpty(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known()}
	l := New(&Options{Backends: []Backend{b}})
	defer l.Close()
	for _, id := range []string{"", "host"} {
		if c, ok := l.Container(id); ok || c != nil {
			t.Errorf("Container(%q) = %v, %v; want nil, false", id, c, ok)
		}
	}
	l.Prefetch("host", "host")
	l.Prefetch("", "docker")
	l.Prefetch(full1, "host")
	if st := l.Stats(); st.Fetches != 0 {
		t.Errorf("stats = %+v, want no fetch", st)
	}
}

func TestLookupBackendOrderAndTypes(t *testing.T) {
	dockerOnly := &fakeBackend{name: "d", serve: func(t string) bool { return t == "" || t == "docker" }, fetch: known()}
	any := &fakeBackend{name: "a", fetch: known(full1, "web")}
	l := New(&Options{Backends: []Backend{dockerOnly, any}})
	defer l.Close()

	// Unknown type: both asked, in order, with the short id.
	if _, ok := l.Wait("ddab144ade96", 10*time.Second); ok {
		t.Errorf("short id found, but the fake knows only the full id")
	}
	// A containerd name: the docker-only backend is skipped.
	l.Prefetch("web", "containerd")
	c, ok := l.Wait("web", 10*time.Second)
	if !ok || c.Name != "n-web" || c.Type != "containerd" || c.ID != "web" {
		t.Errorf("Wait(web) = %+v, %v", c, ok)
	}
	if diff := cmp.Diff([]string{"ddab144ade96/"}, dockerOnly.Calls()); diff != "" {
		t.Errorf("docker-only calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ddab144ade96/", "web/containerd"}, any.Calls()); diff != "" {
		t.Errorf("any calls (-want +got):\n%s", diff)
	}
}

func TestLookupNegativeCacheAndRetry(t *testing.T) {
	var mu sync.Mutex
	exists := false
	b := &fakeBackend{name: "fake", fetch: func(ctx context.Context, id, typ string) (*extract.Container, error) {
		mu.Lock()
		defer mu.Unlock()
		if !exists {
			return nil, errors.New("fake: socket hiccup")
		}
		return &extract.Container{FullID: id, Name: "late"}, nil
	}}
	l := New(&Options{Backends: []Backend{b}, RetryAfter: time.Minute})
	defer l.Close()
	var clock time.Time
	var clockMu sync.Mutex
	l.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }

	if _, ok := l.Wait("abc", 10*time.Second); ok {
		t.Fatal("found a container the backend does not have")
	}
	if err := l.LastError(); err == nil || err.Error() != "fake: socket hiccup" {
		t.Errorf("LastError = %v, want fake: socket hiccup", err)
	}
	mu.Lock()
	exists = true
	mu.Unlock()
	// Within RetryAfter: no new fetch.
	advance(30 * time.Second)
	if _, ok := l.Container("abc"); ok {
		t.Fatal("negative entry answered")
	}
	if n := len(b.Calls()); n != 1 {
		t.Fatalf("backend called %d times within RetryAfter, want 1", n)
	}
	// After RetryAfter: fetched again.
	advance(31 * time.Second)
	if c, ok := l.Wait("abc", 10*time.Second); !ok || c.Name != "late" {
		t.Fatalf("Wait after RetryAfter = %+v, %v", c, ok)
	}
	st := l.Stats()
	if st.Errors != 1 || st.NotFound != 1 || st.Found != 1 || st.Fetches != 2 {
		t.Errorf("stats = %+v, want 1 error, 1 not found, 1 found, 2 fetches", st)
	}
}

// TestLookupNeverBlocks: with every worker stuck in a backend that never
// answers and the queue full, Container still returns at once (were it to
// block, this test would hang instead of finishing), and the overflow is
// counted as dropped.
func TestLookupNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	b := &fakeBackend{name: "hang", fetch: func(ctx context.Context, id, typ string) (*extract.Container, error) {
		started.Done()
		<-release
		return nil, ErrNotFound
	}}
	// FirstWait off: the wait for a new container's first fetch is
	// bounded by it (see TestLookupFirstWait).
	l := New(&Options{Backends: []Backend{b}, Workers: 2, QueueSize: 4, Timeout: time.Hour, FirstWait: -1})
	defer l.Close()
	defer close(release)

	l.Container("c0")
	l.Container("c1")
	started.Wait() // both workers now hang
	for i := 2; i < 1000; i++ {
		if c, ok := l.Container(fmt.Sprintf("c%d", i)); ok {
			t.Fatalf("Container(c%d) = %+v, true", i, c)
		}
		l.Prefetch(fmt.Sprintf("%012x%052x", i, i), "docker")
	}
	st := l.Stats()
	if st.Fetches != 2+4 {
		t.Errorf("fetches = %d, want 6 (2 workers + queue of 4)", st.Fetches)
	}
	if st.Dropped != 2*998-4 {
		t.Errorf("dropped = %d, want %d", st.Dropped, 2*998-4)
	}
	// Wait gives up after its delay, it does not hang either.
	if _, ok := l.Wait("c0", time.Millisecond); ok {
		t.Error("Wait found a container in a hung fetch")
	}
}

func TestLookupTimeout(t *testing.T) {
	b := &fakeBackend{name: "slow", fetch: func(ctx context.Context, id, typ string) (*extract.Container, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("slow: %w", ctx.Err())
	}}
	l := New(&Options{Backends: []Backend{b}, Timeout: time.Millisecond})
	defer l.Close()
	if _, ok := l.Wait("x", 10*time.Second); ok {
		t.Fatal("found")
	}
	if err := l.LastError(); err == nil || err.Error() != "slow: context deadline exceeded" {
		t.Errorf("LastError = %v", err)
	}
}

func TestLookupEviction(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known("a", "b", "c")}
	l := New(&Options{Backends: []Backend{b}, CacheSize: 2, FirstWait: -1})
	defer l.Close()
	for _, id := range []string{"a", "b", "c"} {
		if _, ok := l.Wait(id, 10*time.Second); !ok {
			t.Fatalf("Wait(%s) failed", id)
		}
	}
	if st := l.Stats(); st.Evictions != 1 {
		t.Errorf("evictions = %d, want 1", st.Evictions)
	}
	// "a" was evicted: asking again fetches it again.
	if _, ok := l.Container("a"); ok {
		t.Error("evicted entry answered")
	}
	if _, ok := l.Wait("a", 10*time.Second); !ok {
		t.Error("refetch of a failed")
	}
	if diff := cmp.Diff([]string{"a/", "b/", "c/", "a/"}, b.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	l.mu.Lock()
	n := len(l.entries)
	l.mu.Unlock()
	if n != 2 {
		t.Errorf("%d entries cached, want 2", n)
	}
}

func TestLookupManyEvictionsStayBounded(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known()}
	l := New(&Options{Backends: []Backend{b}, CacheSize: 8, QueueSize: 1, Workers: 1})
	defer l.Close()
	for i := range 5000 {
		l.Container(fmt.Sprintf("id%d", i))
	}
	l.mu.Lock()
	n, order := len(l.entries), len(l.order)-l.head
	capOrder := len(l.order)
	l.mu.Unlock()
	if n > 8 || order > 8 || capOrder > 200 {
		t.Errorf("entries %d, live order %d, order slice %d: want at most 8, 8, 200", n, order, capOrder)
	}
}

func TestLookupPanickingBackend(t *testing.T) {
	bad := &fakeBackend{name: "bad", fetch: func(context.Context, string, string) (*extract.Container, error) {
		var m map[string]int
		m["x"]++ // panics
		return nil, nil
	}}
	nilAnswer := &fakeBackend{name: "nil", fetch: func(context.Context, string, string) (*extract.Container, error) {
		return nil, nil
	}}
	good := &fakeBackend{name: "good", fetch: known("x")}
	l := New(&Options{Backends: []Backend{bad, nilAnswer, good}})
	defer l.Close()
	c, ok := l.Wait("x", 10*time.Second)
	if !ok || c.Name != "n-x" {
		t.Fatalf("Wait = %+v, %v", c, ok)
	}
	if st := l.Stats(); st.Errors != 1 {
		t.Errorf("errors = %d, want 1", st.Errors)
	}
	if err := l.LastError(); err == nil || err.Error() != "bad: fetch x: panic: assignment to entry in nil map" {
		t.Errorf("LastError = %v", err)
	}
}

func TestLookupPrefetchAfterFailedShortLookup(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known(full1)}
	l := New(&Options{Backends: []Backend{b}, RetryAfter: time.Hour})
	defer l.Close()
	if _, ok := l.Wait("ddab144ade96", 10*time.Second); ok {
		t.Fatal("short id found")
	}
	// The full id is new information: fetched at once despite RetryAfter.
	l.Prefetch(full1, "docker")
	if _, ok := l.Wait("ddab144ade96", 10*time.Second); !ok {
		t.Fatalf("not found after Prefetch; calls %q", b.Calls())
	}
}

func TestLookupClose(t *testing.T) {
	b := &fakeBackend{name: "fake", fetch: known("x")}
	l := New(nil)
	l.opts.Backends = []Backend{b}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// After Close nothing is fetched, and nothing blocks.
	for i := range 300 {
		if _, ok := l.Container(fmt.Sprintf("x%d", i)); ok {
			t.Fatal("found after Close")
		}
	}
	if n := len(b.Calls()); n != 0 {
		t.Errorf("%d fetches after Close", n)
	}
}

// TestLookupFirstWait: the first Container call for a container not seen
// before waits for its fetch (so the first alert has the metadata); the
// wait is bounded by FirstWait over all calls, and spent once.
func TestLookupFirstWait(t *testing.T) {
	release := make(chan struct{})
	b := &fakeBackend{name: "fake", fetch: func(ctx context.Context, id, typ string) (*extract.Container, error) {
		if id == "hang" {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, ErrNotFound
		}
		time.Sleep(5 * time.Millisecond) // a socket round trip
		return &extract.Container{ID: id, FullID: id, Name: "n-" + id}, nil
	}}
	l := New(&Options{Backends: []Backend{b}, FirstWait: 50 * time.Millisecond, Timeout: time.Hour})
	defer l.Close()
	defer close(release)

	c, ok := l.Container("fast")
	if !ok || c.Name != "n-fast" {
		t.Fatalf("Container(fast) = %+v, %v: want the fetched container", c, ok)
	}
	if st := l.Stats(); st.Waits != 1 || st.WaitTimeouts != 0 || st.Hits != 1 || st.Misses != 0 {
		t.Errorf("stats %+v: want 1 wait, 1 hit", st)
	}
	// A fetch that does not end in time: one wait, then none.
	if _, ok := l.Container("hang"); ok {
		t.Fatal("hung fetch answered")
	}
	if _, ok := l.Container("hang"); ok {
		t.Fatal("hung fetch answered")
	}
	if st := l.Stats(); st.Waits != 2 || st.WaitTimeouts != 1 || st.Misses != 2 {
		t.Errorf("stats %+v: want 2 waits (1 timed out), 2 misses", st)
	}
}

// TestLookupWaitBudget: behind a runtime that never answers, a storm of
// new containers does not stall the caller for more than the wait budget
// (a second in a burst), however many there are.
func TestLookupWaitBudget(t *testing.T) {
	release := make(chan struct{})
	b := &fakeBackend{name: "hang", fetch: func(ctx context.Context, id, typ string) (*extract.Container, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, ErrNotFound
	}}
	l := New(&Options{Backends: []Backend{b}, FirstWait: 100 * time.Millisecond, Workers: 64, QueueSize: 1024, Timeout: time.Hour})
	defer l.Close()
	defer close(release)
	start := time.Now()
	for i := range 60 {
		if _, ok := l.Container(fmt.Sprintf("c%d", i)); ok {
			t.Fatal("hung fetch answered")
		}
	}
	stalled := time.Since(start)
	st := l.Stats()
	// A second of budget, 100ms per wait, plus what refilled meanwhile (a
	// tenth of the time spent, given to the last, shorter waits: how many
	// of those there are depends on the scheduler, so the count has no
	// upper bound here; the time stalled has).
	if st.Waits < 10 || st.WaitsSkipped != 60-st.Waits || st.WaitTimeouts != st.Waits {
		t.Errorf("stats %+v: want at least 10 waits, the other first fetches not waited for", st)
	}
	if stalled > 2*time.Second { // without the budget: 6 s
		t.Errorf("60 lookups stalled the caller %v: more than the 1 s budget and its refill", stalled)
	}
}
