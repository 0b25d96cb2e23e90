package kplan

import (
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// UserJudge applies the kernel prefilter's judgement in userspace, to
// events that did not come through the kernel (a replay): it builds the
// facts the kernel would have seen from the event and the thread's state
// and returns the surviving clause mask, so the engine evaluates only the
// rules that can match. It is as sound as the kernel's tables: the task
// facts it reads (comm, effective uid, container) are the very values the
// rules' proc.name, user.uid and container.id read.
//
// A UserJudge is not safe for concurrent use.
type UserJudge struct {
	j   *prefilter.Judger
	sys map[*catalog.Event]judgeInfo
}

type judgeInfo struct {
	id                   int
	flags, path, request int // param indexes, -1 when absent
}

// NewUserJudge prepares the judge for plan p.
func NewUserJudge(p *prefilter.Plan) *UserJudge {
	u := &UserJudge{j: prefilter.NewJudger(p), sys: map[*catalog.Event]judgeInfo{}}
	for _, ev := range catalog.Events() {
		id, ok := catalog.SyscallID(ev.Name)
		if !ok || !ev.Syscall {
			continue
		}
		info := judgeInfo{id: id, flags: -1, path: -1, request: -1}
		for i, prm := range ev.Params {
			switch {
			case prm.Name == "flags" && info.flags < 0:
				info.flags = i
			case prm.Name == "request" && info.request < 0:
				info.request = i
			case prm.Type == catalog.ParamFSPath && info.path < 0:
				info.path = i
			}
		}
		u.sys[ev] = info
	}
	return u
}

var allClauses = [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// Mask returns the clauses that survive for ev, whose thread is th (nil
// when unknown: then nothing can be judged and every clause survives).
func (u *UserJudge) Mask(ev *event.Event, th *state.Thread) [4]uint64 {
	info, ok := u.sys[ev.Info]
	if !ok || th == nil {
		return allClauses
	}
	v := prefilter.KernelView{
		Syscall:   info.id,
		Comm:      th.Comm(),
		EUID:      th.Creds.EUID,
		Container: prefilter.ContainerUnknown,
	}
	if p := th.Proc(); p != nil && p.ContainerID != "" {
		if p.ContainerID == "host" {
			v.Container = prefilter.ContainerHost
		} else {
			v.Container = prefilter.ContainerInside
		}
	}
	if i := info.flags; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.OpenFlags = ev.Params[i].U
	}
	if i := info.request; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.Arg0 = ev.Params[i].U
	}
	v.PathUnreadable = true
	if i := info.path; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
		v.Path, v.PathUnreadable = ev.Params[i].S, false
	}
	return u.j.Judge(v)
}
