package kplan

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// The replay property of the descriptor marks: a userspace state table
// fed every event (the kernel without the marks) and one fed only the
// events the marks keep hold the same descriptors, field for field, after
// every event. The events come from a simulated kernel: processes with
// real descriptor allocation (lowest free number), fork with copied or
// shared tables, multi-threaded processes, and a prefilter that drops a
// random share of the opens (untracked descriptors) and lets a random
// share of the state events through as rule matches.

type kproc struct {
	pid    int64
	fds    map[int64]bool // shared between processes with one table
	single bool
	alive  bool
}

func (p *kproc) lowest() int64 {
	for fd := int64(0); ; fd++ {
		if !p.fds[fd] {
			return fd
		}
	}
}

type marksSim struct {
	r                 *rand.Rand
	procs             []*kproc
	next              int64
	marks             *FDMarks
	all               *state.Table // every event
	kept              *state.Table // the events the marks keep
	dropped, sent, ts int
	byMarks           int            // dropped by the marks alone
	seen              map[int64]bool // processes userspace has met
	lost              int            // records lost (ring buffer full)
	// lostAsSent updates the marks of a lost record as if it had been
	// sent (the bug TestFDMarksLost shows the replay catches).
	lostAsSent bool
	// failed is set instead of failing the test (TestFDMarksLost).
	failed string
}

func (s *marksSim) apply(t *testing.T, tab *state.Table, line string) {
	t.Helper()
	r := replay.NewReader(strings.NewReader(line + "\n"))
	var ev event.Event
	var ctx event.ProcContext
	if err := r.Next(&ev, &ctx); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &ctx)
	state.ApplyBefore(tab, &ev)
	state.ApplyAfter(tab, &ev)
}

// emit delivers one event: to both tables when the kernel sends it, to
// the "all" table only when only the marks drop it; then it compares the
// tables.
func (s *marksSim) emit(t *testing.T, p *kproc, id int, typ, args string, arg0 int64, arg1 uint64, ret int64, gated bool, pair *[2]int32) {
	t.Helper()
	if !s.seen[p.pid] { // userspace meets the process (as from /proc)
		s.seen[p.pid] = true
		s.ts++
		intro := fmt.Sprintf(`{"ts": %d, "type": "getppid", "tid": %d, "res": 1, "proc": {"comm": "sim", "cwd": "/", "ppid": 1}}`, s.ts, p.pid)
		s.apply(t, s.all, intro)
		s.apply(t, s.kept, intro)
	}
	s.ts++
	line := fmt.Sprintf(`{"ts": %d, "type": %q, "tid": %d, "res": %d, "args": {%s}}`, s.ts, typ, p.pid, ret, args)
	tgid := uint32(p.pid)
	drop := !gated && s.marks.Unchanged(tgid, id, arg0, arg1, ret)
	switch {
	case !drop && s.r.Intn(12) == 0:
		// The record is built but the ring buffer is full: lost with the
		// marks or without them (the loss does not depend on them).
		s.lost++
		if id == sysClose {
			s.marks.Sent(tgid, id, arg0, arg1, ret, pair, false) // marks_begin clears the byte first
		}
		if s.lostAsSent {
			s.marks.Sent(tgid, id, arg0, arg1, ret, pair, id == 22 || id == 293 || id == 53)
		} else {
			s.marks.Lost(tgid, id, arg0, ret)
		}
	case drop:
		s.apply(t, s.all, line)
		s.dropped++
		s.byMarks++
	default:
		s.apply(t, s.all, line)
		s.sent++
		s.apply(t, s.kept, line)
		s.marks.Sent(tgid, id, arg0, arg1, ret, pair, id == 22 || id == 293 || id == 53)
	}
	s.compare(t, line)
}

func (s *marksSim) compare(t *testing.T, after string) {
	t.Helper()
	for _, p := range s.procs {
		if !p.alive {
			continue
		}
		for fd := int64(0); fd < 40; fd++ {
			a, b := s.all.FD(p.pid, fd), s.kept.FD(p.pid, fd)
			if (a == nil) != (b == nil) || a != nil && *a != *b {
				msg := fmt.Sprintf("after %s\npid %d fd %d: without the drop %+v, with it %+v", after, p.pid, fd, a, b)
				if s.lostAsSent {
					if s.failed == "" {
						s.failed = msg
					}
					return
				}
				t.Fatal(msg)
			}
		}
	}
}

func (s *marksSim) newProc(single bool) *kproc {
	s.next++
	p := &kproc{pid: s.next, fds: map[int64]bool{0: true, 1: true, 2: true}, single: single, alive: true}
	s.procs = append(s.procs, p)
	return p
}

func (s *marksSim) pick() *kproc {
	for {
		p := s.procs[s.r.Intn(len(s.procs))]
		if p.alive {
			return p
		}
	}
}

// anyFD is an open descriptor of p most of the time, else any number.
func (s *marksSim) anyFD(p *kproc) int64 {
	if s.r.Intn(6) != 0 {
		for fd := range p.fds {
			if s.r.Intn(3) == 0 {
				return fd
			}
		}
	}
	return int64(s.r.Intn(12))
}

func (s *marksSim) step(t *testing.T) {
	r := s.r
	p := s.pick()
	gated := r.Intn(8) == 0 // a rule looks at this close, dup or fcntl
	switch r.Intn(10) {
	case 0, 1: // openat: the prefilter sends it or not
		fd := p.lowest()
		ret := fd
		if r.Intn(6) == 0 {
			ret = -2
		} else {
			p.fds[fd] = true
		}
		if r.Intn(3) != 0 { // dropped by the prefilter: userspace never knows it
			s.dropped++
			return
		}
		s.emit(t, p, 257, "openat", fmt.Sprintf(`"dirfd": -100, "name": "/tmp/f%d", "flags": "O_RDONLY"`, r.Intn(5)), -100, 0, ret, true, nil)
	case 2, 3: // close
		fd := s.anyFD(p)
		ret := int64(0)
		if !p.fds[fd] {
			ret = -9
		}
		delete(p.fds, fd)
		s.emit(t, p, sysClose, "close", fmt.Sprintf(`"fd": %d`, fd), fd, 0, ret, gated, nil)
	case 4: // dup, dup2
		old := s.anyFD(p)
		if !p.fds[old] {
			s.emit(t, p, sysDup, "dup", fmt.Sprintf(`"oldfd": %d`, old), old, 0, -9, gated, nil)
			return
		}
		if r.Intn(2) == 0 {
			nfd := p.lowest()
			p.fds[nfd] = true
			s.emit(t, p, sysDup, "dup", fmt.Sprintf(`"oldfd": %d`, old), old, 0, nfd, gated, nil)
			return
		}
		nfd := int64(r.Intn(10))
		p.fds[nfd] = true
		s.emit(t, p, sysDup2, "dup2", fmt.Sprintf(`"oldfd": %d, "newfd": %d`, old, nfd), old, uint64(nfd), nfd, gated, nil)
	case 5: // fcntl: F_DUPFD or F_GETFL
		fd := s.anyFD(p)
		if r.Intn(2) == 0 {
			ret := int64(-9)
			if p.fds[fd] {
				ret = p.lowest()
				p.fds[ret] = true
			}
			s.emit(t, p, sysFcntl, "fcntl", fmt.Sprintf(`"fd": %d, "cmd": %d, "arg": 0`, fd, fDupFD), fd, fDupFD, ret, gated, nil)
			return
		}
		s.emit(t, p, sysFcntl, "fcntl", fmt.Sprintf(`"fd": %d, "cmd": 3, "arg": 0`, fd), fd, 3, 2, gated, nil)
	case 6: // pipe2 (always sent: state)
		a := p.lowest()
		p.fds[a] = true
		b := p.lowest()
		p.fds[b] = true
		pair := &[2]int32{int32(a), int32(b)}
		s.emit(t, p, 293, "pipe2", fmt.Sprintf(`"fd1": %d, "fd2": %d, "ino": 7, "flags": 0`, a, b), 0, 0, 0, true, pair)
	case 7: // socket (always sent: state)
		fd := p.lowest()
		p.fds[fd] = true
		s.emit(t, p, 41, "socket", `"domain": 2, "type": 1, "proto": 0`, 2, 1, fd, true, nil)
	case 8: // fork: a copied table, or a shared one
		if len(s.procs) > 30 {
			return
		}
		shared := r.Intn(6) == 0
		c := s.newProc(r.Intn(4) != 0)
		if shared {
			c.fds = p.fds
		} else {
			c.fds = map[int64]bool{}
			for fd := range p.fds {
				c.fds[fd] = true
			}
		}
		flags := uint64(17)
		if shared {
			flags |= 0x400
		}
		// A multi-threaded parent's marks are copied when no update was in
		// flight (the kernel's ops check), else the child starts untracked.
		s.marks.Fork(uint32(p.pid), uint32(c.pid), shared, p.single || r.Intn(2) == 0)
		s.seen[c.pid] = true
		s.emit(t, p, 56, "clone", fmt.Sprintf(`"flags": %d`, flags), int64(flags), 0, c.pid, true, nil)
		s.emit(t, c, 56, "clone", fmt.Sprintf(`"flags": %d, "ptid": %d`, flags, p.pid), int64(flags), 0, 0, true, nil)
	case 9: // exit
		alive := 0
		for _, q := range s.procs {
			if q.alive {
				alive++
			}
		}
		if r.Intn(4) != 0 || alive < 3 {
			return
		}
		s.ts++
		line := fmt.Sprintf(`{"ts": %d, "type": "procexit", "tid": %d, "args": {"status": 0}}`, s.ts, p.pid)
		s.apply(t, s.all, line)
		s.apply(t, s.kept, line)
		s.marks.Exit(uint32(p.pid))
		p.alive = false
	}
}

func TestFDMarksReplay(t *testing.T) {
	runs, steps := 80, 400
	if testing.Short() {
		runs = 30
	}
	var dropped, sent, byMarks, lost int
	for i := range runs {
		s := &marksSim{r: rand.New(rand.NewSource(int64(i))), marks: NewFDMarks(), seen: map[int64]bool{},
			all: state.NewTable(&state.Options{ProcReadsPerSec: -1}), kept: state.NewTable(&state.Options{ProcReadsPerSec: -1})}
		s.newProc(true)
		s.newProc(false)
		for range steps {
			s.step(t)
		}
		dropped += s.dropped
		sent += s.sent
		byMarks += s.byMarks
		lost += s.lost
	}
	t.Logf("events sent %d, dropped %d (by the marks: %d), lost %d", sent, dropped, byMarks, lost)
	if byMarks < sent/20 {
		t.Errorf("weak test: %d dropped by the marks for %d sent", byMarks, sent)
	}
}

// TestFDMarksLost shows that the replay catches marks updated from a lost
// record as from a sent one (a lost dup copying an untracked descriptor's
// mark onto one userspace still holds: its later close is dropped).
func TestFDMarksLost(t *testing.T) {
	caught := 0
	for i := range 100 {
		s := &marksSim{r: rand.New(rand.NewSource(int64(i))), marks: NewFDMarks(), seen: map[int64]bool{}, lostAsSent: true,
			all: state.NewTable(&state.Options{ProcReadsPerSec: -1}), kept: state.NewTable(&state.Options{ProcReadsPerSec: -1})}
		s.newProc(true)
		s.newProc(false)
		for range 600 {
			s.step(t)
			if s.failed != "" {
				break
			}
		}
		if s.failed != "" {
			caught++
		}
	}
	if caught == 0 {
		t.Error("marks updated from lost records as from sent ones: the replay found no difference in 100 runs")
	}
	t.Logf("the replay caught it in %d of 100 runs", caught)
}

// TestFDMarksDrop checks the model's decisions on a few cases.
func TestFDMarksDrop(t *testing.T) {
	m := NewFDMarks()
	if m.Unchanged(1, sysClose, 3, 0, 0) {
		t.Error("close with no mark: dropped, want sent")
	}
	m.Sent(1, sysClose, 3, 0, 0, nil, false)
	if !m.Unchanged(1, sysClose, 3, 0, 0) {
		t.Error("close of a descriptor closed before and not reopened by a sent event: sent, want dropped")
	}
	m.Sent(1, 257, -100, 0, 3, nil, false) // a sent openat returning 3
	if m.Unchanged(1, sysClose, 3, 0, 0) {
		t.Error("close of a sent open's descriptor: dropped, want sent")
	}
	if !m.Unchanged(1, sysFcntl, 3, 3, 0) {
		t.Error("fcntl F_GETFL: sent, want dropped")
	}
	if m.Unchanged(1, sysFcntl, 3, fDupFD, 4) {
		t.Error("fcntl F_DUPFD of a tracked descriptor: dropped, want sent")
	}
	m.Sent(2, sysClose, 5, 0, 0, nil, false)
	m.Sent(2, sysDup, 4, 0, 5, nil, false) // a sent dup of 4 (tracked: no entry before) onto 5
	if m.Unchanged(2, sysClose, 5, 0, 0) {
		t.Error("close of a sent dup's descriptor: dropped, want sent")
	}
	m.Fork(1, 3, true, true)
	if m.Unchanged(1, sysClose, 9, 0, 0) || m.Unchanged(3, sysClose, 9, 0, 0) {
		t.Error("shared table: close dropped, want sent")
	}
}
