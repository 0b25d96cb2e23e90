package kplan

import (
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// UserJudge applies the kernel prefilter's judgement in userspace, to
// events that did not come through the kernel (a replay): it builds the
// facts the kernel would have seen from the event and the thread's state
// and returns the surviving clause mask, so the engine evaluates only the
// rules that can match. It is as sound as the kernel's tables: the task
// facts it reads (comm, effective uid, container) are the very values the
// rules' proc.name, user.uid and container.id read. Likewise it feeds the
// exe dimension proc.exepath as the exec left it, and the socket
// dimension the address the descriptor table holds after connect or bind
// (the remote or local end), when the call updated them; see the mapping
// in compiler/plan.
//
// A UserJudge is not safe for concurrent use.
type UserJudge struct {
	j *plan.Judger
	// sys holds the judged facts of each syscall event, indexed by
	// catalog.Event.ID; ok is false for events the kernel does not judge.
	sys []judgeInfo
}

// infoOf returns the judge facts of ev.
func (u *UserJudge) infoOf(ev *catalog.Event) (judgeInfo, bool) {
	if ev == nil || ev.ID <= 0 || ev.ID >= len(u.sys) {
		return judgeInfo{}, false
	}
	info := u.sys[ev.ID]
	return info, info.ok
}

type judgeInfo struct {
	ok                    bool
	id                    int
	flags, path, arg0, fd int // param indexes, -1 when absent
}

// NewUserJudge prepares the judge for plan p.
func NewUserJudge(p *plan.Plan) *UserJudge {
	u := &UserJudge{j: plan.NewJudger(p), sys: make([]judgeInfo, catalog.NumEvents()+1)}
	for _, ev := range catalog.Events() {
		id, ok := catalog.SyscallID(ev.Name)
		if !ok || !ev.Syscall {
			continue
		}
		info := judgeInfo{ok: true, id: id, flags: -1, path: -1, arg0: -1, fd: -1}
		for i, prm := range ev.Params {
			switch {
			case prm.Name == "fd" && prm.Type == catalog.ParamFD && info.fd < 0 && i > 0:
				info.fd = i
			case prm.Name == "flags" && info.flags < 0:
				info.flags = i
			case (prm.Name == "request" || prm.Name == "domain" && (ev.Name == "socket" || ev.Name == "socketpair")) && info.arg0 < 0:
				// The first argument: ptrace's request, the socket's domain.
				info.arg0 = i
			case prm.Type == catalog.ParamFSPath && info.path < 0:
				info.path = i
			}
		}
		u.sys[ev.ID] = info
	}
	return u
}

// Mask returns the clauses that survive for ev, whose thread is th (nil
// when unknown: then nothing can be judged and every clause survives).
func (u *UserJudge) Mask(ev *event.Event, th *state.Thread) plan.Mask {
	info, ok := u.infoOf(ev.Info)
	if !ok || th == nil {
		return plan.AllClauses
	}
	v := plan.KernelView{
		Syscall:   info.id,
		Comm:      th.Comm(),
		EUID:      th.Creds.EUID,
		Container: plan.ContainerUnknown,
	}
	if p := th.Proc(); p != nil && p.ContainerID != "" {
		if p.ContainerID == "host" {
			v.Container = plan.ContainerHost
		} else {
			v.Container = plan.ContainerInside
		}
	}
	if i := info.flags; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.OpenFlags = ev.Params[i].U
	}
	if i := info.arg0; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.Arg0 = ev.Params[i].U
	}
	v.PathUnreadable = true
	if i := info.path; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.Path, v.PathUnreadable = ev.Params[i].S, false
	}
	switch info.id {
	case sysExecve, sysExecveat:
		// After a successful exec (applied before the rules run) the
		// path is proc.exepath; otherwise nothing is known.
		v.Path, v.PathUnreadable = "", true
		if ev.HasRes() && ev.Res == 0 {
			v.Path, v.PathUnreadable = th.ExePath(), false
		}
	case sysConnect, sysBind:
		v.SockUnknown = true
		if i := info.fd; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
			v.SockFamily, v.SockPort, v.SockUnknown = sockOf(ev, th.FD(ev.Params[i].I), info.id == sysConnect)
		}
	case sysSendto, sysSendmsg:
		v.SendUnknown = true
		if i := info.fd; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
			f := th.FD(ev.Params[i].I)
			v.SendFamily, v.SendType, v.SendProto, v.SendUnknown = sendSockOf(f)
			v.SendConnected = f != nil && f.Connected
		}
	}
	return u.j.JudgeView(&v)
}

// Syscall ids (x86_64) judged from the state.
const (
	sysConnect  = 42
	sysSendto   = 44
	sysSendmsg  = 46
	sysBind     = 49
	sysExecve   = 59
	sysExecveat = 322
)

// Address families.
const (
	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
)

// sendSockOf returns a socket (family, type, protocol) in the socket class
// whose values (see "Sendto and sendmsg" in compiler/prefilter) include
// those of descriptor f, the ones the rules' fd.* read; unknown when f
// is missing or of a type no class holds.
func sendSockOf(f *state.FD) (fam, typ, proto uint16, unknown bool) {
	if f == nil {
		return 0, 0, 0, true
	}
	switch f.Type {
	case state.FDIPv4, state.FDIPv6:
		switch f.L4Proto {
		case state.L4TCP:
			return afInet, 1, 6, false
		case state.L4UDP:
			return afInet, 2, 17, false
		}
		return afInet, 3, 255, false
	case state.FDUnix:
		return afUnix, 1, 0, false
	case state.FDNetlink:
		return afNetlink, 3, 0, false
	}
	return 0, 0, 0, true
}

// sockOf returns the family and port the socket dimension is judged on,
// from descriptor f after connect (remote end) or bind (local end): the
// values the rules' fd.rport, fd.lport, fd.sport, fd.typechar and
// fd.sockfamily read. Unknown unless the call updated the entry (connect
// returned 0 or EINPROGRESS, bind 0) and the entry is what the update
// makes: a unix socket, or an IP socket on the right side with an address.
func sockOf(ev *event.Event, f *state.FD, connect bool) (fam, port uint16, unknown bool) {
	if f == nil || !ev.HasRes() {
		return 0, 0, true
	}
	if connect && ev.Res != 0 && ev.Res != -115 || !connect && ev.Res != 0 {
		return 0, 0, true
	}
	switch f.Type {
	case state.FDUnix:
		return afUnix, 0, false
	case state.FDIPv4, state.FDIPv6:
	default:
		return 0, 0, true
	}
	a := f.Remote
	if !connect {
		a = f.Local
	}
	if !a.IsValid() || f.Server == connect {
		return 0, 0, true
	}
	fam = afInet6
	if a.Addr().Is4() {
		fam = afInet
	}
	return fam, a.Port(), false
}
