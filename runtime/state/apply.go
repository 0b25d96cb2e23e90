package state

import (
	"net/netip"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// Linux values the updates test.
const (
	eInProgress     = 115
	fDupFD          = 0
	fDupFDCloexec   = 1030
	prSetName       = 15
	prSetSubreaper  = 36
	oWronlyCreatTru = event.OWronly | event.OCreat | event.OTrunc
)

// ApplyBefore makes the state changes of ev that rules must already see,
// as Falco's parser does before rules run on an exit event: after
// openat the new descriptor exists, after execve the thread has its new
// executable, after clone the child exists, procexit marks the thread
// exited (it stays visible until the next lifecycle update). Call it
// before evaluating rules on ev, and [ApplyAfter] after.
//
// A successful execve by a thread other than the process leader sets
// ev.Tid to the leader's tid, as the kernel does. Failed syscalls change
// nothing. Events that do not change state are
// ignored. Threads that exited in an earlier event are removed first
// ([Table.Flush]).
func ApplyBefore(t *Table, ev *event.Event) {
	var u Updater
	u.Before(t, ev)
}

// Before is [ApplyBefore].
func (u *Updater) Before(t *Table, ev *event.Event) {
	if t == nil || ev == nil || ev.Info == nil {
		return
	}
	t.Flush()
	ai := u.infoOf(ev.Info)
	switch ai.op {
	case opNone, opClose, opCloseRange:
		return
	case opOpen:
		applyOpen(t, ev, ai)
		return
	case opConnect:
		if ev.HasRes() && (ev.Res == 0 || ev.Res == -eInProgress) {
			applyConnect(t, ev, ai)
		}
		return
	}
	if applyProcEvent(t, ev) || applySockEvent(t, ev) {
		return
	}
	applyFDEvent(t, ev)
}

// applyProcEvent applies the process events (creation, exec, exit, cwd,
// credentials, session, name, namespaces). It reports whether ev's type
// is one of them.
func applyProcEvent(t *Table, ev *event.Event) bool {
	ts := uint64(ev.Ts)
	tid := ev.Tid
	switch ev.Info.Name {
	case "clone", "clone3", "fork", "vfork":
		applyClone(t, ev)
	case "execve", "execveat":
		if ev.HasRes() && ev.Res == 0 {
			applyExec(t, ev)
		}
	case "procexit":
		t.Exit(ts, tid)
	case "chdir":
		if ok(ev) {
			if p, has := ev.Str("path"); has {
				t.Chdir(tid, p)
			}
		}
	case "fchdir":
		if ok(ev) {
			if fd, has := ev.Int("fd"); has {
				t.Fchdir(tid, fd)
			}
		}
	case "setuid":
		if ok(ev) {
			if u, has := ev.Uint("uid"); has {
				t.SetUID(tid, uint32(u))
			}
		}
	case "setgid":
		if ok(ev) {
			if g, has := ev.Uint("gid"); has {
				t.SetGID(tid, uint32(g))
			}
		}
	case "setresuid", "setreuid":
		if ok(ev) {
			t.SetResUID(tid, id(ev, "ruid"), id(ev, "euid"), id(ev, "suid"))
		}
	case "setresgid", "setregid":
		if ok(ev) {
			t.SetResGID(tid, id(ev, "rgid"), id(ev, "egid"), id(ev, "sgid"))
		}
	case "setsid":
		if ok(ev) && ev.Res > 0 {
			// The new session and group ids are the caller's pid; in its
			// own namespace that is the vpid.
			vp := ev.Res
			if th := t.Get(tid); th != nil && th.Proc().Vpid > 0 {
				vp = th.Proc().Vpid
			}
			t.SetSession(tid, ev.Res, vp, ev.Res)
		}
	case "prctl":
		if ok(ev) {
			opt, _ := ev.Uint("option")
			switch opt {
			case prSetName:
				if s, has := ev.Str("arg2_str"); has {
					t.SetComm(tid, s)
				}
			case prSetSubreaper:
				n, _ := ev.Int("arg2_int")
				t.SetChildSubreaper(tid, n != 0)
			}
		}
	case "unshare":
		if ok(ev) {
			flags, _ := ev.Uint("flags")
			t.Unshare(tid, CloneFlags(flags))
		}
	default:
		return false
	}
	return true
}

// applySockEvent applies the socket events (creation, connection,
// accept, bind, listen). It reports whether ev's type is one of them.
func applySockEvent(t *Table, ev *event.Event) bool {
	tid := ev.Tid
	switch ev.Info.Name {
	case "socket":
		if ok(ev) {
			dom, _ := ev.Uint("domain")
			typ, _ := ev.Uint("type")
			proto, _ := ev.Uint("proto")
			t.Socket(tid, ev.Res, int(dom), int(typ), int(proto))
		}
	case "socketpair":
		if ok(ev) {
			dom, _ := ev.Uint("domain")
			typ, _ := ev.Uint("type")
			proto, _ := ev.Uint("proto")
			for _, n := range [2]string{"fd1", "fd2"} {
				if fd, has := ev.Int(n); has {
					t.Socket(tid, fd, int(dom), int(typ), int(proto))
				}
			}
		}
	case "connect":
		if ev.HasRes() && (ev.Res == 0 || ev.Res == -eInProgress) {
			applyConnect(t, ev, applyInfoOf(ev.Info))
		}
	case "accept", "accept4":
		if ok(ev) {
			applyAccept(t, ev)
		}
	case "bind":
		if ok(ev) {
			fd, _ := ev.Int("fd")
			if a := ev.Param("addr"); a != nil {
				if a.Family == event.AFUnix {
					t.BindUnix(tid, fd, a.S)
				} else if a.Addr.IsValid() {
					t.Bind(tid, fd, a.Addr)
				}
			}
		}
	case "listen":
		if ok(ev) {
			fd, _ := ev.Int("fd")
			t.Listen(tid, fd)
		}
	default:
		return false
	}
	return true
}

// applyFDEvent applies the other descriptor events (dup, fcntl, pipes,
// memfd, the anonymous descriptors). It reports whether ev's type is one
// of them.
func applyFDEvent(t *Table, ev *event.Event) bool {
	tid := ev.Tid
	switch ev.Info.Name {
	case "dup", "dup2", "dup3":
		if ok(ev) {
			old, _ := ev.Int("oldfd")
			flags, _ := ev.Uint("flags")
			t.Dup(tid, old, ev.Res, flags&event.OCloexec != 0)
		}
	case "fcntl":
		cmd, _ := ev.Uint("cmd")
		if ok(ev) && (cmd == fDupFD || cmd == fDupFDCloexec) {
			fd, _ := ev.Int("fd")
			t.Dup(tid, fd, ev.Res, cmd == fDupFDCloexec)
		}
	case "pipe", "pipe2":
		if ok(ev) {
			r, hasR := ev.Int("fd1")
			w, hasW := ev.Int("fd2")
			if !hasR {
				r = -1
			}
			if !hasW {
				w = -1
			}
			ino, _ := ev.Uint("ino")
			flags, _ := ev.Uint("flags")
			t.Pipe(tid, r, w, ino, uint32(flags))
		}
	case "memfd_create":
		if ok(ev) {
			name, _ := ev.Str("name")
			flags, _ := ev.Uint("flags")
			t.Memfd(tid, ev.Res, name, uint32(flags))
		}
	case "eventfd", "eventfd2":
		addFD(t, ev, FDEvent)
	case "signalfd", "signalfd4":
		addFD(t, ev, FDSignalfd)
	case "timerfd_create":
		addFD(t, ev, FDTimerfd)
	case "inotify_init", "inotify_init1":
		addFD(t, ev, FDInotify)
	case "epoll_create", "epoll_create1":
		addFD(t, ev, FDEventPoll)
	case "userfaultfd":
		addFD(t, ev, FDUserfaultfd)
	case "io_uring_setup":
		addFD(t, ev, FDIOUring)
	case "bpf":
		addFD(t, ev, FDBPF)
	default:
		return false
	}
	return true
}

// ApplyAfter makes the state changes of ev that rules must not see yet:
// close and close_range remove descriptors only after the rules that look
// at the closing descriptor ran.
func ApplyAfter(t *Table, ev *event.Event) {
	var u Updater
	u.After(t, ev)
}

// After is [ApplyAfter].
func (u *Updater) After(t *Table, ev *event.Event) {
	if t == nil || ev == nil || ev.Info == nil {
		return
	}
	switch ai := u.infoOf(ev.Info); ai.op {
	case opClose:
		if _, has := setParam(ev, ai.ret); has && ev.Res == 0 {
			if fd, has := intAt(ev, ai.fd); has {
				t.Close(ev.Tid, fd)
			}
		}
	case opCloseRange:
		if ev.HasRes() && ev.Res == 0 {
			first, _ := ev.Uint("first")
			last, _ := ev.Uint("last")
			flags, _ := ev.Uint("flags")
			t.CloseRange(ev.Tid, first, last, uint32(flags))
		}
	}
}

// ok reports a successful syscall: a return value that is set and not
// negative.
func ok(ev *event.Event) bool { return ev.HasRes() && ev.Res >= 0 }

// id returns an id parameter as setresuid takes it: -1 when absent or
// 0xffffffff.
func id(ev *event.Event, name string) int64 {
	v, has := ev.Uint(name)
	if !has || uint32(v) == 0xffffffff {
		return -1
	}
	return int64(uint32(v))
}

func addFD(t *Table, ev *event.Event, typ FDType) {
	if ok(ev) {
		t.Add(ev.Tid, ev.Res, typ, "", 0)
	}
}

func applyClone(t *Table, ev *event.Event) {
	if !ev.HasRes() || ev.Res < 0 {
		return
	}
	flags, _ := ev.Uint("flags")
	cf := CloneFlags(flags)
	if ev.Info.Name == "vfork" {
		cf |= CloneVM
	}
	ts := uint64(ev.Ts)
	if ev.Res > 0 {
		// Parent side: the child's host tid is the result.
		child := ev.Res
		childPid := child
		if cf&CloneThread != 0 {
			childPid = ev.Pid
		}
		if t.Get(child) == nil {
			th := t.Fork(ts, ev.Tid, child, childPid, cf)
			// A parent the table does not know gave the child nothing:
			// its name is the parent's, which the event states.
			if c, has := ev.Str("comm"); has && c != "" && th != nil && th.Comm() == "" {
				t.SetComm(child, c)
			}
		}
		return
	}
	// Child side: the event's thread is the child.
	if t.Get(ev.Tid) != nil {
		setVirtual(t, ev)
		return
	}
	parent, has := ev.Int("ptid")
	if !has {
		parent = 0
	}
	if cf&CloneThread == 0 && parent > 0 {
		// ptid is the parent thread; without CLONE_THREAD the child is a
		// new process.
		if pth := t.Get(parent); pth != nil && pth.Pid() == ev.Pid {
			cf |= CloneThread
		}
	}
	th := t.Fork(ts, parent, ev.Tid, ev.Pid, cf)
	if th == nil {
		return
	}
	setVirtual(t, ev)
	if parent <= 0 || t.Get(parent) == nil {
		// The parent is unknown: the event says what the child is.
		ctx := event.ProcContext{}
		if s, has := ev.Str("exe"); has {
			ctx.Known |= event.KnownExe
			ctx.Exe = s
		}
		if a := ev.Param("args"); a != nil {
			ctx.Known |= event.KnownArgs
			ctx.Args = event.Strings(a.B)
		}
		if s, has := ev.Str("cwd"); has && s != "" {
			ctx.Known |= event.KnownCwd
			ctx.Cwd = s
		}
		if s, has := ev.Str("comm"); has && s != "" {
			ctx.Known |= event.KnownComm
			ctx.Comm = s
		}
		if cg := cgroupsOf(ev); cg != nil {
			ctx.Known |= event.KnownCgroups
			ctx.Cgroups = cg
		}
		ApplyProc(t, ev.Ts, ev.Tid, ev.Pid, &ctx)
	}
}

func setVirtual(t *Table, ev *event.Event) {
	vtid, hasT := ev.Int("vtid")
	vpid, hasP := ev.Int("vpid")
	if hasT && hasP && vtid > 0 && vpid > 0 {
		t.SetVirtualIDs(ev.Tid, vtid, vpid)
	}
}

// cgroupsOf decodes a "cgroups" parameter: NUL-separated
// "controllers=path" entries.
func cgroupsOf(ev *event.Event) []container.Cgroup {
	p := ev.Param("cgroups")
	if p == nil || len(p.B) == 0 {
		return nil
	}
	var out []container.Cgroup
	event.SplitNUL(p.B, func(s []byte) {
		for i, c := range s {
			if c == '=' {
				out = append(out, container.Cgroup{Controllers: string(s[:i]), Path: string(s[i+1:])})
				return
			}
		}
		if len(s) > 0 {
			out = append(out, container.Cgroup{Path: string(s)})
		}
	})
	return out
}

func applyExec(t *Table, ev *event.Event) {
	exe, _ := ev.Str("exe")
	filename, hasFile := ev.Str("filename")
	if !hasFile || filename == "" {
		filename = exe
	}
	var args []string
	if a := ev.Param("args"); a != nil {
		args = event.Strings(a.B)
	}
	argv := make([]string, 0, len(args)+1)
	argv = append(argv, exe)
	argv = append(argv, args...)
	var env []string
	if e := ev.Param("env"); e != nil {
		env = event.Strings(e.B)
	}
	info := &ExecInfo{}
	if s, has := ev.Str("comm"); has {
		info.Comm = s
	}
	if s, has := ev.Str("trusted_exepath"); has && s != "" {
		info.ExePath = s
	} else if has && !hasFile {
		// Set but empty, and no file name: the path is unknown (a
		// libscap capture older than trusted_exepath).
		info.Known |= ExecKeepExePath
	}
	if cwd, has := ev.Str("cwd"); has && cwd != "" {
		if th := t.Get(ev.Tid); th == nil || th.Cwd() == "" {
			t.Chdir(ev.Tid, cwd)
		}
	}
	info.Cgroups = cgroupsOf(ev)
	if u, has := ev.Uint("uid"); has {
		info.Known |= ExecCreds
		g, _ := ev.Uint("gid")
		info.Creds = Creds{UID: uint32(u), EUID: uint32(u), SUID: uint32(u), FSUID: uint32(u),
			GID: uint32(g), EGID: uint32(g), SGID: uint32(g), FSGID: uint32(g)}
		if th := t.Get(ev.Tid); th != nil {
			// The event reports the effective ids; keep the thread's
			// real ids when they differ only by a setuid binary.
			info.Creds.UID, info.Creds.GID = th.Creds.UID, th.Creds.GID
			if th.Creds.EUID == th.Creds.UID {
				info.Creds.UID = uint32(u)
			}
			if th.Creds.EGID == th.Creds.GID {
				info.Creds.GID = uint32(g)
			}
		}
	}
	if ce, has := ev.Uint("cap_effective"); has {
		info.Known |= ExecCaps
		cp, _ := ev.Uint("cap_permitted")
		ci, _ := ev.Uint("cap_inheritable")
		info.Caps = Caps{Effective: ce, Permitted: cp, Inheritable: ci}
	}
	if v, has := ev.Uint("tty"); has {
		info.Known |= ExecTTY
		info.TTY = uint32(v)
	}
	if v, has := ev.Uint("loginuid"); has {
		info.Known |= ExecLoginUID
		info.LoginUID = uint32(v)
	}
	if ino, has := ev.Uint("exe_ino"); has {
		info.Known |= ExecExeFile
		info.ExeIno = ino
		info.ExeCtime, _ = ev.Uint("exe_ino_ctime")
		info.ExeMtime, _ = ev.Uint("exe_ino_mtime")
		f, _ := ev.Uint("flags")
		info.ExeWritable = f&1 != 0
		info.ExeUpperLayer = f&2 != 0
		info.ExeFromMemfd = f&4 != 0
		info.ExeLowerLayer = f&8 != 0
	}
	pg, hasPg := ev.Int("pgid")
	vpg, hasVpg := ev.Int("vpgid")
	if hasPg || hasVpg {
		if th := t.Get(ev.Tid); th != nil {
			p := th.Proc()
			info.Pgid, info.Vpgid, info.Sid = p.Pgid, p.Vpgid, p.Sid
		}
		info.Known |= ExecSession
		if hasPg {
			info.Pgid = pg
		}
		if hasVpg {
			info.Vpgid = vpg
		}
	}
	// A thread other than the leader that execs takes over the leader's
	// tid; the event is then the leader's.
	if th := t.Exec(uint64(ev.Ts), ev.Tid, filename, argv, env, *info); th != nil && th.Tid != ev.Tid {
		ev.Tid = th.Tid
	}
}

func applyOpen(t *Table, ev *event.Event, ai *applyInfo) {
	if !okAt(ev, ai) {
		return
	}
	var name string
	if p, has := setParam(ev, ai.name); has {
		name = p.S
	}
	flags, _ := uintAt(ev, ai.flags)
	mode, _ := uintAt(ev, ai.mode)
	dirfd := int64(event.AtFDCWD)
	switch {
	case ai.creat:
		flags = oWronlyCreatTru
	case ai.at:
		if d, has := intAt(ev, ai.dirfd); has {
			dirfd = d
		} else if d, has := intAt(ev, ai.mountfd); has {
			dirfd = d
		}
	}
	f := t.Open(ev.Tid, ev.Res, name, uint32(flags), uint32(mode), dirfd)
	if f == nil {
		return
	}
	if dev, has := uintAt(ev, ai.dev); has {
		f.Dev = uint32(dev)
	}
	if ino, has := uintAt(ev, ai.ino); has {
		f.Ino = ino
	}
	f.UpperLayer = flags&event.FDUpperLayer != 0
	f.LowerLayer = flags&event.FDLowerLayer != 0
	if ai.creat {
		if cf, has := uintAt(ev, ai.creatFl); has {
			f.UpperLayer = cf&1 != 0
			f.LowerLayer = cf&2 != 0
		}
	}
}

// applyConnect applies a connect; ai is its type's applyInfo (the
// parameters' positions).
func applyConnect(t *Table, ev *event.Event, ai *applyInfo) {
	fd, has := intAt(ev, ai.fd)
	if !has {
		return
	}
	if tp, has := setParam(ev, ai.tuple); has {
		if tp.Family == event.AFUnix {
			t.ConnectUnix(ev.Tid, fd, tp.S)
			return
		}
		if tp.Server.IsValid() {
			t.Connect(ev.Tid, fd, tp.Client, tp.Server)
			return
		}
	}
	if a, has := setParam(ev, ai.addr); has {
		if a.Family == event.AFUnix {
			t.ConnectUnix(ev.Tid, fd, a.S)
		} else if a.Addr.IsValid() {
			t.Connect(ev.Tid, fd, netip.AddrPort{}, a.Addr)
		}
	}
}

func applyAccept(t *Table, ev *event.Event) {
	tp := ev.Param("tuple")
	if tp != nil && tp.Family == event.AFUnix {
		if f := t.Add(ev.Tid, ev.Res, FDUnix, tp.S, 0); f != nil {
			f.UnixPath, f.Server, f.Connected, f.Family = tp.S, true, true, event.AFUnix
		}
		return
	}
	var local, remote netip.AddrPort
	if tp != nil {
		// Falco's accept tuple reads client->server.
		remote, local = tp.Client, tp.Server
	}
	t.Accept(ev.Tid, -1, ev.Res, local, remote)
}
