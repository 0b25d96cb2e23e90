package event

import (
	"github.com/falcoc/falcoc/runtime/state/container"
)

// ProcKnown says which members of a [ProcContext] are set.
type ProcKnown uint32

// Members of a [ProcContext].
const (
	KnownPPid ProcKnown = 1 << iota
	KnownVpid
	KnownVtid
	KnownComm
	KnownExe
	KnownExePath
	KnownArgs
	KnownEnv
	KnownCwd
	KnownUID
	KnownGID
	KnownEUID
	KnownEGID
	KnownLoginUID
	KnownTTY
	KnownCgroups
	KnownCaps
	KnownSession // Sid, Pgid, Vpgid
	KnownStart
)

// ProcContext is what a replay line may say about the thread of its event
// (the "proc" object): enough to create the thread, or refresh it, before
// the event is applied. Only the members flagged in Known are meaningful.
type ProcContext struct {
	Known                ProcKnown
	PPid, Vpid, Vtid     int64
	Sid, Pgid, Vpgid     int64
	Comm, Exe, ExePath   string
	Cwd                  string
	Args, Env            []string
	UID, GID, EUID, EGID uint32
	LoginUID, TTY        uint32
	// Cgroups are the process's cgroups; a single v2 path is a Cgroup
	// with empty Controllers.
	Cgroups []container.Cgroup
	Caps    Caps
	// Start is the process start time, ns since the epoch (proc.pid.ts).
	Start int64
}

// Caps are a thread's capability sets, one bit per capability number
// (state.Caps is this type).
type Caps struct {
	Effective, Permitted, Inheritable uint64
}

// Present reports whether the line had a "proc" object.
func (c *ProcContext) Present() bool { return c.Known != 0 }
