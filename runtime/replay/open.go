package replay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/scap"
	"github.com/falcoc/falcoc/runtime/state"
)

// Source is a trace file being replayed: falcoc's JSON lines or a libscap
// capture. Next fills ev with the next event, first applying to table
// what the trace knows beyond the event (a JSON line's process context,
// a capture's process and fd tables); it returns io.EOF at the end.
type Source interface {
	Next(ctx context.Context, ev *event.Event, table *state.Table) error
	// Users returns the trace's own user and group tables, when it has
	// them (a capture's user list); ok is false otherwise, and the
	// host's files are used.
	Users() (users []state.User, groups []state.Group, ok bool)
	// Summary describes what was read and what was skipped, for the
	// final counters ("" when there is nothing to say).
	Summary() string
	Close() error
}

// IsScap reports whether name is a libscap capture by its extension
// (.scap, .scap.gz).
func IsScap(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".scap") || strings.HasSuffix(n, ".scap.gz")
}

// Open opens a trace for replay: a libscap capture when it is named
// *.scap or *.scap.gz, or is a regular file that starts like one (a
// section header block, or gzip); the JSON lines format otherwise. Only
// a capture is read before Open returns (its tables).
func Open(name string) (Source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	isScap := IsScap(name)
	if fi, err := f.Stat(); !isScap && err == nil && fi.Mode().IsRegular() {
		// A regular file may be a capture under another name; a pipe is
		// not peeked at, as its writer may wait for falco-run first.
		head, _ := br.Peek(4)
		isScap = len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b ||
			len(head) == 4 && head[0] == 0x0a && head[1] == 0x0d && head[2] == 0x0d && head[3] == 0x0a
	}
	if !isScap {
		return &jsonSource{name: name, f: f, r: NewReader(br)}, nil
	}
	r, err := scap.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &scapSource{name: name, f: f, r: r, d: scap.NewDecoder()}, nil
}

type jsonSource struct {
	name string
	f    *os.File
	r    *Reader
	pc   event.ProcContext
}

func (s *jsonSource) Next(ctx context.Context, ev *event.Event, table *state.Table) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.r.Next(ev, &s.pc)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("%s:%w", s.name, err)
	}
	if s.pc.Present() {
		state.ApplyProc(table, ev.Ts, ev.Tid, ev.Pid, &s.pc)
	}
	return nil
}

func (s *jsonSource) Users() ([]state.User, []state.Group, bool) { return nil, nil, false }
func (s *jsonSource) Summary() string                            { return "" }
func (s *jsonSource) Close() error                               { return s.f.Close() }

// scapSource replays a libscap capture: its tables seed the state before
// the first event.
type scapSource struct {
	name   string
	f      *os.File
	r      *scap.Reader
	d      *scap.Decoder
	raw    scap.RawEvent
	seeded bool
	gen    int
	seed   scap.SeedStats
	// created counts threads created for events of unknown threads.
	created int
	// num numbers the events passed on (evt.num), from 1.
	num uint64
}

func (s *scapSource) Next(ctx context.Context, ev *event.Event, table *state.Table) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.r.Next(&s.raw)
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if !s.seeded || s.r.TablesGen() != s.gen {
			st := scap.Seed(table, s.r.Header(), int64(s.raw.Ts))
			if !s.seeded {
				s.seed = st
			}
			s.seeded, s.gen = true, s.r.TablesGen()
		}
		if !s.d.Decode(&s.raw, ev) {
			continue
		}
		s.num++
		ev.Num = s.num
		th := table.Get(ev.Tid)
		if th == nil {
			th = s.unknownThread(ev, table)
		}
		if th != nil {
			ev.Pid = th.Pid()
		}
		return nil
	}
}

// unknownThread creates the thread of an event whose tid neither the
// capture's process table nor an earlier event described, as libsinsp
// does: with invalid credentials (uid, gid and loginuid -1) and, from an
// execve's parameters, its process and parent. A clone's child and an
// exiting thread are left to the state.
func (s *scapSource) unknownThread(ev *event.Event, table *state.Table) *state.Thread {
	switch ev.Type() {
	case "clone", "clone3", "fork", "vfork", "procexit":
		return nil
	}
	pc := event.ProcContext{Known: event.KnownUID | event.KnownGID | event.KnownLoginUID | event.KnownExePath,
		UID: ^uint32(0), GID: ^uint32(0), LoginUID: ^uint32(0)}
	pid := ev.Tid
	if ev.Type() == "execve" || ev.Type() == "execveat" {
		if p, ok := ev.Int("ptid"); ok && p > 0 {
			pc.Known |= event.KnownPPid
			pc.PPid = p
		}
		if p, ok := ev.Int("pid"); ok && p > 0 {
			pid = p
		}
	}
	state.ApplyProc(table, ev.Ts, ev.Tid, pid, &pc)
	s.created++
	return table.Get(ev.Tid)
}

// Users returns the capture's user list, possibly empty: a replayed
// capture never reads this host's /etc/passwd (neither does Falco's).
func (s *scapSource) Users() ([]state.User, []state.Group, bool) {
	h := s.r.Header()
	users := make([]state.User, len(h.Users))
	for i, u := range h.Users {
		users[i] = state.User{UID: u.UID, GID: u.GID, Name: u.Name, Home: u.Home, Shell: u.Shell}
	}
	groups := make([]state.Group, len(h.Groups))
	for i, g := range h.Groups {
		groups[i] = state.Group{GID: g.GID, Name: g.Name}
	}
	return users, groups, true
}

// Summary reports the capture's counters: events decoded, enter events
// merged, and everything skipped.
func (s *scapSource) Summary() string {
	rs, ds := s.r.Stats(), s.d.Stats()
	out := fmt.Sprintf("Capture %s: format %d.%d, %d blocks, %d events read, %d decoded (%d enter events, %d merged into their exits), %d threads and %d fds seeded, %d threads created for events of threads the capture did not describe",
		s.name, s.r.Header().Major, s.r.Header().Minor, rs.Blocks, rs.EventBlocks, ds.Events, ds.Enters, ds.EntersMerged, s.seed.Threads, s.seed.FDs, s.created)
	if ds.UnknownTypes+ds.NotInCatalog+ds.Unused+ds.BadParams+ds.EntersDropped+rs.SkippedBlocks+uint64(s.seed.SkippedFDs) > 0 {
		out += fmt.Sprintf("; skipped: %d events of unknown type, %d of a type the engine lacks %v, %d unused, %d malformed parameters, %d enter events over the limit, %d unknown blocks, %d fds of untracked types",
			ds.UnknownTypes, ds.NotInCatalog, ds.NotInCatalogByName, ds.Unused, ds.BadParams, ds.EntersDropped, rs.SkippedBlocks, s.seed.SkippedFDs)
	}
	return out
}

func (s *scapSource) Close() error {
	s.r.Close()
	return s.f.Close()
}
