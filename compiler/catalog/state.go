package catalog

// StateClass says which userspace state a syscall updates.
type StateClass uint8

// State classes.
const (
	// StateProcess: threads, credentials, the current directory, the
	// task name, namespaces (proc.*, user.*). Always needed.
	StateProcess StateClass = 1 << iota
	// StateFile: the descriptor table for files, pipes and other
	// non-socket descriptors (fd.* on a later syscall).
	StateFile
	// StateSocket: the descriptor table for sockets.
	StateSocket
)

// StateSyscall is a syscall the userspace state tables learn from.
type StateSyscall struct {
	Name  string
	Class StateClass
	// DescribesFD is true when the syscall's record describes the
	// descriptor its fd.* fields read (it creates it, or, for connect and
	// bind, the kernel record carries the socket's family and both ends),
	// so a rule reading fd.* on it needs no earlier syscall.
	DescribesFD bool
}

// stateSyscalls is the one list of state syscalls: the kernel sends them
// whatever the rules say (live.EvttypeTables, prefilter's Always), and
// runtime/event applies them to the state. A test checks that the three
// agree.
var stateSyscalls = []StateSyscall{
	{"execve", StateProcess, false},
	{"execveat", StateProcess, false},
	{"clone", StateProcess, false},
	{"clone3", StateProcess, false},
	{"fork", StateProcess, false},
	{"vfork", StateProcess, false},
	{"chdir", StateProcess, false},
	{"fchdir", StateProcess, false},
	{"setuid", StateProcess, false},
	{"setgid", StateProcess, false},
	{"setresuid", StateProcess, false},
	{"setresgid", StateProcess, false},
	{"setreuid", StateProcess, false},
	{"setregid", StateProcess, false},
	{"setsid", StateProcess, false},
	{"prctl", StateProcess, false},
	{"unshare", StateProcess, false},

	{"open", StateFile, true},
	{"openat", StateFile, true},
	{"openat2", StateFile, true},
	{"creat", StateFile, true},
	{"open_by_handle_at", StateFile, true},
	{"pipe", StateFile, true},
	{"pipe2", StateFile, true},
	{"memfd_create", StateFile, true},
	{"eventfd", StateFile, true},
	{"eventfd2", StateFile, true},
	{"signalfd", StateFile, true},
	{"signalfd4", StateFile, true},
	{"timerfd_create", StateFile, true},
	{"inotify_init", StateFile, true},
	{"inotify_init1", StateFile, true},
	{"epoll_create", StateFile, true},
	{"epoll_create1", StateFile, true},
	{"userfaultfd", StateFile, true},
	{"io_uring_setup", StateFile, true},
	{"bpf", StateFile, false},

	{"close", StateFile | StateSocket, false},
	{"close_range", StateFile | StateSocket, false},
	{"dup", StateFile | StateSocket, false},
	{"dup2", StateFile | StateSocket, false},
	{"dup3", StateFile | StateSocket, false},
	{"fcntl", StateFile | StateSocket, false},

	{"socket", StateSocket, true},
	{"socketpair", StateSocket, true},
	{"accept", StateSocket, true},
	{"accept4", StateSocket, true},
	{"connect", StateSocket, true},
	{"bind", StateSocket, true},
	{"listen", StateSocket, false},
}

// StateSyscalls returns the state syscalls, in a fixed order. The slice
// must not be modified.
func StateSyscalls() []StateSyscall { return stateSyscalls }

// StateSyscallNames returns the names of the state syscalls of any class
// in c (every one for c == 0), in the order of [StateSyscalls].
func StateSyscallNames(c StateClass) []string {
	var out []string
	for _, s := range stateSyscalls {
		if c == 0 || s.Class&c != 0 {
			out = append(out, s.Name)
		}
	}
	return out
}

// IsStateSyscall returns name's entry, if it is a state syscall.
func IsStateSyscall(name string) (StateSyscall, bool) {
	for _, s := range stateSyscalls {
		if s.Name == name {
			return s, true
		}
	}
	return StateSyscall{}, false
}
