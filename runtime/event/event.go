package event

import (
	"math/bits"
	"net/netip"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
)

// SourceSyscall is the event source of syscall events.
const SourceSyscall = "syscall"

// AllRules is the kernel clause mask of an event whose mask is unknown
// (replays): every rule is a candidate.
var AllRules = plan.AllClauses

// Event is one decoded exit event. It is reused between events: see
// [Event.Reset]. Strings and buffers it holds are only valid until the
// next Reset.
type Event struct {
	// Num is the event's sequence number (evt.num), from 1.
	Num uint64
	// Ts is the event time in nanoseconds since the epoch.
	Ts int64
	// Info is the event type; never nil for a decoded event.
	Info *catalog.Event
	// Tid and Pid are the host thread and process ids of the thread that
	// made the syscall.
	Tid, Pid int64
	// Res is the return value of a syscall (evt.rawres): a negative errno
	// on failure. It mirrors the return parameter (see [Event.RetParam]).
	Res int64
	// CPU is the CPU the event ran on.
	CPU int
	// Params are the parameters, indexed like Info.Params.
	Params []Param
	// Mask is the kernel's clause mask: bit i set when rule clause i may
	// match. [AllRules] when unknown.
	Mask plan.Mask
	// Source is the event source, [SourceSyscall] for syscall events.
	Source string
}

// Param is one event parameter. Which members are meaningful depends on
// the catalog type of the parameter (see the table in
// docs/replay-format.md):
//
//	INT*, ERRNO, FD, PID                 I
//	UINT*, FLAGS*, ENUMFLAGS*, MODE,
//	UID, GID, SIGTYPE, ABSTIME, RELTIME,
//	PORT, BOOL, SYSCALLID, DYNAMIC       U   (flags hold Linux values)
//	DOUBLE                               U   (math.Float64bits)
//	CHARBUF, FSPATH, FSRELPATH, FDLIST   S
//	BYTEBUF, CHARBUFARRAY                B   (arrays NUL-separated)
//	SOCKADDR                             Family, Addr (IP) or S (unix path)
//	SOCKTUPLE                            Family, Client, Server (IP) or S (unix path)
//	IPV4ADDR, IPV6ADDR, IPADDR           Addr (port 0)
type Param struct {
	// Set is false for a parameter the event did not carry.
	Set bool
	I   int64
	U   uint64
	S   string
	B   []byte
	// Addr is a socket address.
	Addr netip.AddrPort
	// Client and Server are the ends of a socket tuple.
	Client, Server netip.AddrPort
	// Family is the address family of a SOCKADDR or SOCKTUPLE (AF_INET
	// 2, AF_INET6 10, AF_UNIX 1).
	Family uint16
}

// Address families used by SOCKADDR and SOCKTUPLE parameters.
const (
	AFUnix  = 1
	AFInet  = 2
	AFInet6 = 10
)

// Reset prepares ev for the event type info: every parameter is unset,
// buffers are kept for reuse. Mask becomes [AllRules] and Source
// [SourceSyscall].
//
// Only the parameters marked Set are cleared (clearing all of them is a
// good part of decoding a small event): whoever fills a parameter sets
// Set with its value, so that a parameter that is not Set holds zero
// values (B aside). A decoder that gives up half-way through an event
// calls [Event.ClearParams].
func (ev *Event) Reset(info *catalog.Event) {
	ev.Num, ev.Ts, ev.Tid, ev.Pid, ev.Res, ev.CPU = 0, 0, 0, 0, 0, 0
	ev.Info = info
	ev.Mask = AllRules
	ev.Source = SourceSyscall
	n := 0
	if info != nil {
		n = len(info.Params)
	}
	if cap(ev.Params) < n {
		ev.Params = make([]Param, n)
	}
	ev.Params = ev.Params[:n]
	for i := range ev.Params {
		p := &ev.Params[i]
		if p.Set {
			p.clear()
		} else if len(p.B) != 0 {
			p.B = p.B[:0]
		}
	}
}

// ResetKeep is [Event.Reset], except that the Set parameters whose bit is
// set in keep (positions below 64) are left as they are: for a decoder
// that is about to overwrite each of them with a value of the same kind as
// the one it holds, in the one member that kind uses (an event of the same
// type that the same decoder filled), and that calls [Event.ClearParams]
// if it gives up.
func (ev *Event) ResetKeep(info *catalog.Event, keep uint64) {
	if info == nil || ev.Info != info || len(ev.Params) != len(info.Params) {
		ev.Reset(info)
		return
	}
	ev.Num, ev.Ts, ev.Tid, ev.Pid, ev.Res, ev.CPU = 0, 0, 0, 0, 0, 0
	ev.Mask = AllRules
	ev.Source = SourceSyscall
	for i := range ev.Params {
		p := &ev.Params[i]
		switch {
		case i < 64 && keep&(1<<i) != 0:
		case p.Set:
			p.clear()
		case len(p.B) != 0:
			p.B = p.B[:0]
		}
	}
}

// ResetSet is [Event.ResetKeep] for a decoder that knows which parameters
// may hold anything: each of ev.Params (its current length) whose bit is
// not in set is unset with an empty buffer, as the decoder leaves an Event
// it reset and then filled with the parameters of set only. Only those of
// set are cleared (not those of keep when info is ev's type), so an event
// type with many parameters costs no more than the few it carried.
// Parameters past the current length (ev.Params grows into its capacity
// for a type with more) are reset as [Event.Reset] does.
func (ev *Event) ResetSet(info *catalog.Event, keep, set uint64) {
	if info == nil || cap(ev.Params) < len(info.Params) {
		ev.Reset(info)
		return
	}
	if ev.Info != info {
		keep = 0
	}
	ev.Num, ev.Ts, ev.Tid, ev.Pid, ev.Res, ev.CPU = 0, 0, 0, 0, 0, 0
	ev.Info = info
	ev.Mask = AllRules
	ev.Source = SourceSyscall
	old, n := len(ev.Params), len(info.Params)
	ev.Params = ev.Params[:n]
	for m := set &^ keep; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if i >= old || i >= n {
			break
		}
		ev.Params[i].reset()
	}
	for i := old; i < n; i++ {
		ev.Params[i].reset()
	}
}

// reset unsets p if it is set, and empties its buffer.
func (p *Param) reset() {
	if p.Set {
		p.clear()
	} else if len(p.B) != 0 {
		p.B = p.B[:0]
	}
}

// clear unsets p, keeping its buffer. (*p = Param{B: p.B[:0]} builds the
// value in a temporary and copies it with loads wider than its stores,
// which stalls.)
func (p *Param) clear() {
	b := p.B[:0]
	*p = Param{}
	p.B = b
}

// ClearParams unsets every parameter whether or not it is marked Set,
// keeping buffers: for a decoder that stopped half-way through filling
// one, before ev is reused.
func (ev *Event) ClearParams() {
	for i := range ev.Params {
		ev.Params[i] = Param{B: ev.Params[i].B[:0]}
	}
}

// Type returns evt.type, "" when the event has no type.
func (ev *Event) Type() string {
	if ev.Info == nil {
		return ""
	}
	return ev.Info.Name
}

// Param returns the parameter called name, or nil when the event type has
// no such parameter or the event did not carry it.
func (ev *Event) Param(name string) *Param {
	i, ok := ev.Info.Param(name)
	if !ok || i >= len(ev.Params) || !ev.Params[i].Set {
		return nil
	}
	return &ev.Params[i]
}

// ParamIndex returns the position of the parameter called name.
func (ev *Event) ParamIndex(name string) (int, bool) { return ev.Info.Param(name) }

// Int returns the signed value of parameter name (I for signed types, U
// converted for unsigned ones).
func (ev *Event) Int(name string) (int64, bool) {
	i, ok := ev.Info.Param(name)
	if !ok || i >= len(ev.Params) || !ev.Params[i].Set {
		return 0, false
	}
	if IsSigned(ev.Info.Params[i].Type) {
		return ev.Params[i].I, true
	}
	return int64(ev.Params[i].U), true
}

// Uint returns the unsigned value of parameter name.
func (ev *Event) Uint(name string) (uint64, bool) {
	i, ok := ev.Info.Param(name)
	if !ok || i >= len(ev.Params) || !ev.Params[i].Set {
		return 0, false
	}
	if IsSigned(ev.Info.Params[i].Type) {
		return uint64(ev.Params[i].I), true
	}
	return ev.Params[i].U, true
}

// Str returns the text of parameter name (S).
func (ev *Event) Str(name string) (string, bool) {
	p := ev.Param(name)
	if p == nil {
		return "", false
	}
	return p.S, true
}

// RetParam returns the position of the parameter that holds the syscall's
// return value (the first parameter when it is called "res" or "fd" and
// has type ERRNO, FD or PID), or -1.
func (ev *Event) RetParam() int { return RetParam(ev.Info) }

// RetParam returns the position of info's return value parameter, or -1;
// see [Event.RetParam].
func RetParam(info *catalog.Event) int {
	if info == nil || !info.Syscall || len(info.Params) == 0 {
		return -1
	}
	p := info.Params[0]
	if p.Name != "res" && p.Name != "fd" {
		return -1
	}
	switch p.Type {
	case catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		return 0
	}
	return -1
}

// HasRes reports whether the event has a return value (evt.res, evt.rawres
// and evt.failed are missing otherwise).
func (ev *Event) HasRes() bool {
	i := ev.RetParam()
	return i >= 0 && i < len(ev.Params) && ev.Params[i].Set
}

// SetRes sets the return value: Res and the return parameter.
func (ev *Event) SetRes(res int64) {
	ev.Res = res
	if i := ev.RetParam(); i >= 0 && i < len(ev.Params) {
		ev.Params[i].Set = true
		ev.Params[i].I = res
	}
}

// Failed reports evt.failed: the syscall returned an error.
func (ev *Event) Failed() bool { return ev.HasRes() && ev.Res < 0 }

// IsSigned reports whether values of parameter type t are held in
// [Param].I (otherwise numbers are in [Param].U).
func IsSigned(t catalog.ParamType) bool {
	switch t {
	case catalog.ParamInt8, catalog.ParamInt16, catalog.ParamInt32, catalog.ParamInt64,
		catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		return true
	}
	return false
}

// SplitNUL calls fn for every NUL-terminated (or final) element of b, as
// execve's args and env are encoded. It allocates nothing.
func SplitNUL(b []byte, fn func(s []byte)) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		fn(b[:i])
		if i == len(b) {
			return
		}
		b = b[i+1:]
	}
}

// Strings returns the NUL-separated elements of b as strings.
func Strings(b []byte) []string {
	var out []string
	SplitNUL(b, func(s []byte) { out = append(out, string(s)) })
	return out
}
