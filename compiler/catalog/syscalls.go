package catalog

// syscallIDs maps event names to x86_64 syscall ids.
var syscallIDs = func() map[string]int {
	m := make(map[string]int, len(syscallNames))
	for id, name := range syscallNames {
		if name != "" {
			m[name] = id
		}
	}
	return m
}()

// SyscallID returns the x86_64 syscall id of the syscall event called name
// (an evt.type value such as "openat" or "pread"). It fails for events
// that are not syscalls on x86_64.
func SyscallID(name string) (int, bool) {
	id, ok := syscallIDs[name]
	return id, ok
}

// SyscallName returns the event name of the x86_64 syscall id, for the
// syscalls of the event table.
func SyscallName(id int) (string, bool) {
	if id < 0 || id >= len(syscallNames) || syscallNames[id] == "" {
		return "", false
	}
	return syscallNames[id], true
}
