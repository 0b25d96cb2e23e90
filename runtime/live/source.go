package live

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// pollInterval bounds how long [Source.Next] waits before it looks at
// its context again.
const pollInterval = 100 * time.Millisecond

// Options configure [Open].
type Options struct {
	// RingBufferSize in bytes of each CPU's ring buffer (a power of two);
	// 0 is the bpf default.
	RingBufferSize int
	// ReorderWindow bounds the merge's wait for a CPU that is writing a
	// record (bpf.Options.ReorderWindow); 0 is the bpf default.
	ReorderWindow time.Duration
	// BatchDelay is bpf.Options.BatchDelay: latency traded for kernel
	// cost per record; 0 reads at once.
	BatchDelay time.Duration
	// Mode is the prefilter mode.
	Mode bpf.Mode
	// Tables are the prefilter tables; nil leaves them empty (only
	// scheduler events are sent).
	Tables *bpf.Tables
	// ProcRoot is where procfs is mounted; default "/proc".
	ProcRoot string
	// Containers recognises container cgroups.
	Containers *container.Parser
}

// Stats are the source's userspace counters.
type Stats struct {
	DecodeStats
	// BadRecords are records the bpf reader refused (malformed).
	BadRecords uint64
	// CgroupErrors are failed updates of the kernel's cgroup class map.
	CgroupErrors uint64
}

// Source reads the live kernel: it owns a [bpf.Capture] and decodes its
// records into events. Only one goroutine may call [Source.Next];
// [Source.Counters], [Source.Stats] and [Source.Close] may be called from
// others.
type Source struct {
	capt *bpf.Capture
	dec  *Decoder
	rec  bpf.Record
	v    view

	mu           sync.Mutex // guards the stats snapshot
	snap         Stats
	badRecords   uint64
	cgroupErrors uint64
}

// maskWords is the clause mask width to load the capture with for t.
func maskWords(t *bpf.Tables) int {
	if t == nil {
		return 0
	}
	return t.MaskWords()
}

// Open loads and attaches the capture, loads the tables and sets the
// mode. Errors from [bpf.Load] are wrapped unchanged, so errors.Is with
// bpf.ErrNotRoot and bpf.ErrNoBTF works, and verifier errors can be
// printed with %+v.
func Open(opts *Options) (*Source, error) {
	if opts == nil {
		opts = &Options{}
	}
	c, err := bpf.Load(&bpf.Options{RingBufferSize: opts.RingBufferSize, ReorderWindow: opts.ReorderWindow, BatchDelay: opts.BatchDelay, Mode: opts.Mode,
		Capacity: bpf.CapacityFor(opts.Tables), MaskWords: maskWords(opts.Tables), Tables: opts.Tables})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(pollInterval))
	// FALCOC_LIFECYCLE=0 keeps every process lifecycle record that full
	// mode drops as redundant (bpf.Capture.SetKeepLifecycle).
	if os.Getenv("FALCOC_LIFECYCLE") == "0" {
		if err := c.SetKeepLifecycle(true); err != nil {
			c.Close()
			return nil, err
		}
	}
	s := &Source{capt: c}
	s.dec, err = NewDecoder(&DecoderOptions{
		ProcRoot:   opts.ProcRoot,
		Containers: opts.Containers,
		OnCgroup: func(id uint64, class bpf.ContainerClass) {
			if c.SetCgroupClass(id, class) != nil {
				s.cgroupErrors++
			}
		},
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// StateSeeded tells the capture that the userspace state has been read
// from /proc: from now on the kernel may drop the close, dup and fcntl
// calls that change nothing in it (bpf.Capture.SetFDMarks; full prefilter
// mode only). FALCOC_FDMARKS=0 in the environment keeps every one sent.
func (s *Source) StateSeeded() error {
	if os.Getenv("FALCOC_FDMARKS") == "0" {
		return nil
	}
	return s.capt.SetFDMarks(true)
}

// Comm returns the kernel's task name (comm) of the thread of the last
// event Next returned, without the trailing NULs. It is valid until the
// next call to Next.
func (s *Source) Comm() []byte {
	c := s.rec.Comm[:]
	n := 0
	for n < len(c) && c[n] != 0 {
		n++
	}
	return c[:n]
}

// Capture returns the underlying capture (tables, mode, counters).
func (s *Source) Capture() *bpf.Capture { return s.capt }

// Next blocks until the next event and decodes it into ev. Records that
// carry no event are consumed silently (and counted); records that do not
// decode are counted and skipped. It returns ctx's error once ctx is
// done, and [bpf.ErrClosed] after [Source.Close].
func (s *Source) Next(ctx context.Context, ev *event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for {
		err := s.capt.ReadInto(&s.rec)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Nothing is due: reads wait at most pollInterval
			// and ctx is checked in between (waking the read on
			// ctx's end would cost an allocation per call).
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			s.capt.SetDeadline(time.Now().Add(pollInterval))
			continue
		case errors.Is(err, bpf.ErrBadRecord):
			s.badRecords++
			s.publish()
			continue
		default:
			return err
		}
		s.v.load(&s.rec)
		err = s.dec.decode(&s.v, ev)
		if err == nil {
			return nil
		}
		s.publish()
	}
}

// publish copies the counters for [Source.Stats].
func (s *Source) publish() {
	s.mu.Lock()
	s.snap = Stats{DecodeStats: s.dec.stats, BadRecords: s.badRecords, CgroupErrors: s.cgroupErrors}
	s.mu.Unlock()
}

// Stats returns the userspace counters as of the last skipped record or
// the last call to [Source.Sync].
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// Sync publishes the current counters; call it from the reading goroutine
// (e.g. once it stopped reading) before [Source.Stats].
func (s *Source) Sync() { s.publish() }

// Counters reads the kernel counters.
func (s *Source) Counters() (bpf.Counters, error) { return s.capt.Counters() }

// Close detaches and frees the capture.
func (s *Source) Close() error { return s.capt.Close() }

// Fallbacks lists the kernel features whose fallback the capture uses
// (see bpf.Feature).
func (s *Source) Fallbacks() []bpf.Feature { return s.capt.Fallbacks() }

// Missed returns how many program runs the kernel skipped (see
// bpf.Capture.Missed): events never seen, to be reported as lost.
func (s *Source) Missed() (uint64, error) { return s.capt.Missed() }
