package plan

import "strings"

// The lookups of [Judge], one dimension at a time, for a caller that
// resolves the per-event-type facts once and remembers per-value results
// (runtime/kplan's UserJudge). Judge's answer for a view is the gate of
// its syscall ANDed with the dimensions its DimsPerSyscall entry names,
// taken as below; TestDimsMatchJudge checks that these agree with Judge.

// Gate returns the gate mask of syscall id (zero for an id the kernel
// does not judge).
func (j *Judger) Gate(id int) Mask {
	if id < 0 || id >= NumSyscalls {
		return Mask{}
	}
	return j.gate[id]
}

// Dims returns the dimensions consulted for syscall id.
func (j *Judger) Dims(id int) Dim {
	if id < 0 || id >= NumSyscalls {
		return 0
	}
	return j.dims[id]
}

// CommMask returns the comm dimension's mask for task name comm.
func (j *Judger) CommMask(comm string) Mask {
	t := &j.p.Tables
	if i := strings.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	if len(comm) > CommMax {
		comm = comm[:CommMax]
	}
	if x, ok := t.Comm[comm]; ok && comm != "" {
		return x
	}
	return t.CommDefault
}

// UIDMask returns the uid dimension's mask for effective uid euid.
func (j *Judger) UIDMask(euid uint32) Mask {
	if x, ok := j.p.Tables.UID[euid]; ok {
		return x
	}
	return j.p.Tables.UIDDefault
}

// ContainerMask returns the container dimension's mask for class c.
func (j *Judger) ContainerMask(c ContainerClass) Mask {
	t := &j.p.Tables
	switch c {
	case ContainerHost:
		return t.ContainerHost
	case ContainerInside:
		return t.ContainerInside
	}
	return t.ContainerUnknown
}

// Arg0Mask returns the arg0 dimension's mask for first argument a.
func (j *Judger) Arg0Mask(a uint64) Mask {
	if x, ok := j.p.Tables.Arg0[uint32(a)]; ok {
		return x
	}
	return j.p.Tables.Arg0Default
}

// OpenFlagsMask returns the open flags dimension's mask for the flags of
// open-family syscall id (creat implies its flags).
func (j *Judger) OpenFlagsMask(id int, flags uint64) Mask {
	if id == sysCreat {
		flags = oCreat | oWronly | oTrunc
	}
	return j.p.Tables.OpenFlags[OpenClass(flags)]
}

// PathMask returns the path dimension's mask for path p as read
// (unreadable when the kernel could not read it).
func (j *Judger) PathMask(p string, unreadable bool) Mask {
	return lookupPath(&j.p.Tables, &KernelView{Path: p, PathUnreadable: unreadable}, j)
}

// SuffixMask returns the suffix dimension's mask for path p as read.
func (j *Judger) SuffixMask(p string, unreadable bool) Mask {
	return lookupSuffix(&j.p.Tables, &KernelView{Path: p, PathUnreadable: unreadable}, j)
}

// ExeMask returns the exe dimension's mask for the exec'd program's path.
func (j *Judger) ExeMask(p string, unreadable bool) Mask {
	return lookupExe(&j.p.Tables, &KernelView{Path: p, PathUnreadable: unreadable})
}

// SockMask returns the socket dimension's mask for the address family
// and port passed to connect or bind (unknown when unreadable).
func (j *Judger) SockMask(family, port uint16, unknown bool) Mask {
	return lookupSock(&j.p.Tables, &KernelView{SockFamily: family, SockPort: port, SockUnknown: unknown})
}

// SendMask returns the socket dimension's mask for a sendto or sendmsg on
// a socket of (family, type, protocol), connected or not (unknown when
// the descriptor holds no socket the kernel could classify).
func (j *Judger) SendMask(family, typ, proto uint16, connected, unknown bool) Mask {
	return lookupSock(&j.p.Tables, &KernelView{Syscall: sysSendto, SendFamily: family, SendType: typ,
		SendProto: proto, SendConnected: connected, SendUnknown: unknown})
}

// Which dimensions after the task's apply to a syscall (see judgeRest):
// the exe dimension to execve and execveat, the socket dimension to the
// socket calls, the path (and for the open family the open flags)
// dimensions to the syscalls with a path argument.
const (
	SyscallOther = iota
	SyscallExec
	SyscallSock
	SyscallPath
)

// SyscallKind returns which of the kinds above syscall id is.
func SyscallKind(id int) int {
	switch {
	case IsExec(id):
		return SyscallExec
	case isSock(id):
		return SyscallSock
	case pathArg(id):
		return SyscallPath
	}
	return SyscallOther
}
