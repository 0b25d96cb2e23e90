package output

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueCapacity is the per-channel queue bound used when
// outputs_queue.capacity is 0. Falco's 0 means unbounded; ours never is.
const DefaultQueueCapacity = 4096

// DefaultCloseTimeout bounds how long [Outputs.Close] waits for the queues to
// drain (Falco's output_timeout default is 2000 ms).
const DefaultCloseTimeout = 2 * time.Second

// Message is one formatted alert handed to a [Channel].
type Message struct {
	// Line is the formatted alert, text or JSON, without a newline. It is
	// shared between channels and only valid during [Channel.Write].
	Line     []byte
	Priority Priority
	// JSON reports whether Line is JSON.
	JSON bool
}

// Channel delivers formatted alerts somewhere. [Outputs] calls Write and
// Close from one goroutine per channel, never concurrently.
type Channel interface {
	// Name identifies the channel in [Stats], e.g. "file".
	Name() string
	// Write delivers one alert. ctx is cancelled when Close gives up.
	Write(ctx context.Context, m *Message) error
	// Close flushes and releases the channel.
	Close() error
}

// Reopener is implemented by channels that reopen their target on SIGUSR1.
// Reopen may be called from any goroutine.
type Reopener interface {
	Reopen()
}

// Config configures [New].
type Config struct {
	// Format is the formatting options; nil means [DefaultOptions].
	Format *Options
	// JSON selects JSON output (falco.yaml json_output).
	JSON bool
	// QueueCapacity bounds each channel's queue; 0 is
	// [DefaultQueueCapacity] (outputs_queue.capacity).
	QueueCapacity int
	// CloseTimeout bounds Close; 0 is [DefaultCloseTimeout].
	CloseTimeout time.Duration
	// OnError, if set, is called from the channel's goroutine for every
	// failed write. It must not block for long.
	OnError func(channel string, err error)
}

// Stats are one channel's counters.
type Stats struct {
	Name string
	// Sent counts alerts written successfully.
	Sent uint64
	// Dropped counts alerts not queued because the queue was full (or the
	// outputs were closed), plus those abandoned at Close.
	Dropped uint64
	// Failed counts writes that returned an error.
	Failed uint64
	// NoReceiver counts alerts a channel had nobody to give to (see
	// ErrNoReceiver): not failures, as syslog(3) does not fail when no
	// syslog daemon runs.
	NoReceiver uint64
	// LastError is the most recent write error, or "".
	LastError string
}

// Outputs fans alerts out to channels through bounded queues. Send, Stats and
// Reopen are safe for concurrent use; Close must be called once.
type Outputs struct {
	cfg    Config
	opts   Options
	chans  []*worker
	pool   sync.Pool
	mu     sync.RWMutex
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type worker struct {
	ch      Channel
	queue   chan *shared
	sent    atomic.Uint64
	dropped atomic.Uint64
	failed  atomic.Uint64
	nobody  atomic.Uint64
	lastErr atomic.Pointer[string]
}

// ErrNoReceiver is returned by a channel's Write when nobody listens where
// it writes (no syslog daemon): the alert is counted in
// Stats.NoReceiver, not as a failure.
var ErrNoReceiver = errors.New("no receiver")

// shared is a formatted alert referenced by every queue it was put on.
type shared struct {
	msg  Message
	refs atomic.Int32
}

// New starts one goroutine per channel. The Outputs owns the channels and
// closes them in [Outputs.Close].
func New(cfg Config, chans ...Channel) (*Outputs, error) {
	if cfg.QueueCapacity < 0 {
		return nil, fmt.Errorf("outputs queue capacity %d: must not be negative", cfg.QueueCapacity)
	}
	if cfg.QueueCapacity == 0 {
		cfg.QueueCapacity = DefaultQueueCapacity
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	o := &Outputs{cfg: cfg, opts: DefaultOptions()}
	if cfg.Format != nil {
		o.opts = *cfg.Format
	}
	o.pool.New = func() any { return &shared{msg: Message{Line: make([]byte, 0, 1024)}} }
	o.ctx, o.cancel = context.WithCancel(context.Background())
	for _, c := range chans {
		w := &worker{ch: c, queue: make(chan *shared, cfg.QueueCapacity)}
		o.chans = append(o.chans, w)
		o.wg.Add(1)
		go o.run(w)
	}
	return o, nil
}

// Send formats a and queues it on every channel. It never blocks: a channel
// whose queue is full loses the alert, and the loss is counted. a is not
// retained.
func (o *Outputs) Send(a *Alert) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		for _, w := range o.chans {
			w.dropped.Add(1)
		}
		return
	}
	if len(o.chans) == 0 {
		return
	}
	s := o.pool.Get().(*shared)
	if o.cfg.JSON {
		s.msg.Line = FormatJSON(s.msg.Line[:0], a, &o.opts)
	} else {
		s.msg.Line = FormatText(s.msg.Line[:0], a, &o.opts)
	}
	s.msg.Priority = a.Priority
	s.msg.JSON = o.cfg.JSON
	s.refs.Store(int32(len(o.chans)))
	for _, w := range o.chans {
		select {
		case w.queue <- s:
		default:
			w.dropped.Add(1)
			o.release(s)
		}
	}
}

func (o *Outputs) release(s *shared) {
	if s.refs.Add(-1) == 0 {
		if cap(s.msg.Line) <= 64<<10 {
			o.pool.Put(s)
		}
	}
}

func (o *Outputs) run(w *worker) {
	defer o.wg.Done()
	for s := range w.queue {
		if o.ctx.Err() != nil {
			w.dropped.Add(1)
			o.release(s)
			continue
		}
		err := w.ch.Write(o.ctx, &s.msg)
		o.release(s)
		if errors.Is(err, ErrNoReceiver) {
			w.nobody.Add(1)
			continue
		}
		if err != nil {
			o.fail(w, err)
			continue
		}
		w.sent.Add(1)
	}
}

func (o *Outputs) fail(w *worker, err error) {
	w.failed.Add(1)
	msg := err.Error()
	w.lastErr.Store(&msg)
	if o.cfg.OnError != nil {
		o.cfg.OnError(w.ch.Name(), err)
	}
}

// Reopen asks every channel that supports it (the file channel) to reopen
// its target before its next write, as Falco does on SIGUSR1.
func (o *Outputs) Reopen() {
	for _, w := range o.chans {
		if r, ok := w.ch.(Reopener); ok {
			r.Reopen()
		}
	}
}

// Stats returns the counters of every channel, in the order given to New.
func (o *Outputs) Stats() []Stats {
	out := make([]Stats, 0, len(o.chans))
	for _, w := range o.chans {
		s := Stats{Name: w.ch.Name(), Sent: w.sent.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load(),
			NoReceiver: w.nobody.Load()}
		if p := w.lastErr.Load(); p != nil {
			s.LastError = *p
		}
		out = append(out, s)
	}
	return out
}

// ErrCloseTimeout is returned by Close when channels did not drain in time.
var ErrCloseTimeout = errors.New("outputs did not drain before the close timeout")

// Close stops accepting alerts, waits up to the close timeout for the queues
// to drain, then cancels pending writes (killing programs, aborting HTTP
// requests), counts what was left as dropped and closes the channels.
func (o *Outputs) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	for _, w := range o.chans {
		close(w.queue)
	}
	o.mu.Unlock()

	var errs []error
	drained := o.waitOrCancel(func() { o.wg.Wait() })
	if !drained {
		errs = append(errs, ErrCloseTimeout)
	}
	// Closing flushes buffers and waits for kept-alive programs, which may
	// hang too: same bound.
	var cerrs []error
	var cmu sync.Mutex
	o.waitOrCancel(func() {
		for _, w := range o.chans {
			if err := w.ch.Close(); err != nil {
				cmu.Lock()
				cerrs = append(cerrs, fmt.Errorf("close %s output: %w", w.ch.Name(), err))
				cmu.Unlock()
			}
		}
	})
	o.cancel()
	cmu.Lock()
	errs = append(errs, cerrs...)
	cmu.Unlock()
	return errors.Join(errs...)
}

// waitOrCancel runs f and waits for it up to the close timeout. When f is
// not done by then, it cancels the channels' context (killing programs,
// aborting HTTP requests) and waits one more timeout: a writer stuck in a
// plain write(2) cannot be interrupted, so it is abandoned. It reports
// whether f finished within the first timeout.
func (o *Outputs) waitOrCancel(f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	timer := time.NewTimer(o.cfg.CloseTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
	}
	o.cancel()
	timer.Reset(o.cfg.CloseTimeout)
	select {
	case <-done:
	case <-timer.C:
	}
	return false
}
