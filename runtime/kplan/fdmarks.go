package kplan

// FDMarkFDs is the number of descriptors a process's mark covers
// (FDMARK_FDS in bpf/capture.c); higher descriptors always count as
// tracked.
const FDMarkFDs = 512

// Syscall ids (x86_64) the marks treat specially.
const (
	sysClose      = 3
	sysDup        = 32
	sysDup2       = 33
	sysFcntl      = 72
	sysDup3       = 292
	fDupFD        = 0
	fDupFDCloexec = 1030
)

// FDMarks simulates the kernel's descriptor marks (fdmarks in
// bpf/capture.c): per process, which descriptors userspace may hold state
// about, so that the kernel can drop a close, dup or fcntl that changes
// nothing there. It exists to test that rule against the userspace state
// tables (runtime/state); it follows capture.c step by step. A missing
// process means every descriptor may be tracked. FDMarks is not safe for
// concurrent use.
type FDMarks struct {
	procs map[uint32]*fdMark
}

type fdMark struct {
	set    [FDMarkFDs]bool
	poison bool
}

// NewFDMarks returns marks with no process (everything tracked).
func NewFDMarks() *FDMarks { return &FDMarks{procs: map[uint32]*fdMark{}} }

func (m *FDMarks) untracked(e *fdMark, fd int64) bool {
	return e != nil && !e.poison && fd >= 0 && fd < FDMarkFDs && !e.set[fd]
}

// Unchanged reports whether the kernel drops the event as changing
// nothing in userspace (state_unchanged): syscall id of process tgid with
// first two arguments arg0, arg1 and return value ret, when no rule's
// clause survived for it.
func (m *FDMarks) Unchanged(tgid uint32, id int, arg0 int64, arg1 uint64, ret int64) bool {
	switch id {
	case sysClose, sysDup, sysDup2, sysDup3, sysFcntl:
	default:
		return false
	}
	if id == sysFcntl && arg1 != fDupFD && arg1 != fDupFDCloexec {
		return true
	}
	e := m.procs[tgid]
	if id == sysClose {
		return ret != 0 || m.untracked(e, arg0)
	}
	return ret < 0 || m.untracked(e, arg0) && m.untracked(e, ret)
}

// Sent updates the marks for an event that was sent (marks_begin for a
// close, which is always sent for the state; fd_marks_sent for the
// others): pair holds the two descriptors pipe, pipe2 or socketpair wrote
// (pairSyscall), nil when they could not be read (then the process is
// poisoned).
func (m *FDMarks) Sent(tgid uint32, id int, arg0 int64, arg1 uint64, ret int64, pair *[2]int32, pairSyscall bool) {
	e := m.procs[tgid]
	if id == sysClose {
		if ret != 0 || arg0 < 0 || arg0 >= FDMarkFDs {
			return
		}
		if e == nil {
			e = m.fresh(tgid, false)
		}
		if !e.poison {
			e.set[arg0] = false
		}
		return
	}
	if e == nil {
		return
	}
	mark := func(fd int64) {
		if fd >= 0 && fd < FDMarkFDs {
			e.set[fd] = true
		}
	}
	switch id {
	case sysDup, sysDup2, sysDup3, sysFcntl:
		// userspace copies the old descriptor onto the new one, or
		// removes the new one when it does not know the old.
		isDup := id != sysFcntl || arg1 == fDupFD || arg1 == fDupFDCloexec
		if isDup && ret >= 0 && ret < FDMarkFDs && arg0 >= 0 && arg0 < FDMarkFDs {
			e.set[ret] = e.set[arg0]
		} else if id != sysFcntl {
			mark(ret)
		}
		return
	}
	mark(arg0)
	mark(ret)
	if pairSyscall && ret == 0 {
		if pair == nil {
			m.fresh(tgid, true)
			return
		}
		mark(int64(pair[0]))
		mark(int64(pair[1]))
	}
}

// Lost updates the marks for an event whose record was built but lost
// (the ring buffer was full): userspace changed nothing and may still hold
// what the call closed or replaced, so the descriptor it returned (a dup's
// new one) is marked tracked, or, for a close, the closed one (Sent has
// already cleared it: the kernel clears it before the record goes out).
func (m *FDMarks) Lost(tgid uint32, id int, arg0, ret int64) {
	e := m.procs[tgid]
	if e == nil {
		return
	}
	fd := ret
	if id == sysClose {
		fd = arg0
	}
	if fd >= 0 && fd < FDMarkFDs {
		e.set[fd] = true
	}
}

func (m *FDMarks) fresh(tgid uint32, poison bool) *fdMark {
	e := &fdMark{poison: poison}
	for i := range e.set {
		e.set[i] = true
	}
	m.procs[tgid] = e
	return e
}

// Fork gives a new process child the marks of parent (fork_marks):
// shared is whether they share one descriptor table, quiet whether the
// kernel may copy the parent's marks: the parent has one thread, or no
// update of its marks was in flight across the fork (ops in capture.c;
// this sequential model cannot show that race, see TestFDMarksReplay).
func (m *FDMarks) Fork(parent, child uint32, shared, quiet bool) {
	if parent == child {
		return
	}
	if shared {
		m.fresh(parent, true)
		m.fresh(child, true)
		return
	}
	if e := m.procs[parent]; e != nil && quiet {
		cp := *e
		m.procs[child] = &cp
		return
	}
	delete(m.procs, child)
}

// Exit removes the marks of a process whose last thread exited.
func (m *FDMarks) Exit(tgid uint32) { delete(m.procs, tgid) }
