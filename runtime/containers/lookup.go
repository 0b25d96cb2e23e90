package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// ErrNotFound is returned by a [Backend] that runs but does not know the
// container.
var ErrNotFound = errors.New("container not found")

// ErrUnavailable is returned by a [Backend] whose runtime is not running or
// not installed (no socket, no command).
var ErrUnavailable = errors.New("container runtime unavailable")

// Backend fetches the metadata of one container from one runtime.
// Implementations must honour ctx and be safe for concurrent use.
type Backend interface {
	// Name names the backend in errors ("docker", "podman", ...).
	Name() string
	// Serves reports whether the backend can know containers of the
	// given type (a container.type value; "" when the type is unknown).
	Serves(typ string) bool
	// Fetch returns the container with the given id (a full id, or a
	// 12-character prefix, or a containerd name). It returns an error
	// wrapping [ErrNotFound] or [ErrUnavailable] when it has no answer.
	Fetch(ctx context.Context, id, typ string) (*extract.Container, error)
}

// Options configure [New]. The zero value is usable: every field has a
// default.
type Options struct {
	// Backends are asked in order; nil means [DefaultBackends] with the
	// sockets below.
	Backends []Backend
	// DockerSockets are docker API sockets (default
	// /var/run/docker.sock): engines.docker.sockets of the container
	// plugin's init_config.
	DockerSockets []string
	// PodmanSockets are podman API sockets (default
	// /run/podman/podman.sock and every /run/user/<uid>/podman/podman.sock
	// present at start, served by `podman system service` or
	// podman.socket): engines.podman.sockets.
	PodmanSockets []string
	// ContainerdSockets are containerd sockets for containers made
	// without CRI (ctr, nerdctl; default /run/containerd/containerd.sock):
	// engines.containerd.sockets.
	ContainerdSockets []string
	// ContainerdNamespaces are searched for containerd containers
	// (default "default", "k8s.io").
	ContainerdNamespaces []string
	// CRISockets are CRI (v1, gRPC) sockets (default
	// /run/containerd/containerd.sock, /run/crio/crio.sock,
	// /run/k3s/containerd/containerd.sock,
	// /run/host-containerd/containerd.sock): engines.cri.sockets.
	CRISockets []string
	// HostRoot is prefixed to every socket path (falco-run in a container
	// with the host's / mounted at HostRoot; the HOST_ROOT variable).
	HostRoot string
	// Workers is the number of concurrent fetches (default 2).
	Workers int
	// QueueSize bounds the fetches waiting for a worker (default 256);
	// requests beyond it are dropped and retried later.
	QueueSize int
	// CacheSize bounds the number of containers kept (default 4096); the
	// oldest entries are evicted first.
	CacheSize int
	// Timeout bounds one fetch from one backend (default 5s).
	Timeout time.Duration
	// RetryAfter is how long a failed lookup is remembered before the
	// next attempt (default 10s).
	RetryAfter time.Duration
	// FirstWait bounds how long [Lookup.Container] waits, in total and
	// once per container, for the first fetch of a container it has not
	// seen before (default 250ms; negative: never wait). All such waits
	// together take at most a tenth of the time, in bursts up to a
	// second ([Stats.WaitsSkipped] counts the others). It is what lets
	// the alert on a container's first exec carry its metadata when no
	// runtime event announced the container; a container announced by
	// its runtime's create event is usually cached before then.
	FirstWait time.Duration
	// NoWatch turns off following the runtimes' container events. By
	// default, when Backends is nil, the Lookup follows docker's and
	// podman's event streams on their sockets: a container is fetched
	// when it is created, before its first process runs, and again when
	// it starts (for its address).
	NoWatch bool
}

// Default sockets, as Falco's container plugin has them.
var (
	DefaultDockerSockets     = []string{"/var/run/docker.sock"}
	DefaultPodmanSockets     = []string{"/run/podman/podman.sock"}
	DefaultContainerdSockets = []string{"/run/containerd/containerd.sock"}
	DefaultCRISockets        = []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock",
		"/run/k3s/containerd/containerd.sock", "/run/host-containerd/containerd.sock"}
)

func (o *Options) withDefaults() Options {
	r := *o
	if r.DockerSockets == nil {
		r.DockerSockets = DefaultDockerSockets
	}
	if r.PodmanSockets == nil {
		// root's, and each user's (rootless podman), as Falco's plugin.
		r.PodmanSockets = slices.Clone(DefaultPodmanSockets)
		users, _ := filepath.Glob(filepath.Join("/", r.HostRoot, "/run/user/*/podman/podman.sock"))
		for _, u := range users {
			if r.HostRoot != "" {
				u = strings.TrimPrefix(u, filepath.Clean(r.HostRoot))
			}
			r.PodmanSockets = append(r.PodmanSockets, u)
		}
	}
	if r.ContainerdSockets == nil {
		r.ContainerdSockets = DefaultContainerdSockets
	}
	if r.CRISockets == nil {
		r.CRISockets = DefaultCRISockets
	}
	if r.HostRoot != "" {
		for _, l := range []*[]string{&r.DockerSockets, &r.PodmanSockets, &r.ContainerdSockets, &r.CRISockets} {
			rooted := make([]string, len(*l))
			for i, s := range *l {
				rooted[i] = filepath.Join(r.HostRoot, s)
			}
			*l = rooted
		}
		r.HostRoot = ""
	}
	if r.ContainerdNamespaces == nil {
		r.ContainerdNamespaces = []string{"default", "k8s.io"}
	}
	if r.Workers <= 0 {
		r.Workers = 2
	}
	if r.QueueSize <= 0 {
		r.QueueSize = 256
	}
	if r.CacheSize <= 0 {
		r.CacheSize = 4096
	}
	if r.Timeout <= 0 {
		r.Timeout = 5 * time.Second
	}
	if r.RetryAfter <= 0 {
		r.RetryAfter = 10 * time.Second
	}
	if r.FirstWait == 0 {
		r.FirstWait = 250 * time.Millisecond
	}
	if r.Backends == nil {
		r.Backends = defaultBackends(&r)
	} else {
		r.NoWatch = true
	}
	return r
}

// DefaultBackends returns the backends [New] uses when
// [Options.Backends] is nil: docker's sockets, podman's, CRI, containerd.
func DefaultBackends(o *Options) []Backend {
	c := *o
	c.Backends = []Backend{}
	d := c.withDefaults()
	return defaultBackends(&d)
}

func defaultBackends(o *Options) []Backend {
	var bs []Backend
	for _, s := range o.DockerSockets {
		bs = append(bs, NewDocker(s))
	}
	for _, s := range o.PodmanSockets {
		bs = append(bs, NewPodman(s))
	}
	if len(o.CRISockets) > 0 {
		bs = append(bs, NewCRI(o.CRISockets))
	}
	for _, s := range o.ContainerdSockets {
		bs = append(bs, NewContainerd(s, o.ContainerdNamespaces))
	}
	return bs
}

// Stats counts what a [Lookup] did. All counters only grow.
type Stats struct {
	Hits      uint64 // Container calls answered from the cache
	Misses    uint64 // Container calls that found nothing cached
	Fetches   uint64 // fetches started
	Found     uint64 // fetches that returned metadata
	NotFound  uint64 // fetches that no backend could answer
	Errors    uint64 // backend errors other than not-found/unavailable
	Dropped   uint64 // fetches dropped because the queue was full
	Evictions uint64 // cache entries evicted to stay within CacheSize
	Events    uint64 // docker and podman container events received
	// Waits counts Container calls that waited for a new container's
	// first fetch (see [Options.FirstWait]); WaitTimeouts those that gave
	// up without metadata.
	Waits        uint64
	WaitTimeouts uint64
	// WaitsSkipped counts first fetches not waited for because waiting
	// had used its share of time (a tenth, in bursts up to a second).
	WaitsSkipped uint64
}

type entryState uint8

const (
	statePending entryState = iota
	stateDone               // ctr is set
	stateFailed             // failedAt is set
)

type entry struct {
	key    string // container.id
	fullID string // container.full_id, "" when not known yet
	typ    string // container.type, "" when not known yet
	state  entryState
	ctr    *extract.Container
	// hint is what the runtime's create event said (name, image), given
	// when a fetch fails or a first-event wait runs out; partial marks a
	// ctr that is only the hint, fetched again after partialRetry.
	hint     *extract.Container
	partial  bool
	failedAt time.Time
	done     chan struct{} // closed when the fetch in flight ends
	// waitUntil ends the time Container may wait for this entry's first
	// fetch (see Options.FirstWait), counted from the first Container
	// call that found it pending; waitSpent is set once it has passed.
	waitUntil time.Time
	waitSpent bool
}

type request struct {
	e       *entry
	id, typ string
}

// Lookup is an asynchronous, cached [extract.ContainerLookup]. Its
// methods are safe for concurrent use. The *extract.Container values it
// returns are shared and must not be modified.
type Lookup struct {
	opts  Options
	now   func() time.Time
	queue chan request

	mu      sync.Mutex
	entries map[string]*entry
	order   []string // keys in insertion order, for eviction
	head    int      // index of the oldest key in order
	lastErr error
	// budget is what waiting may still take (see waitBudget).
	budget   time.Duration
	budgetAt time.Time

	hits, misses, fetches, found, notFound, errs, dropped, evictions, events atomic.Uint64
	waits, waitTimeouts, waitsSkipped                                        atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

var _ extract.ContainerLookup = (*Lookup)(nil)

// New starts a Lookup and its workers. opts may be nil. Close it when done.
func New(opts *Options) *Lookup {
	if opts == nil {
		opts = &Options{}
	}
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lookup{
		opts:    o,
		now:     time.Now,
		queue:   make(chan request, o.QueueSize),
		entries: make(map[string]*entry),
		ctx:     ctx,
		cancel:  cancel,
	}
	for range o.Workers {
		l.wg.Add(1)
		go l.worker()
	}
	if !o.NoWatch {
		for _, s := range o.DockerSockets {
			l.wg.Add(1)
			go l.watchEvents(newAPIClient(s), container.TypeDocker)
		}
		for _, s := range o.PodmanSockets {
			l.wg.Add(1)
			go l.watchEvents(newAPIClient(s), container.TypePodman)
		}
		for _, s := range o.CRISockets {
			l.wg.Add(1)
			go l.watchCRI(s)
		}
		// containerd's events, on every socket that may be containerd's.
		seen := map[string]bool{}
		for _, s := range append(slices.Clone(o.ContainerdSockets), o.CRISockets...) {
			if !seen[s] {
				seen[s] = true
				l.wg.Add(1)
				go l.watchContainerd(s, o.ContainerdNamespaces)
			}
		}
	}
	return l
}

// Close stops the workers, abandoning fetches in flight, and waits for
// them. Lookups after Close answer from the cache only.
func (l *Lookup) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
		for _, b := range l.opts.Backends {
			if c, ok := b.(io.Closer); ok {
				c.Close()
			}
		}
	})
	return nil
}

// Container returns the cached metadata of the container whose
// container.id is id. When nothing is cached it queues a fetch (unless
// one is in flight, or a failed one is younger than [Options.RetryAfter])
// and returns (nil, false). The only wait is for a container whose first
// fetch is in flight: it is waited for, up to [Options.FirstWait] in all
// (from the first call that finds it pending, summed over every call), so
// that the alert on the container's first event carries its metadata as
// Falco's does; after that a miss returns at once.
func (l *Lookup) Container(id string) (*extract.Container, bool) {
	if id == "" || id == container.HostID {
		return nil, false
	}
	l.mu.Lock()
	e := l.entries[id]
	if e != nil && e.ctr != nil {
		c := e.ctr
		if e.partial && e.state == stateFailed && l.now().Sub(e.failedAt) >= partialRetry {
			l.schedule(e)
		}
		l.mu.Unlock()
		l.hits.Add(1)
		return c, true
	}
	if e == nil {
		e = l.insert(id)
		l.schedule(e)
	} else if e.state == stateFailed && l.now().Sub(e.failedAt) >= l.opts.RetryAfter {
		l.schedule(e)
	}
	var done chan struct{}
	var left time.Duration
	if e.state == statePending && !e.waitSpent && l.opts.FirstWait > 0 {
		now := l.now()
		if e.waitUntil.IsZero() {
			e.waitUntil = now.Add(l.opts.FirstWait)
		}
		left = min(e.waitUntil.Sub(now), l.waitBudget(now))
		if left > 0 {
			done = e.done
		} else if e.waitUntil.After(now) {
			l.waitsSkipped.Add(1)
		}
	}
	hint := e.hint
	l.mu.Unlock()
	if done == nil && hint != nil {
		l.hits.Add(1)
		return hint, true
	}
	if done != nil {
		l.waits.Add(1)
		start := time.Now()
		t := time.NewTimer(left)
		select {
		case <-done:
		case <-t.C:
		case <-l.ctx.Done():
		}
		t.Stop()
		l.mu.Lock()
		l.budget -= time.Since(start)
		c := e.ctr
		if c == nil {
			e.waitSpent = true
			c = e.hint
		}
		l.mu.Unlock()
		if c != nil {
			l.hits.Add(1)
			return c, true
		}
		l.waitTimeouts.Add(1)
	}
	l.misses.Add(1)
	return nil, false
}

// Prefetch starts fetching the metadata of a container the engine has just
// seen, identified by its container.full_id and container.type (as the
// cgroup parser gives them). It never blocks and does nothing for host
// processes or containers already cached or being fetched.
func (l *Lookup) Prefetch(fullID, typ string) {
	if fullID == "" || fullID == container.HostID || typ == container.TypeHost {
		return
	}
	key := shortID(fullID)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		e = l.insert(key)
		e.fullID, e.typ = fullID, typ
		l.schedule(e)
		return
	}
	if e.fullID == "" {
		// Learnt more than a bare Container(id) call knew: retry now
		// with it if the last attempt failed.
		e.fullID, e.typ = fullID, typ
		if e.state == stateFailed {
			l.schedule(e)
		}
	}
}

// refresh fetches a container again (or for the first time) without
// dropping what is cached meanwhile.
func (l *Lookup) refresh(fullID, typ string) { l.refreshHint(fullID, typ, nil) }

// partialRetry is how soon a container known only from its create
// event's hint is fetched again.
const partialRetry = time.Second

// refreshHint is refresh with what the runtime's event said about the
// container (may be nil): it answers for the container when the fetch
// fails (podman's inspect can fail while a short-lived container exits)
// or is slower than the first-event wait.
func (l *Lookup) refreshHint(fullID, typ string, hint *extract.Container) {
	key := shortID(fullID)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	fresh := e == nil
	if fresh {
		e = l.insert(key)
	}
	if hint != nil {
		hint.FullID, hint.ID, hint.Type = fullID, key, typ
		e.hint = hint
	}
	if !fresh && e.state == statePending {
		return
	}
	e.fullID, e.typ = fullID, typ
	l.schedule(e)
}

// forget drops a container from the cache.
func (l *Lookup) forget(fullID string) {
	key := shortID(fullID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil && e.state != statePending {
		delete(l.entries, key)
	}
}

// Wait is [Lookup.Container] that waits up to d for a fetch in flight (or
// one it starts) to end. It is meant for tests; the event path must use
// Container.
func (l *Lookup) Wait(id string, d time.Duration) (*extract.Container, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if c, ok := l.Container(id); ok {
			return c, true
		}
		l.mu.Lock()
		e := l.entries[id]
		var done chan struct{}
		if e != nil && e.state == statePending {
			done = e.done
		}
		l.mu.Unlock()
		if done == nil {
			return nil, false
		}
		select {
		case <-done:
		case <-deadline.C:
			return nil, false
		}
	}
}

// Stats returns the counters.
func (l *Lookup) Stats() Stats {
	return Stats{
		Hits: l.hits.Load(), Misses: l.misses.Load(), Fetches: l.fetches.Load(),
		Found: l.found.Load(), NotFound: l.notFound.Load(), Errors: l.errs.Load(),
		Dropped: l.dropped.Load(), Evictions: l.evictions.Load(), Events: l.events.Load(),
		Waits: l.waits.Load(), WaitTimeouts: l.waitTimeouts.Load(), WaitsSkipped: l.waitsSkipped.Load(),
	}
}

// LastError returns the last backend error other than not-found or
// unavailable, or nil.
func (l *Lookup) LastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// Waiting for first fetches may take at most waitShare of the engine's
// time, with bursts up to maxWaitBudget: a storm of new containers behind
// a slow runtime must not stall the event path.
const (
	waitShare     = 10 // 1/10: 100ms per second
	maxWaitBudget = time.Second
)

// waitBudget refills and returns the time Container may still spend
// waiting. l.mu is held.
func (l *Lookup) waitBudget(now time.Time) time.Duration {
	if l.budgetAt.IsZero() {
		l.budget = maxWaitBudget
	} else if d := now.Sub(l.budgetAt); d > 0 {
		l.budget = min(maxWaitBudget, l.budget+d/waitShare)
	}
	l.budgetAt = now
	return l.budget
}

// insert adds an entry for key, evicting the oldest beyond CacheSize.
// l.mu is held.
func (l *Lookup) insert(key string) *entry {
	for len(l.entries) >= l.opts.CacheSize && l.head < len(l.order) {
		old := l.order[l.head]
		l.order[l.head] = ""
		l.head++
		if _, ok := l.entries[old]; ok {
			delete(l.entries, old)
			l.evictions.Add(1)
		}
	}
	// Compact the order slice once its dead prefix dominates.
	if l.head > len(l.order)/2 && l.head > 64 {
		l.order = append(l.order[:0], l.order[l.head:]...)
		l.head = 0
	}
	e := &entry{key: key}
	l.entries[key] = e
	l.order = append(l.order, key)
	return e
}

// schedule queues a fetch for e without blocking. l.mu is held.
func (l *Lookup) schedule(e *entry) {
	e.state = statePending
	e.done = make(chan struct{})
	id := e.fullID
	if id == "" {
		id = e.key
	}
	select {
	case l.queue <- request{e: e, id: id, typ: e.typ}:
		l.fetches.Add(1)
	default:
		l.dropped.Add(1)
		// Let the next Container call try again.
		e.state = stateFailed
		e.failedAt = l.now().Add(-l.opts.RetryAfter)
		close(e.done)
	}
}

func (l *Lookup) worker() {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			return
		case r := <-l.queue:
			c, err := l.fetch(r.id, r.typ)
			l.mu.Lock()
			switch {
			case c != nil:
				r.e.ctr, r.e.state, r.e.partial = c, stateDone, false
			case r.e.ctr != nil && !r.e.partial:
				r.e.state = stateDone // a failed refresh keeps what was known
			case r.e.hint != nil:
				// Answer with the event's hint; fetch again later.
				r.e.ctr, r.e.partial = r.e.hint, true
				r.e.state, r.e.failedAt = stateFailed, l.now()
			default:
				r.e.state, r.e.failedAt = stateFailed, l.now()
			}
			if err != nil {
				l.lastErr = err
			}
			close(r.e.done)
			l.mu.Unlock()
		}
	}
}

// fetch asks each backend that serves typ, in order, until one answers. It
// returns the last error that was neither not-found nor unavailable.
func (l *Lookup) fetch(id, typ string) (*extract.Container, error) {
	var lastErr error
	for _, b := range l.opts.Backends {
		if !b.Serves(typ) {
			continue
		}
		ctx, cancel := context.WithTimeout(l.ctx, l.opts.Timeout)
		c, err := safeFetch(ctx, b, id, typ)
		cancel()
		if err == nil && c != nil {
			if c.ID == "" {
				c.ID = shortID(c.FullID)
			}
			if typ != "" && (typ != container.TypeCRI || c.Type == "") {
				// The cgroup layout decides container.type, except for
				// Kubernetes' layout, which does not tell the runtime:
				// then the CRI runtime's name does.
				c.Type = typ
			}
			l.found.Add(1)
			return c, lastErr
		}
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnavailable) {
			l.errs.Add(1)
			lastErr = err
		}
		if l.ctx.Err() != nil {
			break
		}
	}
	l.notFound.Add(1)
	return nil, lastErr
}

// safeFetch calls b.Fetch and turns a panic into an error, so that a
// broken backend cannot stop a worker.
func safeFetch(ctx context.Context, b Backend, id, typ string) (c *extract.Container, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%s: fetch %s: panic: %v", b.Name(), id, r)
		}
	}()
	c, err = b.Fetch(ctx, id, typ)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// refetchPartial fetches again a container known only from its event's
// hint, or whose last fetch failed.
func (l *Lookup) refetchPartial(fullID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[shortID(fullID)]
	if e != nil && e.state == stateFailed && (e.partial || e.ctr == nil) {
		if e.fullID == "" {
			e.fullID = fullID
		}
		l.schedule(e)
	}
}
