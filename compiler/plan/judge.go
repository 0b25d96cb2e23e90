package plan

import "strings"

// ContainerClass is what the kernel's cgroup table says about the task.
type ContainerClass uint8

// Container classes.
const (
	ContainerHost ContainerClass = iota
	ContainerInside
	ContainerUnknown // cgroup id not in the table
)

// KernelView is what the kernel program sees of one syscall exit.
type KernelView struct {
	// Syscall is the x86_64 syscall id.
	Syscall int
	// Comm is the task name (the kernel keeps at most 15 bytes; a NUL ends
	// it).
	Comm string
	// EUID is the effective uid.
	EUID      uint32
	Container ContainerClass
	// OpenFlags is the flags argument of open, openat and openat2
	// (open_how.flags); creat implies O_CREAT|O_WRONLY|O_TRUNC.
	OpenFlags uint64
	// Path is the first path argument as user memory holds it (a NUL ends
	// it); PathUnreadable is true when it could not be read. For execve
	// and execveat it is the program's path: bprm->filename when the call
	// succeeded, the filename argument when it failed.
	Path           string
	PathUnreadable bool
	// Arg0 is the first syscall argument (the ptrace request, the socket
	// domain).
	Arg0 uint64
	// SockFamily and SockPort are the family and port (host order; 0 for
	// families without ports) of the address passed to connect or bind;
	// SockUnknown is true when the kernel could not read it.
	SockFamily, SockPort uint16
	SockUnknown          bool
	// SendFamily, SendType and SendProto are, for sendto and sendmsg, the
	// family, type and protocol of the socket behind the descriptor
	// (sk_family, sk_type, sk_protocol), SendConnected whether its state
	// is TCP_ESTABLISHED; SendUnknown is true when the descriptor is no
	// socket the kernel could read. The socket table is looked up with
	// [SockClassKey] of them.
	SendFamily, SendType, SendProto uint16
	SendConnected, SendUnknown      bool
}

// Socket classes of sendto and sendmsg (see [SockClassKey]).
const (
	// SockClassBase marks a socket table key as a class (the high bit of
	// the family, which no address family has).
	SockClassBase  = 0x8000
	SockClassOther = SockClassBase | 0 // neither IP nor unix (netlink, packet, ...)
	SockClassUnix  = SockClassBase | 1
	SockClassInet  = SockClassBase | 2 // AF_INET or AF_INET6
	// Ports of an SockClassInet key: the transport.
	SockClassTCP          = 6  // SOCK_STREAM, IPPROTO_TCP
	SockClassUDP          = 17 // SOCK_DGRAM, IPPROTO_UDP, not connected
	SockClassUDPConnected = 18 // SOCK_DGRAM, IPPROTO_UDP, connected (TCP_ESTABLISHED)
	SockClassOther4       = 0  // any other IP socket
)

// SockClassKey is the socket table key of the socket sendto or sendmsg
// writes to: its class in Family (SockClassInet, SockClassUnix or
// SockClassOther) and, for an IP socket, its transport in Port
// (SockClassTCP, SockClassUDP or SockClassUDPConnected,
// SockClassOther4), as capture.c computes it.
func SockClassKey(family, typ, proto uint16, connected bool) SockKey {
	switch family {
	case 2, 10:
		port := uint16(SockClassOther4)
		switch {
		case typ == 1 && proto == 6:
			port = SockClassTCP
		case typ == 2 && proto == 17 && connected:
			port = SockClassUDPConnected
		case typ == 2 && proto == 17:
			port = SockClassUDP
		}
		return SockKey{Family: SockClassInet, Port: port}
	case 1:
		return SockKey{Family: SockClassUnix}
	}
	return SockKey{Family: SockClassOther}
}

// Linux open flags the kernel program looks at.
const (
	oAccMode = 0o3
	oWronly  = 0o1
	oRdwr    = 0o2
	oCreat   = 0o100
	oTrunc   = 0o1000
	oTmpfile = 0o20000000
)

// OpenClass returns the open flags class the kernel computes from flags.
func OpenClass(flags uint64) int {
	c := 0
	acc := flags & oAccMode
	if acc == 0 || acc == oRdwr {
		c |= OpenRead
	}
	if acc == oWronly || acc == oRdwr {
		c |= OpenWrite
	}
	if flags&(oCreat|oTmpfile) != 0 {
		c |= OpenCreate
	}
	if flags&oTrunc != 0 {
		c |= OpenTrunc
	}
	return c
}

// PathKnown reports whether the kernel matches path (the string as read)
// against the path table: at most [PathMax] bytes, absolute, without "//",
// "/./", "../" (anywhere: "a../b" too, so that a known path never
// contains it) and not ending in "/.", "..". A trailing "/" is accepted.
func PathKnown(p string) bool {
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if len(p) == 0 || len(p) > PathMax || p[0] != '/' {
		return false
	}
	if strings.Contains(p, "../") || strings.HasSuffix(p, "..") {
		return false
	}
	st := 0 // 0 after '/', 1 after "/.", 2 after "/..", 3 otherwise
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			if st != 3 {
				return false
			}
			st = 0
		case c == '.':
			if st < 2 {
				st++
			} else {
				st = 3
			}
		default:
			st = 3
		}
	}
	return st == 0 || st == 3
}

// pathArg reports whether the kernel reads a first path argument for the
// syscall (capture.c path_args).
func pathArg(id int) bool {
	switch id {
	case 2, 85, 87, 83, 84, 90, 80, 76, 92, 94, 133, 161, 166, // first argument
		257, 437, 263, 258, 268, 452, 260, 259, // second argument
		86, 88, 82, 165, 265, 264, 316, 266: // two paths
		return true
	}
	return false
}

// IsExec reports whether the syscall is execve or execveat.
func IsExec(id int) bool { return id == 59 || id == 322 }

func isSock(id int) bool {
	switch id {
	case 42, 43, 44, 46, 49, 50, 288:
		return true
	}
	return false
}

// Judge simulates the kernel program (capture.c, full prefilter mode) on
// one syscall exit and returns the clause mask the event would carry; a
// zero mask means the prefilter drops it (unless [Tables.Always] lists the
// syscall, see [Plan.Sends]).
func Judge(p *Plan, v KernelView) Mask {
	t := &p.Tables
	if v.Syscall < 0 || v.Syscall >= NumSyscalls {
		return Mask{}
	}
	m := t.Gate[v.Syscall]
	if m.IsZero() {
		return m
	}
	return judgeRest(t, &v, m, t.DimsPerSyscall[v.Syscall], nil)
}

// judgeRest applies the dimensions to the gate mask m; lookup finds the
// path entry (Judge and Judger differ only there).
func judgeRest(t *Tables, v *KernelView, m Mask, dims Dim, j *Judger) Mask {
	if dims&DimComm != 0 {
		c := v.Comm
		if i := strings.IndexByte(c, 0); i >= 0 {
			c = c[:i]
		}
		if len(c) > CommMax {
			c = c[:CommMax]
		}
		if x, ok := t.Comm[c]; ok && c != "" {
			m = m.And(x)
		} else {
			m = m.And(t.CommDefault)
		}
	}
	if dims&DimUID != 0 {
		if x, ok := t.UID[v.EUID]; ok {
			m = m.And(x)
		} else {
			m = m.And(t.UIDDefault)
		}
	}
	if dims&DimContainer != 0 {
		switch v.Container {
		case ContainerHost:
			m = m.And(t.ContainerHost)
		case ContainerInside:
			m = m.And(t.ContainerInside)
		default:
			m = m.And(t.ContainerUnknown)
		}
	}
	if dims&DimArg0 != 0 {
		if x, ok := t.Arg0[uint32(v.Arg0)]; ok {
			m = m.And(x)
		} else {
			m = m.And(t.Arg0Default)
		}
	}
	switch {
	case IsExec(v.Syscall):
		if dims&DimExe != 0 {
			m = m.And(lookupExe(t, v))
		}
	case isSock(v.Syscall):
		if dims&DimSock != 0 {
			m = m.And(lookupSock(t, v))
		}
	case pathArg(v.Syscall):
		if IsOpenFamily(v.Syscall) && dims&DimOpenFlags != 0 {
			flags := v.OpenFlags
			if v.Syscall == sysCreat {
				flags = oCreat | oWronly | oTrunc
			}
			m = m.And(t.OpenFlags[OpenClass(flags)])
		}
		if dims&DimPath != 0 {
			m = m.And(lookupPath(t, v, j))
		}
		if dims&DimSuffix != 0 {
			m = m.And(lookupSuffix(t, v, j))
		}
	}
	return m
}

func lookupExe(t *Tables, v *KernelView) Mask {
	p := v.Path
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if v.PathUnreadable || !ExeKnown(p) {
		return t.ExeUnknown
	}
	if x, ok := t.ExeExact[p]; ok {
		return x
	}
	for l := len(p); l > 0; l-- {
		if x, ok := t.ExePrefix[p[:l]]; ok {
			return x
		}
	}
	return t.ExeDefault
}

func lookupSock(t *Tables, v *KernelView) Mask {
	key := SockKey{v.SockFamily, v.SockPort}
	unknown := v.SockUnknown
	if v.Syscall == sysSendto || v.Syscall == sysSendmsg {
		key, unknown = SockClassKey(v.SendFamily, v.SendType, v.SendProto, v.SendConnected), v.SendUnknown
	}
	if unknown {
		return t.SockUnknown
	}
	if x, ok := t.Sock[key]; ok {
		return x
	}
	if x, ok := t.SockFamily[key.Family]; ok {
		return x
	}
	return t.SockDefault
}

// lookupPath finds the path entry: the exact entry, else the longest
// prefix entry. A Judger finds the prefix through its index; without one
// every length of the path is probed.
func lookupPath(t *Tables, v *KernelView, j *Judger) Mask {
	p := v.Path
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if v.PathUnreadable || !PathKnown(p) {
		return t.PathUnknown
	}
	if x, ok := t.PathExact[p]; ok {
		return x
	}
	if j != nil {
		return j.longestPrefix(p)
	}
	for l := len(p); l > 0; l-- {
		if x, ok := t.PathPrefix[p[:l]]; ok {
			return x
		}
	}
	return t.PathDefault
}

// lookupSuffix finds the suffix entry: the longest entry the path (its
// trailing '/' dropped) ends with.
func lookupSuffix(t *Tables, v *KernelView, j *Judger) Mask {
	p := v.Path
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if v.PathUnreadable || !PathKnown(p) {
		return t.SuffixUnknown
	}
	p = SuffixKey(p)
	if j != nil {
		for _, l := range j.suffixLens {
			if l <= len(p) {
				if x, ok := t.Suffix[p[len(p)-l:]]; ok {
					return x
				}
			}
		}
		return t.SuffixDefault
	}
	for l := min(len(p), SuffixMax); l > 0; l-- {
		if x, ok := t.Suffix[p[len(p)-l:]]; ok {
			return x
		}
	}
	return t.SuffixDefault
}

// SuffixKey is what the kernel matches against the suffix table for a
// known path: the path without its trailing '/' (unless it is "/").
func SuffixKey(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// Sends reports whether the kernel sends the event in full prefilter
// mode: some clause survives, or the syscall is always sent.
func (p *Plan) Sends(v KernelView) bool {
	return !Judge(p, v).IsZero() || (v.Syscall >= 0 && p.Tables.Always[v.Syscall])
}

// ExeKnown reports whether the kernel matches an exec'd program's path p
// against the exe table: a path the path table would match ([PathKnown])
// that does not end in "/".
func ExeKnown(p string) bool {
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return PathKnown(p) && !strings.HasSuffix(p, "/")
}

// The open family's x86_64 syscall ids.
const (
	sysOpen    = 2
	sysSendto  = 44
	sysSendmsg = 46
	sysCreat   = 85
	sysOpenat  = 257
	sysOpenat2 = 437
)

// IsOpenFamily reports whether the syscall is open, creat, openat or
// openat2: the syscalls the open flags dimension applies to.
func IsOpenFamily(id int) bool {
	return id == sysOpen || id == sysCreat || id == sysOpenat || id == sysOpenat2
}
