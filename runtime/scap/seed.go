package scap

import (
	"net/netip"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// SeedStats count what [Seed] put in the state.
type SeedStats struct {
	Threads, FDs int
	// SkippedFDs are fd entries of a type the state does not track.
	SkippedFDs int
}

// openFlagsParam is the catalog's open flags parameter, for translating
// the fd table's PPM open flags.
var openFlagsParam = func() *catalog.Param {
	e, _ := catalog.EventByName("openat")
	if e == nil {
		return nil
	}
	i, ok := e.Param("flags")
	if !ok {
		return nil
	}
	return &e.Params[i]
}()

// Seed creates the capture's threads and their descriptors in t, as they
// were when the capture started (ts is the time of its first event).
func Seed(t *state.Table, h *Header, ts int64) SeedStats {
	var st SeedStats
	// Parents first, so that each thread finds its parent.
	done := make(map[int64]bool, len(h.Threads))
	var add func(th *Thread, depth int)
	add = func(th *Thread, depth int) {
		if done[th.Tid] {
			return
		}
		done[th.Tid] = true
		if p := h.ThreadByTid[th.PTid]; p != nil && depth < 64 {
			add(p, depth+1)
		}
		if th.Pid != th.Tid {
			if l := h.ThreadByTid[th.Pid]; l != nil && depth < 64 {
				add(l, depth+1)
			}
		}
		pc := ProcContext(th)
		state.ApplyProc(t, ts, th.Tid, th.Pid, &pc)
		st.Threads++
	}
	for _, th := range h.Threads {
		add(th, 0)
	}
	for _, th := range h.Threads {
		for i := range th.FDs {
			if seedFD(t, th.Tid, &th.FDs[i]) {
				st.FDs++
			} else {
				st.SkippedFDs++
			}
		}
	}
	return st
}

// ProcContext describes a process list entry as the state's process
// context.
func ProcContext(th *Thread) event.ProcContext {
	pc := event.ProcContext{
		Known: event.KnownPPid | event.KnownComm | event.KnownExe | event.KnownExePath | event.KnownArgs |
			event.KnownEnv | event.KnownCwd | event.KnownUID | event.KnownGID | event.KnownLoginUID |
			event.KnownTTY | event.KnownCaps,
		PPid: th.PTid, Comm: th.Comm, Exe: th.Exe, ExePath: th.ExePath, Args: th.Args, Env: th.Env,
		Cwd: th.Cwd, UID: th.UID, GID: th.GID, LoginUID: th.LoginUID, TTY: th.TTY,
		Caps: event.Caps{Effective: th.CapEffective, Permitted: th.CapPermitted, Inheritable: th.CapInheritable},
	}
	if th.Vtid >= 0 {
		pc.Known |= event.KnownVtid
		pc.Vtid = th.Vtid
	}
	if th.Vpid >= 0 {
		pc.Known |= event.KnownVpid
		pc.Vpid = th.Vpid
	}
	if th.Sid >= 0 || th.Pgid >= 0 || th.Vpgid >= 0 {
		pc.Known |= event.KnownSession
		pc.Sid, pc.Pgid, pc.Vpgid = th.Sid, th.Pgid, th.Vpgid
	}
	if len(th.Cgroups) > 0 {
		pc.Known |= event.KnownCgroups
		for _, cg := range th.Cgroups {
			ctl, path, ok := strings.Cut(cg, "=")
			if !ok {
				continue
			}
			pc.Cgroups = append(pc.Cgroups, container.Cgroup{Controllers: ctl, Path: path})
		}
	}
	return pc
}

// linuxOpenFlags translates PPM open flags into Linux values.
func linuxOpenFlags(v uint32) uint32 {
	if openFlagsParam == nil {
		return 0
	}
	d := Decoder{}
	pp := ppmParam{Type: catalog.ParamFlags32, Names: ppmFlags_file_flags}
	return uint32(d.linuxFlags(&pp, openFlagsParam, uint64(v)))
}

func seedFD(t *state.Table, tid int64, f *FD) bool {
	switch f.Type {
	case FDFile, FDFileV2:
		var fl uint32
		if f.Type == FDFileV2 {
			fl = linuxOpenFlags(f.OpenFlags)
		}
		if fd := t.Open(tid, f.Num, f.Name, fl, 0, event.AtFDCWD); fd != nil {
			fd.Dev, fd.Ino = f.Dev, f.Ino
			return true
		}
	case FDDirectory:
		return t.Add(tid, f.Num, state.FDDirectory, f.Name, 0) != nil
	case FDIPv4Sock, FDIPv6Sock:
		fd := t.Connect(tid, f.Num, netip.AddrPortFrom(f.SIP.Unmap(), f.SPort), netip.AddrPortFrom(f.DIP.Unmap(), f.DPort))
		if fd != nil {
			fd.L4Proto = l4(f.L4Proto)
			return true
		}
	case FDIPv4Serv, FDIPv6Serv:
		fd := t.Bind(tid, f.Num, netip.AddrPortFrom(f.SIP.Unmap(), f.SPort))
		if fd != nil {
			fd.L4Proto = l4(f.L4Proto)
			t.Listen(tid, f.Num)
			return true
		}
	case FDUnixSock:
		return t.ConnectUnix(tid, f.Num, f.Name) != nil
	case FDFifo:
		return t.Add(tid, f.Num, state.FDPipe, f.Name, 0) != nil
	case FDMemfd:
		return t.Add(tid, f.Num, state.FDMemfd, f.Name, 0) != nil
	default:
		if typ, ok := fdTypes[f.Type]; ok {
			return t.Add(tid, f.Num, typ, f.Name, 0) != nil
		}
	}
	return false
}

var fdTypes = map[uint8]state.FDType{
	FDEvent: state.FDEvent, FDSignalfd: state.FDSignalfd, FDEventpoll: state.FDEventPoll,
	FDInotify: state.FDInotify, FDTimerfd: state.FDTimerfd, FDNetlink: state.FDNetlink, FDBPF: state.FDBPF,
	FDUserfaultfd: state.FDUserfaultfd, FDIOUring: state.FDIOUring, FDUnsupported: state.FDUnknown,
	FDPidfd: state.FDUnknown,
}

func l4(p uint8) state.L4Proto {
	switch p {
	case L4TCP:
		return state.L4TCP
	case L4UDP:
		return state.L4UDP
	case L4ICMP:
		return state.L4ICMP
	case L4Raw:
		return state.L4Raw
	}
	return state.L4Unknown
}
