package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCloseTimeout bounds how long [Outputs.Close] waits for the queues to
// drain (Falco's output_timeout default is 2000 ms).
const DefaultCloseTimeout = 2 * time.Second

// DefaultDropAlertInterval is how often, at most, [Outputs] raises its
// internal alert about alerts an output's full queue dropped.
const DefaultDropAlertInterval = time.Second

// DropAlertRule is the rule name of the internal alert that reports drops.
const DropAlertRule = "Falco internal: outputs queue drop"

// Message is one formatted alert handed to a [Channel].
type Message struct {
	// Line is the formatted alert, text or JSON, without a newline. It is
	// shared between channels and only valid during [Channel.Write].
	Line     []byte
	Priority Priority
	// JSON reports whether Line is JSON.
	JSON bool
	// Data is the alert as data, set only when a channel implements
	// [DataChannel] (the gRPC output); read-only and shared.
	Data *AlertData
}

// AlertData is an alert as structured data, for channels that send fields
// rather than a line (Falco's gRPC outputs response).
type AlertData struct {
	// Time is the event time in nanoseconds since the epoch.
	Time     int64
	Priority Priority
	Rule     string
	// Source is "syscall", "k8s_audit", or "internal" for internal alerts.
	Source   string
	Hostname string
	Tags     []string
	// Fields are output_fields as Falco's gRPC output carries them:
	// strings as they are, other values as their JSON text (a missing
	// value is "null"), including the prefix time field.
	Fields map[string]string
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

// DataChannel is implemented by channels that need [Message.Data].
type DataChannel interface {
	Channel
	WantsData() bool
}

// DropReporter is implemented by channels that can lose alerts after
// Write returned (the gRPC server's per-client buffers).
type DropReporter interface {
	ChannelDropped() uint64
}

// Reopener is implemented by channels that reopen their target on SIGHUP or
// SIGUSR1 (log rotation). Reopen may be called from any goroutine.
type Reopener interface {
	Reopen()
}

// Config configures [New].
type Config struct {
	// Format is the formatting options; nil means [DefaultOptions].
	Format *Options
	// JSON selects JSON output (falco.yaml json_output).
	JSON bool
	// QueueCapacity bounds each channel's queue (outputs_queue.capacity);
	// 0 is no bound, as in Falco. When a queue is full the alert is
	// dropped for that channel only and counted.
	QueueCapacity int
	// CloseTimeout bounds Close; 0 is [DefaultCloseTimeout].
	CloseTimeout time.Duration
	// OnError, if set, is called from the channel's goroutine for every
	// failed write. It must not block for long.
	OnError func(channel string, err error)
	// Log receives Falco's log line at the first drop of each channel
	// ("Outputs queue out of memory. Drop event and continue on ...");
	// nil discards it.
	Log io.Writer
	// Hostname is carried by internal alerts.
	Hostname string
	// DropAlertInterval is how often, at most, the internal alert
	// [DropAlertRule] is raised for a channel that dropped alerts since
	// the last one; 0 is [DefaultDropAlertInterval], negative turns the
	// alert off (the counters remain).
	DropAlertInterval time.Duration
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
	// ChannelDropped counts alerts the channel took and then lost (see
	// [DropReporter]: a gRPC client that does not keep up).
	ChannelDropped uint64
	// Queued is the number of alerts waiting in the queue now, and
	// Capacity its bound (0: none).
	Queued   int
	Capacity int
	// LastError is the most recent write error, or "".
	LastError string
}

// Outputs fans alerts out to channels through one queue per channel. Send,
// SendInternal, Stats, Dropped and Reopen are safe for concurrent use; Close
// must be called once.
type Outputs struct {
	cfg      Config
	opts     Options
	chans    []*worker
	wantData bool
	pool     sync.Pool
	mu       sync.RWMutex
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopMon  chan struct{}
	monDone  chan struct{}
	logMu    sync.Mutex
}

type worker struct {
	ch       Channel
	queue    *queue
	sent     atomic.Uint64
	dropped  atomic.Uint64
	failed   atomic.Uint64
	nobody   atomic.Uint64
	lastErr  atomic.Pointer[string]
	reported uint64 // drops covered by internal alerts (monitor goroutine only)
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

// New starts one goroutine per channel, and one that raises the internal
// drop alert. The Outputs owns the channels and closes them in
// [Outputs.Close].
func New(cfg Config, chans ...Channel) (*Outputs, error) {
	if cfg.QueueCapacity < 0 {
		return nil, fmt.Errorf("outputs queue capacity %d: must not be negative", cfg.QueueCapacity)
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.DropAlertInterval == 0 {
		cfg.DropAlertInterval = DefaultDropAlertInterval
	}
	o := &Outputs{cfg: cfg, opts: DefaultOptions()}
	if cfg.Format != nil {
		o.opts = *cfg.Format
	}
	o.pool.New = func() any { return &shared{msg: Message{Line: make([]byte, 0, 1024)}} }
	o.ctx, o.cancel = context.WithCancel(context.Background())
	for _, c := range chans {
		if d, ok := c.(DataChannel); ok && d.WantsData() {
			o.wantData = true
		}
		w := &worker{ch: c, queue: newQueue(cfg.QueueCapacity)}
		o.chans = append(o.chans, w)
		o.wg.Add(1)
		go o.run(w)
	}
	o.stopMon, o.monDone = make(chan struct{}), make(chan struct{})
	go o.monitor()
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
	s.msg.Data = nil
	if o.wantData {
		s.msg.Data = alertData(a, &o.opts)
	}
	o.enqueue(s)
}

// enqueue puts s on every channel's queue; o.mu is read-locked.
func (o *Outputs) enqueue(s *shared) {
	s.refs.Store(int32(len(o.chans)))
	for _, w := range o.chans {
		if !w.queue.push(s) {
			if w.dropped.Add(1) == 1 {
				o.logf("Outputs queue out of memory. Drop event and continue on ... (output %s, outputs_queue.capacity %d)", w.ch.Name(), o.cfg.QueueCapacity)
			}
			o.release(s)
		}
	}
}

func (o *Outputs) logf(format string, args ...any) {
	if o.cfg.Log == nil {
		return
	}
	o.logMu.Lock()
	defer o.logMu.Unlock()
	fmt.Fprintf(o.cfg.Log, "falco-run: "+format+"\n", args...)
}

// alertData copies a as data for [DataChannel]s.
func alertData(a *Alert, opts *Options) *AlertData {
	d := &AlertData{Time: a.Time, Priority: a.Priority, Rule: a.Rule, Source: a.Source, Hostname: a.Hostname,
		Tags: append([]string(nil), a.Tags...), Fields: make(map[string]string, len(a.Fields)+1)}
	timeName := "evt.time"
	if opts.TimeFormatISO8601 {
		timeName = "evt.time.iso8601"
	}
	d.Fields[timeName] = strconv.FormatInt(a.Time, 10)
	var buf []byte
	for _, f := range a.Fields {
		if _, dup := d.Fields[f.Name]; dup {
			continue
		}
		if f.Value.Kind == KindString {
			d.Fields[f.Name] = f.Value.Str
			continue
		}
		buf = appendJSONValue(buf[:0], f.Value, 0)
		d.Fields[f.Name] = string(buf)
	}
	return d
}

// InternalField is one output field of an internal alert. Falco gives its
// drop counters as strings ([String]) and its metrics as numbers.
type InternalField struct {
	Name  string
	Value Value
}

// SendInternal queues an internal alert (source "internal", as Falco's
// "Falco internal: ..." alerts) on every channel. msg is the message
// without the time and priority; fields are sorted by name.
func (o *Outputs) SendInternal(ts int64, p Priority, rule, msg string, fields []InternalField) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed || len(o.chans) == 0 {
		return
	}
	s := o.pool.Get().(*shared)
	if o.cfg.JSON {
		s.msg.Line = FormatInternalJSON(s.msg.Line[:0], ts, p, rule, msg, o.cfg.Hostname, fields)
	} else {
		s.msg.Line = FormatInternalText(s.msg.Line[:0], ts, p, msg, fields, &o.opts)
	}
	s.msg.Priority = p
	s.msg.JSON = o.cfg.JSON
	s.msg.Data = nil
	if o.wantData {
		d := &AlertData{Time: ts, Priority: p, Rule: rule, Source: InternalSource, Hostname: o.cfg.Hostname,
			Fields: make(map[string]string, len(fields))}
		var buf []byte
		for _, f := range fields {
			if f.Value.Kind == KindString {
				d.Fields[f.Name] = f.Value.Str
				continue
			}
			buf = appendJSONValue(buf[:0], f.Value, 0)
			d.Fields[f.Name] = string(buf)
		}
		s.msg.Data = d
	}
	o.enqueue(s)
}

// monitor raises [DropAlertRule] for every channel that dropped alerts
// since the last check, at most once per interval.
func (o *Outputs) monitor() {
	defer close(o.monDone)
	if o.cfg.DropAlertInterval < 0 {
		<-o.stopMon
		return
	}
	t := time.NewTicker(o.cfg.DropAlertInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stopMon:
			return
		case <-t.C:
		}
		for _, w := range o.chans {
			total := w.dropped.Load()
			delta := total - w.reported
			if delta == 0 {
				continue
			}
			w.reported = total
			name := w.ch.Name()
			msg := fmt.Sprintf("%s. %d alerts dropped for output %s in the last %s.", DropAlertRule, delta, name, o.cfg.DropAlertInterval)
			o.SendInternal(time.Now().UnixNano(), PriorityCritical, DropAlertRule, msg, []InternalField{
				{"n_drops", String(strconv.FormatUint(delta, 10))},
				{"n_drops_total", String(strconv.FormatUint(total, 10))},
				{"output", String(name)},
				{"queue_capacity", String(strconv.Itoa(o.cfg.QueueCapacity))},
			})
		}
	}
}

// Dropped returns the alerts dropped over all channels (Falco's
// outputs_queue_num_drops counts its one queue's drops; here each
// channel's queue counts its own, see [Outputs.Stats]).
func (o *Outputs) Dropped() uint64 {
	var n uint64
	for _, w := range o.chans {
		n += w.dropped.Load()
	}
	return n
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
	for {
		s, ok := w.queue.pop()
		if !ok {
			return
		}
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
// its target before its next write (log rotation: falco-run calls it on
// SIGHUP and SIGUSR1).
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
			NoReceiver: w.nobody.Load(), Queued: w.queue.len(), Capacity: o.cfg.QueueCapacity}
		if d, ok := w.ch.(DropReporter); ok {
			s.ChannelDropped = d.ChannelDropped()
		}
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
	o.mu.Unlock()
	close(o.stopMon)
	<-o.monDone
	for _, w := range o.chans {
		w.queue.close()
	}

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
