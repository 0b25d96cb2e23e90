package state

import (
	"strings"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// Creds are a thread's user and group ids.
type Creds struct {
	UID, EUID, SUID, FSUID uint32
	GID, EGID, SGID, FSGID uint32
}

// Caps are a thread's capability sets, one bit per capability number.
type Caps = event.Caps

// Process is the part of a thread's state that the threads of one
// process (one tgid) share. Its exported fields are read-only for
// callers: change them through [Table] methods.
type Process struct {
	Pid, Vpid int64
	// PPid is the host pid of the parent process (proc.ppid).
	PPid        int64
	Pgid, Vpgid int64
	Sid, Vsid   int64
	// TTY is the controlling terminal's device number (proc.tty).
	TTY      uint32
	LoginUID uint32
	// StartTS is when the process was created (proc.pid.ts), ExecTS when
	// it last called execve; both in nanoseconds since the epoch.
	StartTS uint64
	ExecTS  uint64
	// PidNS is the inode number of the process's pid namespace, when
	// known (read from /proc at seeding).
	PidNS uint64
	// PidNSInitStart is the start time of the init of the process's pid
	// namespace, when known (proc.pidns_init_start_ts).
	PidNSInitStart uint64

	ExeIno        uint64
	ExeCtime      uint64
	ExeMtime      uint64
	ExeFromMemfd  bool
	ExeUpperLayer bool
	ExeLowerLayer bool
	ExeWritable   bool

	// Reaper is true for a child subreaper.
	Reaper bool

	// CgroupPath is the cgroup that identifies the process (the v2 path,
	// or the v1 memory/cpu path on a hybrid host).
	CgroupPath string
	// ContainerID is container.id ("host" on the host), ContainerFullID
	// container.full_id and ContainerType container.type.
	ContainerID     string
	ContainerFullID string
	ContainerType   string

	exe, exePath, cwd string
	// cwdShown is cwd as proc.cwd shows it (with a trailing slash, as
	// Falco's), computed for the cwd value cwdShownFor.
	cwdShown, cwdShownFor string
	args, env             []string
	cgroups               []container.Cgroup
	fds                   *FDTable

	gen         uint64 // bumped when exe, args or env change
	argsGen     uint64
	argsJoined  string
	envGen      uint64
	envJoined   string
	cgroupsStr  string
	exelineGen  uint64
	exeline     string
	cmdLenGen   uint64
	cmdLenValue int

	main     *Thread
	children map[int64]struct{}
	nthreads int // threads in the table
	live     int // threads not exited
}

func (p *Process) addChild(pid int64) {
	if p.children == nil {
		p.children = make(map[int64]struct{})
	}
	p.children[pid] = struct{}{}
}

func (p *Process) setCgroups(parser *container.Parser, cgs []container.Cgroup) {
	p.cgroups = cgs
	p.cgroupsStr = ""
	p.CgroupPath = container.MainPath(cgs)
	p.ContainerID, p.ContainerFullID, p.ContainerType, _ = parser.FromCgroups(cgs)
}

// Exe returns proc.exe: argv[0] as given to execve.
func (p *Process) Exe() string { return p.exe }

// ExePath returns proc.exepath: the full path of the executable.
func (p *Process) ExePath() string { return p.exePath }

// Cwd returns proc.cwd: the current directory ending with a slash, as
// Falco shows it ("/root/"), so that `proc.cwd startswith "/dev/shm/"`
// matches a process whose directory is /dev/shm.
func (p *Process) Cwd() string {
	if p.cwd == "" || p.cwd[len(p.cwd)-1] == '/' {
		return p.cwd
	}
	if p.cwdShownFor != p.cwd {
		p.cwdShown, p.cwdShownFor = p.cwd+"/", p.cwd
	}
	return p.cwdShown
}

// Args returns proc.args as a slice (argv without argv[0]). The caller
// must not modify it.
func (p *Process) Args() []string { return p.args }

// Env returns the environment, one "NAME=value" per entry. The caller
// must not modify it.
func (p *Process) Env() []string { return p.env }

// ArgsString returns the arguments joined by spaces (proc.args in
// output). It allocates only when the arguments changed.
func (p *Process) ArgsString() string {
	if p.argsGen != p.gen || (p.argsJoined == "" && len(p.args) > 0) {
		p.argsJoined = strings.Join(p.args, " ")
		p.argsGen = p.gen
	}
	return p.argsJoined
}

// EnvString returns the environment joined by spaces (proc.env).
func (p *Process) EnvString() string {
	if p.envGen != p.gen || (p.envJoined == "" && len(p.env) > 0) {
		p.envJoined = strings.Join(p.env, " ")
		p.envGen = p.gen
	}
	return p.envJoined
}

// EnvVar returns the value of one environment variable (proc.env[NAME]).
func (p *Process) EnvVar(name string) (string, bool) {
	for _, kv := range p.env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

// Exeline returns proc.exeline: proc.exe followed by the arguments.
func (p *Process) Exeline() string {
	if p.exelineGen != p.gen || p.exeline == "" {
		if len(p.args) == 0 {
			p.exeline = p.exe
		} else {
			p.exeline = p.exe + " " + p.ArgsString()
		}
		p.exelineGen = p.gen
	}
	return p.exeline
}

// CmdLenArgs returns proc.cmdlenargs: the total length of the arguments.
func (p *Process) CmdLenArgs() int {
	if p.cmdLenGen != p.gen || p.cmdLenValue == 0 {
		n := 0
		for _, a := range p.args {
			n += len(a)
		}
		p.cmdLenValue, p.cmdLenGen = n, p.gen
	}
	return p.cmdLenValue
}

// Cgroups returns the process's cgroups. The caller must not modify them.
func (p *Process) Cgroups() []container.Cgroup { return p.cgroups }

// CgroupsString returns thread.cgroups: "controller=path" for every v1
// hierarchy, space separated.
func (p *Process) CgroupsString() string {
	if p.cgroupsStr == "" && len(p.cgroups) > 0 {
		var b strings.Builder
		for _, c := range p.cgroups {
			if c.Controllers == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c.Controllers)
			b.WriteByte('=')
			b.WriteString(c.Path)
		}
		p.cgroupsStr = b.String()
	}
	return p.cgroupsStr
}

// Cgroup returns the path of the hierarchy with the given controller
// (thread.cgroup.<controller>); "" names the v2 hierarchy.
func (p *Process) Cgroup(controller string) (string, bool) {
	for _, c := range p.cgroups {
		if c.Controllers == controller || (controller != "" && hasController(c.Controllers, controller)) {
			return c.Path, true
		}
	}
	return "", false
}

func hasController(list, want string) bool {
	for list != "" {
		c, rest, _ := strings.Cut(list, ",")
		if c == want {
			return true
		}
		list = rest
	}
	return false
}

// FDs returns the process's descriptor table.
func (p *Process) FDs() *FDTable { return p.fds }

// InContainer reports whether the process runs in a container.
func (p *Process) InContainer() bool {
	return p.ContainerID != "" && p.ContainerID != container.HostID
}

// Threads returns the number of live threads (proc.nthreads).
func (p *Process) Threads() int { return p.live }

// Thread is one task: a host thread id with its own name, credentials
// and capabilities, and its share of a [Process]. Exported fields are
// read-only for callers.
type Thread struct {
	Tid, Vtid int64
	Creds     Creds
	Caps      Caps
	// StartTS is the clone time, ExitTS the exit time (0 while alive).
	StartTS uint64
	ExitTS  uint64

	comm   string
	proc   *Process
	table  *Table
	exited bool

	cmdline    string
	cmdlineGen uint64
	cmdlineOK  bool
}

// Proc returns the thread's process.
func (th *Thread) Proc() *Process { return th.proc }

// Pid returns proc.pid.
func (th *Thread) Pid() int64 { return th.proc.Pid }

// IsMain reports thread.ismain.
func (th *Thread) IsMain() bool { return th.Tid == th.proc.Pid }

// Exited reports whether the thread has exited (it is removed after the
// event that reported it).
func (th *Thread) Exited() bool { return th.exited }

// Comm returns proc.name: the task name, at most 15 bytes.
func (th *Thread) Comm() string { return th.comm }

// SetComm changes the task name.
func (th *Thread) SetComm(comm string) {
	if comm != th.comm {
		th.comm = comm
		th.cmdlineOK = false
	}
}

// Cmdline returns proc.cmdline: the name followed by the arguments,
// space separated. It allocates only when the name or arguments changed.
func (th *Thread) Cmdline() string {
	p := th.proc
	if !th.cmdlineOK || th.cmdlineGen != p.gen {
		if len(p.args) == 0 {
			th.cmdline = th.comm
		} else {
			th.cmdline = th.comm + " " + p.ArgsString()
		}
		th.cmdlineGen, th.cmdlineOK = p.gen, true
	}
	return th.cmdline
}

// Args returns proc.args; see [Process.Args].
func (th *Thread) Args() []string { return th.proc.args }

// Exe returns proc.exe.
func (th *Thread) Exe() string { return th.proc.exe }

// ExePath returns proc.exepath.
func (th *Thread) ExePath() string { return th.proc.exePath }

// Cwd returns proc.cwd (see [Process.Cwd]).
func (th *Thread) Cwd() string { return th.proc.Cwd() }

// FD returns descriptor num of the thread's process, or nil.
func (th *Thread) FD(num int64) *FD { return th.proc.fds.Get(num) }

// Duration returns proc.duration at now (nanoseconds since the epoch):
// the time since the process started, 0 when unknown.
func (th *Thread) Duration(now uint64) uint64 {
	if st := th.proc.StartTS; st != 0 && now > st {
		return now - st
	}
	return 0
}

// Parent returns the main thread of the parent process, or nil.
func (th *Thread) Parent() *Thread {
	p := th.proc
	if p.PPid <= 0 {
		return nil
	}
	pp := th.table.procs[p.PPid]
	if pp == nil || pp == p {
		return nil
	}
	return pp.main
}

// Ancestor returns the n-th ancestor: the thread itself for 0, the
// parent for 1, the grandparent for 2, ... or nil. Walks stop after
// DefaultMaxAncestorDepth steps, so a corrupt parent loop cannot hang.
func (th *Thread) Ancestor(n int) *Thread {
	if n > DefaultMaxAncestorDepth || n < 0 {
		return nil
	}
	cur := th
	for i := 0; i < n && cur != nil; i++ {
		cur = cur.Parent()
	}
	return cur
}

// Ancestors calls fn for the parent, grandparent, ... until fn returns
// false, the chain ends, loops back or is DefaultMaxAncestorDepth long.
func (th *Thread) Ancestors(fn func(*Thread) bool) {
	cur := th
	for range DefaultMaxAncestorDepth {
		next := cur.Parent()
		if next == nil || next.proc == th.proc {
			return
		}
		if !fn(next) {
			return
		}
		cur = next
	}
}

// SessionLeader returns the session leader (for proc.sname, proc.sid.exe):
// the process whose pid is proc.sid, or else the eldest ancestor in the
// same session. It returns nil when unknown.
func (th *Thread) SessionLeader() *Thread {
	return th.groupLeader(th.proc.Sid, func(p *Process) int64 { return p.Sid })
}

// PgidLeader returns the process group leader (proc.pgid.name): the
// process whose pid is proc.pgid, or else the eldest ancestor in the same
// group.
func (th *Thread) PgidLeader() *Thread {
	return th.groupLeader(th.proc.Pgid, func(p *Process) int64 { return p.Pgid })
}

// VpgidLeader returns the leader of the process group as seen in the
// process's pid namespace (proc.vpgid.name): the process whose vpid is
// proc.vpgid, or else the eldest ancestor with the same vpgid.
func (th *Thread) VpgidLeader() *Thread {
	id := th.proc.Vpgid
	if id <= 0 {
		return nil
	}
	if th.proc.Vpid == id {
		return th.proc.main
	}
	found := th.proc.main
	th.Ancestors(func(a *Thread) bool {
		if a.proc.Vpgid != id {
			return false
		}
		found = a
		return a.proc.Vpid != id
	})
	return found
}

func (th *Thread) groupLeader(id int64, key func(*Process) int64) *Thread {
	if id <= 0 {
		return nil
	}
	if p := th.table.procs[id]; p != nil && p.main != nil {
		return p.main
	}
	var found *Thread
	if key(th.proc) == id {
		found = th.proc.main
	}
	th.Ancestors(func(a *Thread) bool {
		if key(a.proc) != id {
			return false
		}
		found = a
		return true
	})
	return found
}

// CapEffective returns thread.cap_effective as Falco formats it.
func (th *Thread) CapEffective() string { return th.table.capString(th.Caps.Effective) }

// CapPermitted returns thread.cap_permitted.
func (th *Thread) CapPermitted() string { return th.table.capString(th.Caps.Permitted) }

// CapInheritable returns thread.cap_inheritable.
func (th *Thread) CapInheritable() string { return th.table.capString(th.Caps.Inheritable) }

// LoginUID returns user.loginuid: -1 for the unset value 0xffffffff.
func (th *Thread) LoginUID() int64 {
	if th.proc.LoginUID == 0xffffffff {
		return -1
	}
	return int64(th.proc.LoginUID)
}
