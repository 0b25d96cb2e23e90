package live

import (
	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
)

// StateSyscalls are the syscalls the userspace state needs whatever the
// rules say ([catalog.StateSyscalls]: descriptors, the current directory,
// credentials, sessions, the task name, namespaces, and execve, whose new
// program's arguments and details come only from its exit). Process
// creation and exit come from the scheduler tracepoints; the clone family
// is here for the child's side, which tells the child's ids in its own pid
// namespace.
var StateSyscalls = catalog.StateSyscallNames(0)

// CapturedSyscalls are sent in [bpf.ModeOff] besides the rules' syscalls
// and [StateSyscalls]: the events Falco captures by default, less the
// high-volume I/O ones.
func capturedSyscalls() []int {
	var ids []int
	for _, e := range catalog.Events() {
		if !e.Syscall || !e.Default || e.Category == "io_read" || e.Category == "io_write" {
			continue
		}
		if id, ok := catalog.SyscallID(e.Name); ok && id < bpf.NumSyscalls {
			ids = append(ids, id)
		}
	}
	return ids
}

// EvttypeTables builds prefilter tables from the artifact's syscall set
// alone: every syscall a rule can match gets an all-ones gate mask (every
// clause may match), the syscalls the state needs are always sent, and no
// dimension is consulted. In [bpf.ModeFull] these tables filter exactly as
// [bpf.ModeEvttype]; the prefilter planner's tables replace them.
func EvttypeTables(art *artifact.Artifact) *bpf.Tables {
	t := &bpf.Tables{
		Gate:           map[int]bpf.Mask{},
		DimsPerSyscall: map[int]bpf.Dim{},
		Always:         map[int]bool{},
		Captured:       map[int]bool{},
	}
	if art != nil {
		for _, name := range art.Syscalls {
			if id, ok := catalog.SyscallID(name); ok && id < bpf.NumSyscalls {
				t.Gate[id] = bpf.AllClauses
			}
		}
	}
	for _, name := range StateSyscalls {
		if id, ok := catalog.SyscallID(name); ok && id < bpf.NumSyscalls {
			t.Always[id] = true
		}
	}
	for _, id := range capturedSyscalls() {
		t.Captured[id] = true
	}
	return t
}
