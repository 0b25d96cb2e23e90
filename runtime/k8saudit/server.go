package k8saudit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultOpenParams is the k8saudit plugin's default open_params: listen
// on every address, port 9765, path /k8s-audit.
const DefaultOpenParams = "http://:9765/k8s-audit"

// Defaults of [Options].
const (
	DefaultMaxBodyBytes = 12 << 20 // the plugin's webhookMaxBatchSize
	// DefaultQueueSize is how many accepted requests may wait for the
	// engine. With the API server's batching (a few hundred events per
	// request) that is tens of thousands of events.
	DefaultQueueSize = 64
)

// Options configure a [Server].
type Options struct {
	// Addr is the listen address, host:port (":9765").
	Addr string
	// Path is the URL path events are posted to ("/k8s-audit").
	Path string
	// MaxBodyBytes bounds a request body; a larger one is refused (413)
	// and counted as malformed. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// QueueSize bounds the requests decoded but not yet taken by the
	// engine; a request that finds the queue full is refused (503) and
	// its events are counted as dropped. 0 means DefaultQueueSize.
	QueueSize int
	// MaxEventBytes bounds one event (the plugin's maxEventSize); a
	// larger one is refused and counted as malformed. 0 means
	// DefaultMaxEventBytes.
	MaxEventBytes int
	// Logf, when set, is told why each body or event was refused (the
	// plugin logs the same messages).
	Logf func(format string, args ...any)
}

// ParseOpenParams reads the plugin's open_params, an http URL such as
// "http://:9765/k8s-audit", into Options.Addr and Options.Path. An empty
// string means [DefaultOpenParams].
func ParseOpenParams(s string) (Options, error) {
	if s == "" {
		s = DefaultOpenParams
	}
	u, err := url.Parse(s)
	if err != nil {
		return Options{}, fmt.Errorf("%q: %w", s, err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		return Options{}, fmt.Errorf("%q: https is not supported (no TLS certificate option): use http", s)
	default:
		return Options{}, fmt.Errorf("%q: want an http URL such as %s", s, DefaultOpenParams)
	}
	if u.Port() == "" {
		return Options{}, fmt.Errorf("%q: no port", s)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return Options{Addr: u.Host, Path: p}, nil
}

// Stats are the webhook's counters.
type Stats struct {
	// Events counts the audit events queued for the engine.
	Events uint64
	// Malformed counts the requests refused whole as not an audit Event
	// or EventList or not application/json (400) or too large (413), and the events of a request
	// refused alone (no stageTimestamp, too large, not of kind Event).
	Malformed uint64
	// Dropped counts the events of requests refused because the queue was
	// full (503) or the server was closing.
	Dropped uint64
}

// Server is the audit webhook. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	ln    net.Listener
	http  *http.Server
	queue chan []*Event

	events, malformed, dropped atomic.Uint64
}

// Listen opens the webhook's socket. Call [Server.Serve] to answer
// requests and [Server.Close] to stop.
func Listen(opts Options) (*Server, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Path == "" {
		opts.Path = "/"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("k8s audit webhook: %w", err)
	}
	s := &Server{opts: opts, ln: ln, queue: make(chan []*Event, opts.QueueSize)}
	mux := http.NewServeMux()
	mux.HandleFunc(opts.Path, s.handle)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // a client cannot hold a request open forever
		IdleTimeout:       2 * time.Minute,
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL returns the webhook's URL, for the API server's audit webhook
// configuration and tests.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + s.opts.Path }

// Events is the queue of decoded requests, one batch per request, in the
// order they were accepted. It is never closed.
func (s *Server) Events() <-chan []*Event { return s.queue }

// Serve answers requests until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops accepting requests and waits (up to ctx) for the ones in
// progress.
func (s *Server) Close(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{Events: s.events.Load(), Malformed: s.malformed.Load(), Dropped: s.dropped.Load()}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST audit events", http.StatusMethodNotAllowed)
		return
	}
	// As the plugin: the API server sends application/json.
	if !strings.Contains(r.Header.Get("Content-Type"), "application/json") {
		s.malformed.Add(1)
		s.logf("k8s audit: request from %s refused: wrong Content Type %q", r.RemoteAddr, r.Header.Get("Content-Type"))
		http.Error(w, "wrong Content Type", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.malformed.Add(1)
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", s.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		s.malformed.Add(1)
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	evs, refused, err := Decode(body, DecodeOptions{MaxEventBytes: s.opts.MaxEventBytes})
	if err != nil {
		s.malformed.Add(1)
		s.logf("k8s audit: request from %s refused: %v", r.RemoteAddr, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, e := range refused {
		s.malformed.Add(1)
		s.logf("k8s audit: event from %s refused: %v", r.RemoteAddr, e)
	}
	if len(evs) == 0 {
		if len(refused) > 0 {
			http.Error(w, errors.Join(refused...).Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	select {
	case s.queue <- evs:
		s.events.Add(uint64(len(evs)))
		w.WriteHeader(http.StatusOK)
	default:
		s.dropped.Add(uint64(len(evs)))
		http.Error(w, "event queue full: retry later", http.StatusServiceUnavailable)
	}
}
