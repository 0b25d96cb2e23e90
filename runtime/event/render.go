package event

import (
	"math"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// Resolver gives the renderer what the event alone does not have: the
// descriptors and task names of the thread's process. A nil Resolver
// renders numbers only.
type Resolver interface {
	// FD returns the type character (fd.typechar) and name (fd.name) of
	// descriptor fd of thread tid.
	FD(tid, fd int64) (typechar byte, name string, ok bool)
	// Comm returns the task name of thread tid.
	Comm(tid int64) (string, bool)
}

// AtFDCWD is the dirfd value meaning "the current directory".
const AtFDCWD = -100

// Rendering follows Falco's two-part model: every parameter has a main
// text (the number, the path, ...) and, for some types, a resolved text
// (the descriptor's name, the flag names, the errno name). evt.arg.NAME
// is the resolved text when there is one, else the main text; evt.args
// shows "name=main(resolved)".
//
//	type        main            resolved
//	FD          3               <f>/etc/passwd     (-100: AT_FDCWD, <0: ENOENT)
//	ERRNO       -2              ENOENT             (none when >= 0)
//	PID         1234            bash
//	FLAGS*      524288          O_RDONLY|O_CLOEXEC
//	ENUMFLAGS*  2               AF_INET
//	SIGTYPE     9               SIGKILL
//	SOCKADDR    1.2.3.4:80
//	SOCKTUPLE   1.2.3.4:5000->5.6.7.8:80

// AppendMain appends the main text of parameter i.
func (ev *Event) AppendMain(dst []byte, i int) []byte {
	if ev.Info == nil || i < 0 || i >= len(ev.Params) || i >= len(ev.Info.Params) {
		return dst
	}
	return appendMain(dst, &ev.Info.Params[i], &ev.Params[i])
}

func appendMain(dst []byte, d *catalog.Param, p *Param) []byte {
	switch d.Type {
	case catalog.ParamInt8, catalog.ParamInt16, catalog.ParamInt32, catalog.ParamInt64,
		catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		return strconv.AppendInt(dst, p.I, 10)
	case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath, catalog.ParamFDList:
		return append(dst, p.S...)
	case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
		return appendPrintable(dst, p.B)
	case catalog.ParamSockAddr:
		if p.Family == AFUnix || (!p.Addr.IsValid() && p.S != "") {
			return append(dst, p.S...)
		}
		return AppendAddrPort(dst, p.Addr)
	case catalog.ParamSockTuple:
		if p.Family == AFUnix || (!p.Client.IsValid() && p.S != "") {
			return append(dst, p.S...)
		}
		return AppendTuple(dst, p.Client, p.Server)
	case catalog.ParamIPv4Addr, catalog.ParamIPv6Addr, catalog.ParamIPAddr,
		catalog.ParamIPv4Net, catalog.ParamIPv6Net, catalog.ParamIPNet:
		if !p.Addr.Addr().IsValid() {
			return dst
		}
		return p.Addr.Addr().Unmap().AppendTo(dst)
	case catalog.ParamMode:
		dst = append(dst, '0')
		return strconv.AppendUint(dst, p.U, 8)
	case catalog.ParamDouble:
		return strconv.AppendFloat(dst, math.Float64frombits(p.U), 'g', -1, 64)
	case catalog.ParamBool:
		if p.U != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	}
	return strconv.AppendUint(dst, p.U, 10)
}

// AppendResolved appends the resolved text of parameter i, if it has one.
func (ev *Event) AppendResolved(dst []byte, i int, r Resolver) []byte {
	if ev.Info == nil || i < 0 || i >= len(ev.Params) || i >= len(ev.Info.Params) {
		return dst
	}
	d, p := &ev.Info.Params[i], &ev.Params[i]
	switch d.Type {
	case catalog.ParamFD:
		switch {
		case p.I == AtFDCWD:
			return append(dst, "AT_FDCWD"...)
		case p.I < 0:
			return appendErrno(dst, p.I)
		case r != nil:
			if c, name, ok := r.FD(ev.Tid, p.I); ok {
				dst = append(dst, '<', c, '>')
				return append(dst, name...)
			}
		}
	case catalog.ParamErrno:
		if p.I < 0 {
			return appendErrno(dst, p.I)
		}
	case catalog.ParamPID:
		if r != nil && p.I > 0 {
			if comm, ok := r.Comm(p.I); ok {
				return append(dst, comm...)
			}
		}
	case catalog.ParamSigType:
		return append(dst, SignalName(p.U)...)
	default:
		if d.Type.IsFlags() {
			return AppendFlagNames(dst, d, p.U)
		}
	}
	return dst
}

// AppendArg appends evt.arg for parameter i: the resolved text when there
// is one, else the main text.
func (ev *Event) AppendArg(dst []byte, i int, r Resolver) []byte {
	n := len(dst)
	dst = ev.AppendResolved(dst, i, r)
	if len(dst) > n {
		return dst
	}
	return ev.AppendMain(dst, i)
}

// AppendArgs appends evt.args: "name=value" for every parameter the event
// carries, space-separated, where value is the main text followed by the
// resolved text in parentheses when there is one.
func (ev *Event) AppendArgs(dst []byte, r Resolver) []byte {
	if ev.Info == nil {
		return dst
	}
	first := true
	for i := range ev.Params {
		if i >= len(ev.Info.Params) || !ev.Params[i].Set {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		dst = append(dst, ev.Info.Params[i].Name...)
		dst = append(dst, '=')
		dst = ev.AppendMain(dst, i)
		n := len(dst)
		dst = append(dst, '(')
		if m := ev.AppendResolved(dst, i, r); len(m) > n+1 {
			dst = append(m, ')')
		} else {
			dst = dst[:n]
		}
	}
	return dst
}

// ErrnoName returns the name of a (positive or negative) Linux errno,
// such as "ENOENT"; "" for 0, the number in text when it has no name.
func ErrnoName(e int64) string {
	if e == 0 {
		return ""
	}
	return string(appendErrno(nil, e))
}

func appendErrno(dst []byte, e int64) []byte {
	if e < 0 {
		e = -e
	}
	if e > 0 && e < 4096 {
		if n := unix.ErrnoName(syscall.Errno(e)); n != "" {
			return append(dst, n...)
		}
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, e, 10)
}

// ParseErrno returns the value of an errno name ("ENOENT" → 2).
func ParseErrno(name string) (int64, bool) {
	v, ok := errnoByName[name]
	return v, ok
}

var errnoByName = func() map[string]int64 {
	m := make(map[string]int64, 140)
	for e := 1; e < 256; e++ {
		if n := unix.ErrnoName(syscall.Errno(e)); n != "" {
			if _, dup := m[n]; !dup {
				m[n] = int64(e)
			}
		}
	}
	return m
}()

// AppendAddrPort appends "ip:port" as Falco prints socket addresses: IPv4
// mapped addresses unmapped, no brackets around IPv6 addresses.
func AppendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.IsValid() {
		dst = a.AppendTo(dst)
	} else {
		dst = append(dst, "0.0.0.0"...)
	}
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(ap.Port()), 10)
}

// AppendTuple appends "client->server" with [AppendAddrPort].
func AppendTuple(dst []byte, client, server netip.AddrPort) []byte {
	dst = AppendAddrPort(dst, client)
	dst = append(dst, "->"...)
	return AppendAddrPort(dst, server)
}

// appendPrintable appends a buffer as Falco's default buffer format does:
// printable ASCII kept, everything else (including NUL separators) shown
// as '.'.
func appendPrintable(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
		} else {
			dst = append(dst, '.')
		}
	}
	return dst
}

// signalName returns the name of a Linux signal ("SIGKILL"), "" when
// unknown.
// SignalName returns the name of signal n ("SIGKILL"); "" when unknown.
func SignalName(n uint64) string {
	if n == 0 || n > 64 {
		return ""
	}
	return unix.SignalName(syscall.Signal(n))
}
