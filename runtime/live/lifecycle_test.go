package live

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// The replay property of the process lifecycle drops of full mode
// (fork_sent, fork_told and on_sched_exec in bpf/capture.c): a state
// table fed every record a simulated kernel delivers and one fed only
// the records the kernel keeps hold the same threads, field for field
// (ids and ids in the pid namespace, parent and ancestry, name,
// executable, arguments, environment, cwd, credentials, loginuid, tty,
// capabilities, cgroups, start time, descriptors), after every record.
// The kernel drops the parent's return from a fork always, the child's
// return when its fork record was delivered, the child is in the initial
// pid namespace and in its parent's cgroups, and the sched_process_exec
// record (the execve exit, always sent, carries it).
//
// The simulated kernel has processes in the initial pid namespace and in
// nested ones (CLONE_NEWPID, and unshare(CLONE_NEWPID) whose children only
// are in the new namespace), threads, CLONE_INTO_CGROUP, processes
// userspace never met (their fork record and return lost), lost records, execs (by a
// process with one thread), opens, names changed with and without an
// event, and exits.

// lcDrop is the kernel's rule (capture.c), for the record r of a kernel
// whose fork record for r's child was delivered (forkDelivered), r's
// child being in pid namespace level level and moved to another cgroup
// (movedCgroup) or not. Mask zero throughout: no rule looks at clone.
func lcDrop(r *bpf.Header, forkDelivered bool, level int, movedCgroup bool) bool {
	return lcRule(r, forkDelivered, level, movedCgroup, false)
}

// lcRule is lcDrop, or with careless set, a wrong rule that drops every
// child's return (TestLifecycleDropCatches shows the replay sees it).
func lcRule(r *bpf.Header, forkDelivered bool, level int, movedCgroup, careless bool) bool {
	if careless && r.Kind == lcClone && r.Ret == 0 {
		return true
	}
	switch {
	case r.Kind == bpf.KindExec:
		return true
	case r.Kind == lcClone || r.Kind == lcVfork:
		if r.Ret > 0 {
			return true
		}
		return r.Ret == 0 && forkDelivered && level == 0 && !movedCgroup
	}
	return false
}

const (
	lcClone  = 56
	lcVfork  = 58
	lcOpenat = 257
	lcExecve = 59
	lcPrctl  = 157

	cloneNewPID      = 0x20000000
	cloneThreadFlags = cloneThread | cloneVM | cloneFS | cloneFiles | cloneSighand
)

type lcProc struct {
	tgid, vtgid int64
	level       int // pid namespace level of the process
	childLevel  int // of its children made without CLONE_NEWPID (unshare)
	nsNext      int64
	cg          uint64
	ppid        int64
	exe         string
	threads     []*lcTask
	nextFD      int64
	euid, egid  uint32
}

type lcTask struct {
	tid, vtid int64
	comm      string
	proc      *lcProc
}

type lcSim struct {
	r          *rand.Rand
	procs      []*lcProc
	nextPid    int64
	ts         int64
	all, kept  *state.Table
	decAll     *Decoder
	decKept    *Decoder
	sent, drop int
	lost       int
	careless   bool   // use the wrong rule (see lcRule)
	failed     string // set instead of failing when careless
}

func newLCSim(t *testing.T, seed int64) *lcSim {
	t.Helper()
	s := &lcSim{r: rand.New(rand.NewSource(seed)), nextPid: 1000}
	opts := &state.Options{ProcReadsPerSec: -1, ProcRoot: t.TempDir()}
	s.all, s.kept = state.NewTable(opts), state.NewTable(opts)
	var err error
	if s.decAll, err = NewDecoder(&DecoderOptions{ProcRoot: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if s.decKept, err = NewDecoder(&DecoderOptions{ProcRoot: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	// init, known to userspace as from /proc.
	p := &lcProc{tgid: 1, vtgid: 1, cg: 1, exe: "/sbin/init", nextFD: 3}
	p.threads = []*lcTask{{tid: 1, vtid: 1, comm: "init", proc: p}}
	s.procs = append(s.procs, p)
	for _, tab := range []*state.Table{s.all, s.kept} {
		ctx := event.ProcContext{Known: event.KnownComm | event.KnownExe | event.KnownCwd | event.KnownPPid,
			Comm: "init", Exe: "/sbin/init", Cwd: "/", PPid: 0}
		state.ApplyProc(tab, 1, 1, 1, &ctx)
	}
	return s
}

func (s *lcSim) hdr(th *lcTask, kind uint32, ret int64) *bpf.Header {
	p := th.proc
	h := &bpf.Header{Kind: kind, Ret: ret, Tid: uint32(th.tid), Tgid: uint32(p.tgid), Ppid: uint32(p.ppid),
		Vtid: uint32(th.vtid), Vtgid: uint32(p.vtgid), EUID: p.euid, EGID: p.egid, UID: p.euid, GID: p.egid,
		LoginUID: 0xffffffff, CgroupID: p.cg, Mask: bpf.Mask{}}
	if kind >= bpf.NumSyscalls {
		for i := range h.Mask {
			h.Mask[i] = ^uint64(0)
		}
	}
	copy(h.Comm[:], th.comm)
	return h
}

// deliver gives record v to the "all" table, and to the "kept" one
// unless drop. A lost record reaches neither.
func (s *lcSim) deliver(t *testing.T, v view, drop, lost bool) {
	t.Helper()
	if lost {
		s.lost++
		return
	}
	s.ts++
	v.ts = s.ts
	s.apply(t, s.decAll, s.all, v)
	if drop {
		s.drop++
	} else {
		s.sent++
		s.apply(t, s.decKept, s.kept, v)
	}
	s.compare(t, v)
}

// apply decodes v and applies it as falco-run does: the header's comm
// refreshes the thread's name (runtime/agent's liveSource.Next), then the
// state updates around the rules.
func (s *lcSim) apply(t *testing.T, d *Decoder, tab *state.Table, v view) {
	t.Helper()
	var ev event.Event
	err := d.decode(&v, &ev)
	if err == errSkip {
		return
	}
	if err != nil {
		t.Fatalf("decode %+v: %v", v.hdr, err)
	}
	if th := tab.Get(ev.Tid); th != nil {
		n := 0
		for n < len(v.hdr.Comm) && v.hdr.Comm[n] != 0 {
			n++
		}
		if c := string(v.hdr.Comm[:n]); c != "" && c != th.Comm() {
			tab.SetComm(ev.Tid, c)
		}
	}
	state.ApplyBefore(tab, &ev)
	state.ApplyAfter(tab, &ev)
}

// describe renders everything a rule can read about thread tid.
func describe(tab *state.Table, tid int64) string {
	th := tab.Get(tid)
	if th == nil {
		return "<none>"
	}
	var b strings.Builder
	p := th.Proc()
	fmt.Fprintf(&b, "tid=%d pid=%d exited=%v threads=%d ctx=%+v pidns=%d", th.Tid, p.Pid, th.Exited(), p.Threads(),
		state.ProcContextOf(th), p.PidNSInitStart)
	fmt.Fprintf(&b, " cmdline=%q", th.Cmdline())
	for i := 1; i <= 6; i++ {
		a := th.Ancestor(i)
		if a == nil {
			break
		}
		// The process, not the thread: which of a process's threads
		// stands for it after its leader exited is not ordered (every
		// thread is compared on its own).
		fmt.Fprintf(&b, " a%d=%d", i, a.Pid())
	}
	for fd := int64(0); fd < 16; fd++ {
		if f := th.FD(fd); f != nil {
			fmt.Fprintf(&b, " fd%d=%+v", fd, *f)
		}
	}
	return b.String()
}

func (s *lcSim) compare(t *testing.T, after view) {
	t.Helper()
	var tids []int64
	for _, tab := range []*state.Table{s.all, s.kept} {
		tab.Each(func(th *state.Thread) bool {
			if !th.Exited() {
				tids = append(tids, th.Tid)
			}
			return true
		})
	}
	slices.Sort(tids)
	tids = slices.Compact(tids)
	for _, tid := range tids {
		a, k := describe(s.all, tid), describe(s.kept, tid)
		if a != k {
			if s.careless {
				if s.failed == "" {
					s.failed = fmt.Sprintf("thread %d: %s / %s", tid, a, k)
				}
				return
			}
			t.Fatalf("after record %+v:\nthread %d with every record:\n  %s\nwith the kernel's drops:\n  %s", *after.hdr, tid, a, k)
		}
	}
}

func (s *lcSim) pickTask() *lcTask {
	var all []*lcTask
	for _, p := range s.procs {
		all = append(all, p.threads...)
	}
	return all[s.r.Intn(len(all))]
}

func (s *lcSim) lossy() bool { return s.r.Intn(15) == 0 }

func (s *lcSim) fork(t *testing.T, parent *lcTask, thread bool) {
	pp := parent.proc
	s.nextPid++
	tid := s.nextPid
	flags := uint64(17) // SIGCHLD
	child := &lcTask{tid: tid, comm: parent.comm}
	moved := false
	cp := pp
	if thread {
		flags = cloneThreadFlags
		child.proc = pp
		child.vtid = tid
		if pp.level > 0 {
			pp.nsNext++
			child.vtid = pp.nsNext
		}
		pp.threads = append(pp.threads, child)
	} else {
		cp = &lcProc{tgid: tid, cg: pp.cg, ppid: pp.tgid, exe: pp.exe, nextFD: pp.nextFD, euid: pp.euid, egid: pp.egid}
		cp.level = pp.childLevel
		switch s.r.Intn(10) {
		case 0: // CLONE_NEWPID
			flags |= cloneNewPID
			cp.level = pp.childLevel + 1
			cp.vtgid = 1
		case 1: // CLONE_INTO_CGROUP
			cp.cg = pp.cg + 100 + uint64(s.r.Intn(3))
			moved = true
		}
		if cp.vtgid == 0 {
			cp.vtgid = tid
			if cp.level > 0 {
				pp.nsNext++
				cp.vtgid = pp.nsNext + 500
			}
		}
		cp.childLevel = cp.level
		child.vtid = cp.vtgid
		child.proc = cp
		cp.threads = []*lcTask{child}
		s.procs = append(s.procs, cp)
	}
	forkLost := s.lossy()
	fv := view{hdr: s.hdr(parent, bpf.KindFork, 0), hasFork: true, fork: bpf.ForkInfo{ParentTid: uint32(parent.tid),
		ParentTgid: uint32(pp.tgid), ChildTid: uint32(tid), ChildTgid: uint32(cp.tgid), CloneFlags: flags}}
	s.deliver(t, fv, false, forkLost)
	kind := uint32(lcClone)
	if !thread && s.r.Intn(2) == 0 {
		kind = lcVfork
	}
	ph := s.hdr(parent, kind, tid)
	ph.Args[0] = flags
	ch := s.hdr(child, kind, 0)
	ch.Args[0] = flags
	pv, cv := view{hdr: ph}, view{hdr: ch}
	pdrop := lcRule(ph, !forkLost, cp.level, moved, s.careless)
	cdrop := lcRule(ch, !forkLost, cp.level, moved, s.careless)
	if s.r.Intn(2) == 0 {
		s.deliver(t, pv, pdrop, s.lossy())
		s.deliver(t, cv, cdrop, s.lossy())
	} else {
		s.deliver(t, cv, cdrop, s.lossy())
		s.deliver(t, pv, pdrop, s.lossy())
	}
}

func (s *lcSim) exec(t *testing.T, th *lcTask) {
	p := th.proc
	// Other threads die first (de_thread): their exit records.
	for _, o := range p.threads {
		if o != th {
			s.exitTask(t, o)
		}
	}
	p.threads = []*lcTask{th}
	names := []string{"ls", "cat", "sh", "python3", "grep", "sleep"}
	n := names[s.r.Intn(len(names))]
	p.exe = "/usr/bin/" + n
	th.comm = n
	if s.r.Intn(4) == 0 {
		p.euid, p.egid = 1000, 1000 // a set-id program
	}
	xv := view{hdr: s.hdr(th, bpf.KindExec, 0), hasExe: true, exe: []byte(p.exe)}
	s.deliver(t, xv, lcDrop(xv.hdr, false, 0, false), s.lossy())
	ev := view{hdr: s.hdr(th, lcExecve, 0), hasExe: true, exe: []byte(p.exe), hasExePath: true, exePath: []byte(p.exe),
		hasArgv: true, argv: []byte(n + "\x00-x\x00" + fmt.Sprint(s.ts) + "\x00"), hasEnv: true, env: []byte("A=1\x00"),
		hasExec: true, exec: bpf.ExecInfo{CapEffective: uint64(s.r.Intn(3))}}
	s.deliver(t, ev, false, s.lossy())
}

func (s *lcSim) open(t *testing.T, th *lcTask) {
	p := th.proc
	fd := p.nextFD
	p.nextFD++
	h := s.hdr(th, lcOpenat, fd)
	h.Args[0] = uint64(0xffffffffffffff9c) // AT_FDCWD
	v := view{hdr: h, hasPath: true, path: []byte(fmt.Sprintf("/tmp/f%d", fd)), hasOpen: true,
		open: bpf.OpenInfo{Dirfd: -100}}
	s.deliver(t, v, false, s.lossy())
}

func (s *lcSim) rename(t *testing.T, th *lcTask, seen bool) {
	th.comm = fmt.Sprintf("n%d", s.r.Intn(100))
	if !seen {
		return // the next record's header says it
	}
	h := s.hdr(th, lcPrctl, 0)
	h.Args[0] = 15 // PR_SET_NAME
	s.deliver(t, view{hdr: h, hasPath: true, path: []byte(th.comm)}, false, s.lossy())
}

func (s *lcSim) exitTask(t *testing.T, th *lcTask) {
	s.deliver(t, view{hdr: s.hdr(th, bpf.KindExit, 0), hasExit: true}, false, s.lossy())
}

func (s *lcSim) exitProc(t *testing.T, p *lcProc) {
	for _, th := range p.threads {
		s.exitTask(t, th)
	}
	p.threads = nil
	s.procs = slices.DeleteFunc(s.procs, func(q *lcProc) bool { return q == p })
	for _, q := range s.procs {
		if q.ppid == p.tgid {
			q.ppid = 1
		}
	}
}

func (s *lcSim) step(t *testing.T) {
	th := s.pickTask()
	p := th.proc
	switch n := s.r.Intn(20); {
	case n < 6:
		if len(s.procs) < 60 {
			s.fork(t, th, false)
		}
	case n < 8:
		if len(p.threads) < 5 {
			s.fork(t, th, true)
		}
	case n < 10:
		if p.tgid != 1 {
			s.exec(t, th)
		}
	case n < 12:
		s.open(t, th)
	case n < 13:
		s.rename(t, th, s.r.Intn(2) == 0)
	case n < 14:
		p.childLevel = p.level + 1 // unshare(CLONE_NEWPID): not an event the state reads
	case n < 18:
		if p.tgid != 1 && len(s.procs) > 3 {
			if len(p.threads) > 1 && s.r.Intn(2) == 0 {
				i := slices.Index(p.threads, th)
				s.exitTask(t, th)
				p.threads = slices.Delete(p.threads, i, i+1)
			} else {
				s.exitProc(t, p)
			}
		}
	}
}

func TestLifecycleDropReplay(t *testing.T) {
	var drop, sent, lost int
	for seed := int64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newLCSim(t, seed)
			for range 400 {
				s.step(t)
			}
			drop, sent, lost = drop+s.drop, sent+s.sent, lost+s.lost
		})
	}
	if drop == 0 || sent == 0 || lost == 0 {
		t.Fatalf("dropped %d, sent %d, lost %d: the simulation exercised nothing", drop, sent, lost)
	}
	t.Logf("records: %d sent, %d dropped by the kernel, %d lost", sent, drop, lost)
}

// TestLifecycleDropCatches shows that the replay sees a wrong rule:
// dropping every child's return (also in a new pid namespace, or after a
// lost fork record) leaves userspace with other ids or no thread.
func TestLifecycleDropCatches(t *testing.T) {
	caught := 0
	for seed := int64(1); seed <= 8; seed++ {
		s := newLCSim(t, seed)
		s.careless = true
		for range 400 {
			s.step(t)
		}
		if s.failed != "" {
			caught++
		}
	}
	if caught == 0 {
		t.Fatal("the careless rule went unnoticed in 8 runs")
	}
	t.Logf("the careless rule was caught in %d of 8 runs", caught)
}
