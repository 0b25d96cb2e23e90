package state

import (
	"strings"
	"time"

	"github.com/falcoc/falcoc/runtime/state/container"
)

// CloneFlags are the clone(2) flags of a fork, with Linux's values.
type CloneFlags uint64

// Clone flags the table looks at.
const (
	CloneVM      CloneFlags = 0x100
	CloneFS      CloneFlags = 0x200
	CloneFiles   CloneFlags = 0x400
	CloneParent  CloneFlags = 0x8000
	CloneThread  CloneFlags = 0x10000
	CloneNewPID  CloneFlags = 0x20000000
	CloneNewUser CloneFlags = 0x10000000
)

// Defaults for [Options].
const (
	DefaultMaxThreads       = 131072
	DefaultProcReadsPerSec  = 1000
	DefaultMaxAncestorDepth = 256
	commLen                 = 15
	capCacheSize            = 1024
	hotThreads              = 16
)

// Options configure a [Table]. The zero value gives the defaults.
type Options struct {
	// MaxThreads bounds the number of threads kept; inserting beyond it
	// evicts one (counted in [Stats].Evicted). Default DefaultMaxThreads.
	MaxThreads int
	// ProcRoot is where procfs is mounted. Default "/proc".
	ProcRoot string
	// ProcReadsPerSec bounds the lazy /proc reads [Table.Lookup] makes on
	// a miss. Negative disables them. Default DefaultProcReadsPerSec.
	ProcReadsPerSec int
	// Containers recognises container cgroups. Default: the package
	// defaults of [container.ParseCgroup].
	Containers *container.Parser
	// Now returns the current time; tests set it. Default time.Now.
	Now func() time.Time
}

// Stats are the table's counters.
type Stats struct {
	Threads      int    // threads in the table, including exited ones not yet removed
	Processes    int    // processes in the table
	Evicted      uint64 // threads dropped because the table was full
	ProcReads    uint64 // lazy /proc reads made by Lookup and the updates
	ProcFailures uint64 // lazy /proc reads that found nothing
	ProcLimited  uint64 // lazy /proc reads skipped by the rate limit
	Removed      uint64 // exited threads removed
}

// Table is the process and thread table: what the kernel's task list
// looked like at the events seen so far. Threads are keyed by host tid;
// the threads of one process (one tgid) share a [Process].
//
// A Table is not safe for concurrent use: one goroutine (the engine)
// updates it and reads it. Pointers returned by lookups stay valid until
// the thread is removed; do not keep them across events.
type Table struct {
	opts    Options
	parser  *container.Parser
	threads map[int64]*Thread
	procs   map[int64]*Process
	pending []*Thread // exited, removed at the next lifecycle update
	stats   Stats

	capNames map[uint64]string

	// hot holds threads Lookup found, by tid modulo hotThreads, to skip
	// the map for the busy threads; each is nil or a thread in threads
	// under its Tid (every delete from threads clears them all).
	hot [hotThreads]*Thread
	// clean holds absolute paths found clean (see resolveOpen), in slots
	// picked by their address.
	clean [1 << cleanBits]string

	// freeFDs are FDs of closed descriptors, kept for reuse by Open.
	freeFDs []*FD
	// nameOld and nameNew are Connect's buffers to compare names.
	nameOld, nameNew []byte

	boot uint64 // boot time, ns since the epoch

	// lazy /proc rate limit
	budgetSec  int64
	budgetUsed int
}

// NewTable returns an empty table. opts may be nil.
func NewTable(opts *Options) *Table {
	t := &Table{
		threads:  make(map[int64]*Thread),
		procs:    make(map[int64]*Process),
		capNames: make(map[uint64]string),
	}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.MaxThreads <= 0 {
		t.opts.MaxThreads = DefaultMaxThreads
	}
	if t.opts.ProcRoot == "" {
		t.opts.ProcRoot = "/proc"
	}
	if t.opts.ProcReadsPerSec == 0 {
		t.opts.ProcReadsPerSec = DefaultProcReadsPerSec
	}
	if t.opts.Now == nil {
		t.opts.Now = time.Now
	}
	t.parser = t.opts.Containers
	if t.parser == nil {
		t.parser = &container.Parser{ContainerdNamespaces: container.DefaultContainerdNamespaces}
	}
	return t
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Threads = len(t.threads)
	s.Processes = len(t.procs)
	return s
}

// MaxThreads is the bound on the number of threads kept (Options.MaxThreads).
func (t *Table) MaxThreads() int { return t.opts.MaxThreads }

// Len returns the number of threads in the table.
func (t *Table) Len() int { return len(t.threads) }

// Get returns the thread with host id tid, or nil. Unlike [Table.Lookup]
// it never reads /proc.
func (t *Table) Get(tid int64) *Thread {
	if h := t.hot[uint64(tid)%hotThreads]; h != nil && h.Tid == tid {
		return h
	}
	return t.threads[tid]
}

// Process returns the process with host pid pid, or nil.
func (t *Table) Process(pid int64) *Process { return t.procs[pid] }

// Lookup returns the thread with host id tid. On a miss it reads
// /proc/<tid> (at most Options.ProcReadsPerSec times a second) and adds
// what it finds; it returns nil when the thread is unknown.
func (t *Table) Lookup(tid int64) *Thread {
	slot := &t.hot[uint64(tid)%hotThreads]
	if h := *slot; h != nil && h.Tid == tid {
		return h
	}
	if th := t.threads[tid]; th != nil {
		*slot = th
		return th
	}
	if tid <= 0 {
		return nil
	}
	return t.loadLazy(tid)
}

// Each calls fn for every thread, in no particular order, until fn
// returns false. fn must not update the table.
func (t *Table) Each(fn func(*Thread) bool) {
	for _, th := range t.threads {
		if !fn(th) {
			return
		}
	}
}

func (t *Table) allowProcRead() bool {
	if t.opts.ProcReadsPerSec < 0 {
		return false
	}
	sec := t.opts.Now().Unix()
	if sec != t.budgetSec {
		t.budgetSec, t.budgetUsed = sec, 0
	}
	if t.budgetUsed >= t.opts.ProcReadsPerSec {
		t.stats.ProcLimited++
		return false
	}
	t.budgetUsed++
	t.stats.ProcReads++
	return true
}

// Flush removes the threads that exited. The lifecycle updates (Fork,
// Exec, Exit) call it first, so an exited thread stays visible for the
// rest of the event that reported its exit.
func (t *Table) Flush() {
	if len(t.pending) == 0 {
		return // the usual case, once an event: nothing to write
	}
	for i, th := range t.pending {
		t.remove(th)
		t.pending[i] = nil
	}
	t.pending = t.pending[:0]
}

// remove drops a thread from the table now.
func (t *Table) remove(th *Thread) {
	if t.threads[th.Tid] != th {
		return
	}
	delete(t.threads, th.Tid)
	t.hot = [hotThreads]*Thread{}
	t.stats.Removed++
	p := th.proc
	p.nthreads--
	if !th.exited {
		p.live--
	}
	if p.main == th {
		p.main = nil
		for _, o := range t.threadsOf(p) {
			p.main = o
			break
		}
	}
	if p.nthreads <= 0 {
		t.dropProcess(p)
	}
}

func (t *Table) dropProcess(p *Process) {
	if t.procs[p.Pid] != p {
		return
	}
	if p.live > 0 || p.children != nil {
		t.reparentChildren(p)
	}
	delete(t.procs, p.Pid)
	if p.fds != nil {
		p.fds.refs--
	}
	if parent := t.procs[p.PPid]; parent != nil && parent.children != nil {
		delete(parent.children, p.Pid)
	}
}

// threadsOf returns the threads of p (a scan bounded by the map; used
// only on rare paths).
func (t *Table) threadsOf(p *Process) []*Thread {
	var out []*Thread
	if p.main != nil && t.threads[p.main.Tid] == p.main {
		out = append(out, p.main)
	}
	if th := t.threads[p.Pid]; th != nil && th.proc == p && th != p.main {
		out = append(out, th)
	}
	if p.nthreads > len(out) {
		for _, th := range t.threads {
			if th.proc == p && th != p.main && th.Tid != p.Pid {
				out = append(out, th)
			}
		}
	}
	return out
}

// insert adds a thread, evicting one when the table is full.
func (t *Table) insert(th *Thread) {
	if old := t.threads[th.Tid]; old != nil {
		if old.proc == th.proc {
			// Same process: replace without dropping the process.
			delete(t.threads, old.Tid)
			t.hot = [hotThreads]*Thread{}
			t.stats.Removed++
			old.proc.nthreads--
			if !old.exited {
				old.proc.live--
			}
			if old.proc.main == old {
				old.proc.main = nil
			}
		} else {
			t.remove(old)
		}
	}
	for len(t.threads) >= t.opts.MaxThreads {
		if !t.evictOne(th) {
			break
		}
	}
	p := th.proc
	newProc := t.procs[p.Pid] != p
	if old := t.procs[p.Pid]; newProc && old != nil {
		// The pid was reused: whatever is left of the old process is
		// stale.
		for _, o := range t.threadsOf(old) {
			t.remove(o)
		}
		t.dropProcess(old)
	}
	t.threads[th.Tid] = th
	p.nthreads++
	p.live++
	if p.main == nil || th.Tid == p.Pid {
		p.main = th
	}
	if newProc {
		t.procs[p.Pid] = p
		if parent := t.procs[p.PPid]; parent != nil && parent != p {
			parent.addChild(p.Pid)
		}
	}
}

// evictOne drops one thread to make room: among a few, an exited one
// first, then a thread that is not its process's main thread, then any
// that is not keep's process or ancestor.
func (t *Table) evictOne(keep *Thread) bool {
	var victim *Thread
	score := -1
	n := 0
	for _, th := range t.threads {
		if th.proc == keep.proc || th.Tid == 1 {
			continue
		}
		s := 0
		switch {
		case th.exited:
			s = 3
		case th != th.proc.main:
			s = 2
		case th.proc.children == nil:
			s = 1
		}
		if s > score {
			victim, score = th, s
		}
		if n++; n >= 16 || s == 3 {
			break
		}
	}
	if victim == nil {
		return false
	}
	t.stats.Evicted++
	if !victim.exited {
		victim.exited = true
		victim.proc.live--
	}
	t.remove(victim)
	return true
}

// Fork records a clone/fork/vfork: childTid was created by parentTid at
// ts (nanoseconds since the epoch). With CloneThread the child joins the
// parent's process; otherwise it is a new process childPid whose
// descriptor table is shared (CloneFiles) or copied, and whose cwd,
// executable, arguments, environment and cgroups are copied.
func (t *Table) Fork(ts uint64, parentTid, childTid, childPid int64, flags CloneFlags) *Thread {
	t.Flush()
	if childTid <= 0 || childTid == parentTid {
		return nil
	}
	if childPid <= 0 {
		childPid = childTid
	}
	parent := t.Lookup(parentTid)
	if parent == nil {
		// The child is alive now: /proc has the truth.
		if old := t.threads[childTid]; old != nil {
			return old
		}
		if th := t.loadLazy(childTid); th != nil {
			return th
		}
		// Neither the table nor /proc knows the parent: ppid 0, as
		// libsinsp gives a thread whose parent it cannot find.
		p := &Process{Pid: childPid, Vpid: childPid, StartTS: ts, fds: newFDTable()}
		th := &Thread{Tid: childTid, Vtid: childTid, StartTS: ts, proc: p, table: t}
		t.insert(th)
		return th
	}
	pp := parent.proc
	th := &Thread{
		Tid:     childTid,
		StartTS: ts,
		table:   t,
		comm:    parent.comm,
		Creds:   parent.Creds,
		Caps:    parent.Caps,
	}
	if flags&CloneThread != 0 && pp.Pid == childPid {
		th.proc = pp
		if pp.Vpid == pp.Pid {
			th.Vtid = childTid
		}
		t.insert(th)
		return th
	}
	p := &Process{}
	*p = *pp
	p.Pid = childPid
	p.PPid = pp.Pid
	if flags&CloneParent != 0 {
		p.PPid = pp.PPid
	}
	p.StartTS = ts
	p.main, p.children, p.nthreads, p.live, p.Reaper = nil, nil, 0, 0, false
	switch {
	case pp.fds == nil:
		p.fds = newFDTable()
	case flags&CloneFiles == 0:
		p.fds = pp.fds.clone()
	default:
		p.fds.refs++
	}
	switch {
	case flags&CloneNewPID != 0:
		p.Vpid, th.Vtid = 1, 1
		p.PidNSInitStart = ts
		p.Vpgid, p.Vsid = 0, 0
	case pp.Vpid == pp.Pid:
		p.Vpid, th.Vtid = childPid, childTid
	default:
		p.Vpid, th.Vtid = 0, 0 // unknown until SetVirtualIDs
	}
	th.proc = p
	t.insert(th)
	return th
}

// SetVirtualIDs records the ids a thread has in its own pid namespace
// (thread.vtid, proc.vpid), for events that carry them.
func (t *Table) SetVirtualIDs(tid, vtid, vpid int64) {
	if th := t.threads[tid]; th != nil {
		th.Vtid = vtid
		th.proc.Vpid = vpid
	}
}

// ExecKnown says which optional parts of an [ExecInfo] are set.
type ExecKnown uint32

// Parts of an [ExecInfo].
const (
	ExecCreds ExecKnown = 1 << iota
	ExecCaps
	ExecTTY
	ExecLoginUID
	ExecExeFile // ExeIno, ExeCtime, ExeMtime, ExeFromMemfd, ExeUpperLayer, ExeLowerLayer, ExeWritable
	ExecSession // Pgid, Vpgid, Sid
	// ExecKeepExePath: the event tells neither the executable's path nor
	// the file name (old libscap captures); proc.exepath keeps its value,
	// as libsinsp does.
	ExecKeepExePath
	// ExecEmptyExePath: proc.exepath becomes "" (a capture's process
	// table older than exepath, as libsinsp has it).
	ExecEmptyExePath
)

// ExecInfo carries what an execve event reports beyond the file name,
// arguments and environment. Fields of a part not flagged in Known are
// ignored and the thread keeps its values.
type ExecInfo struct {
	Known ExecKnown
	// Comm is the new task name; empty means the base name of the file,
	// truncated to 15 bytes as the kernel does.
	Comm string
	// ExePath is the full path of the executable (proc.exepath); empty
	// means the file name resolved against the cwd.
	ExePath string
	// Cgroups, when not nil, replace the process's cgroups and so its
	// container.
	Cgroups []container.Cgroup

	Creds    Creds
	Caps     Caps
	TTY      uint32
	LoginUID uint32

	ExeIno        uint64
	ExeCtime      uint64
	ExeMtime      uint64
	ExeFromMemfd  bool
	ExeUpperLayer bool
	ExeLowerLayer bool
	ExeWritable   bool

	Pgid, Vpgid, Sid int64
}

// Exec records a successful execve by tid at ts: the process gets a new
// executable, arguments (argv[0] becomes proc.exe, the rest proc.args) and
// environment; the other threads of the process are gone and descriptors
// opened with O_CLOEXEC are closed. argv and env are kept, not copied:
// the caller must not modify them afterwards.
func (t *Table) Exec(ts uint64, tid int64, filename string, argv, env []string, info ExecInfo) *Thread {
	t.Flush()
	if tid <= 0 {
		return nil
	}
	th := t.threads[tid]
	if th == nil {
		// A non-leader thread exec'd and the leader's exit (de_thread
		// kills it first) came before this record: the exec'ing thread
		// is one of the process's live threads, which carry its state.
		if p := t.procs[tid]; p != nil && p.live > 0 && p.main != nil && !p.main.exited {
			th = p.main
		}
	}
	if th == nil {
		th = t.Lookup(tid)
	}
	if th == nil {
		p := &Process{Pid: tid, Vpid: tid, StartTS: ts, fds: newFDTable()}
		th = &Thread{Tid: tid, Vtid: tid, StartTS: ts, proc: p, table: t}
		t.insert(th)
	}
	p := th.proc
	// The other threads die in de_thread; the caller's tid is the
	// process's after exec.
	if p.nthreads > 1 {
		for _, o := range t.threadsOf(p) {
			if o != th {
				t.remove(o)
			}
		}
	}
	if th.Tid != p.Pid && t.threads[p.Pid] == nil {
		delete(t.threads, th.Tid)
		t.hot = [hotThreads]*Thread{}
		th.Tid, th.Vtid = p.Pid, p.Vpid
		t.threads[th.Tid] = th
	}
	p.main = th
	if len(argv) > 0 {
		p.exe, p.args = argv[0], argv[1:]
	} else {
		p.exe, p.args = filename, nil
	}
	p.env = env
	p.gen++
	if info.Known&ExecEmptyExePath != 0 {
		p.exePath = ""
	} else if info.Known&ExecKeepExePath == 0 {
		p.exePath = info.ExePath
		if p.exePath == "" {
			p.exePath = ResolvePath(p.cwd, filename)
		}
	}
	comm := info.Comm
	if comm == "" {
		comm = Filename(filename)
		if len(comm) > commLen {
			comm = comm[:commLen]
		}
	}
	th.SetComm(comm)
	if info.Cgroups != nil {
		p.setCgroups(t.parser, info.Cgroups)
	}
	if info.Known&ExecCreds != 0 {
		th.Creds = info.Creds
	}
	if info.Known&ExecCaps != 0 {
		th.Caps = info.Caps
	}
	if info.Known&ExecTTY != 0 {
		p.TTY = info.TTY
	}
	if info.Known&ExecLoginUID != 0 {
		p.LoginUID = info.LoginUID
	}
	if info.Known&ExecSession != 0 {
		p.Pgid, p.Vpgid, p.Sid = info.Pgid, info.Vpgid, info.Sid
	}
	if info.Known&ExecExeFile != 0 {
		p.ExeIno, p.ExeCtime, p.ExeMtime = info.ExeIno, info.ExeCtime, info.ExeMtime
		p.ExeFromMemfd, p.ExeUpperLayer, p.ExeLowerLayer, p.ExeWritable =
			info.ExeFromMemfd, info.ExeUpperLayer, info.ExeLowerLayer, info.ExeWritable
	} else {
		p.ExeFromMemfd = strings.HasPrefix(p.exePath, "/memfd:")
	}
	p.ExecTS = ts
	p.unshareFDs()
	p.fds.closeExec()
	return th
}

// Exit records that tid exited at ts. The thread stays visible (marked
// exited) until the next Fork, Exec, Exit or [Table.Flush]. When it was
// the last thread of its process, the process's children are given to
// the nearest ancestor that reaps orphans (a child subreaper or the init
// of the pid namespace).
func (t *Table) Exit(ts uint64, tid int64) {
	t.Flush()
	th := t.threads[tid]
	if th == nil || th.exited {
		return
	}
	th.exited = true
	th.ExitTS = ts
	p := th.proc
	p.live--
	if p.main == th && p.live > 0 {
		for _, o := range t.threadsOf(p) {
			if !o.exited {
				p.main = o
				break
			}
		}
	}
	if p.live <= 0 {
		t.reparentChildren(p)
	}
	t.pending = append(t.pending, th)
}

// reparentChildren gives p's children to their new reaper.
func (t *Table) reparentChildren(p *Process) {
	if p.children == nil {
		return
	}
	reaper := t.reaperFor(p)
	var rp int64
	if reaper != nil {
		rp = reaper.Pid
	}
	for pid := range p.children {
		if c := t.procs[pid]; c != nil && c.PPid == p.Pid {
			c.PPid = rp
			if reaper != nil {
				reaper.addChild(pid)
			}
		}
	}
	p.children = nil
}

func (t *Table) reaperFor(p *Process) *Process {
	cur := p
	for range DefaultMaxAncestorDepth {
		next := t.procs[cur.PPid]
		if next == nil || next == cur || next == p {
			break
		}
		if next.live > 0 && (next.Reaper || next.Vpid == 1) {
			return next
		}
		cur = next
	}
	if init := t.procs[1]; init != nil && init != p {
		return init
	}
	return nil
}

// SetChildSubreaper records prctl(PR_SET_CHILD_SUBREAPER) for tid's
// process.
func (t *Table) SetChildSubreaper(tid int64, on bool) {
	if th := t.threads[tid]; th != nil {
		th.proc.Reaper = on
	}
}

// SetComm records a new task name for tid (prctl PR_SET_NAME, or a write
// to /proc/self/comm).
func (t *Table) SetComm(tid int64, comm string) {
	if th := t.Lookup(tid); th != nil {
		th.SetComm(comm)
	}
}

// Chdir records chdir(path) by tid; a relative path is resolved against
// the current directory.
func (t *Table) Chdir(tid int64, path string) {
	if th := t.Lookup(tid); th != nil && path != "" {
		th.proc.cwd = ResolvePath(th.proc.cwd, path)
	}
}

// Fchdir records fchdir(fd) by tid. It does nothing when fd is unknown.
func (t *Table) Fchdir(tid, fd int64) {
	if th := t.Lookup(tid); th != nil {
		if f := th.proc.fds.Get(fd); f != nil && !f.lazy && f.name != "" && f.name[0] == '/' {
			th.proc.cwd = f.name
		}
	}
}

// SetUID records setuid(uid) by tid as Linux applies it: with effective
// root all of the real, effective and saved ids change, otherwise only
// the effective one.
func (t *Table) SetUID(tid int64, uid uint32) {
	if th := t.Lookup(tid); th != nil {
		if th.Creds.EUID == 0 {
			th.Creds.UID, th.Creds.SUID = uid, uid
		}
		th.Creds.EUID, th.Creds.FSUID = uid, uid
	}
}

// SetGID records setgid(gid) by tid; see [Table.SetUID].
func (t *Table) SetGID(tid int64, gid uint32) {
	if th := t.Lookup(tid); th != nil {
		if th.Creds.EUID == 0 {
			th.Creds.GID, th.Creds.SGID = gid, gid
		}
		th.Creds.EGID, th.Creds.FSGID = gid, gid
	}
}

// SetResUID records setresuid(r, e, s) (and setreuid with s = -1) by tid.
func (t *Table) SetResUID(tid int64, r, e, s int64) {
	if th := t.Lookup(tid); th != nil {
		setID(&th.Creds.UID, r)
		setID(&th.Creds.EUID, e)
		setID(&th.Creds.SUID, s)
		setID(&th.Creds.FSUID, e)
	}
}

// SetResGID records setresgid(r, e, s) (and setregid with s = -1) by tid.
func (t *Table) SetResGID(tid int64, r, e, s int64) {
	if th := t.Lookup(tid); th != nil {
		setID(&th.Creds.GID, r)
		setID(&th.Creds.EGID, e)
		setID(&th.Creds.SGID, s)
		setID(&th.Creds.FSGID, e)
	}
}

func setID(dst *uint32, v int64) {
	if v >= 0 && v <= 0xffffffff && uint32(v) != 0xffffffff {
		*dst = uint32(v)
	}
}

// SetCreds replaces tid's credentials and capabilities, for events that
// report them whole.
func (t *Table) SetCreds(tid int64, c Creds, caps Caps) {
	if th := t.Lookup(tid); th != nil {
		th.Creds, th.Caps = c, caps
	}
}

// SetSession records setsid/setpgid results for tid's process.
func (t *Table) SetSession(tid int64, pgid, vpgid, sid int64) {
	if th := t.Lookup(tid); th != nil {
		th.proc.Pgid, th.proc.Vpgid, th.proc.Sid = pgid, vpgid, sid
	}
}

// SetCgroups records that tid's process moved to other cgroups.
func (t *Table) SetCgroups(tid int64, cgs []container.Cgroup) {
	if th := t.Lookup(tid); th != nil {
		th.proc.setCgroups(t.parser, cgs)
	}
}
