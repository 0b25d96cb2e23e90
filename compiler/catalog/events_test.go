package catalog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rulesEventTypes are the 41 syscalls the upstream rule files name in
// evt.type conditions.
var rulesEventTypes = []string{
	"accept", "accept4", "bpf", "chmod", "connect", "creat", "dup", "dup2", "dup3", "execve", "execveat",
	"fchmod", "fchmodat", "finit_module", "init_module", "link", "linkat", "listen", "mkdir", "mkdirat",
	"open", "openat", "openat2", "ptrace", "recvfrom", "recvmsg", "rename", "renameat", "renameat2",
	"rmdir", "sendmsg", "sendto", "setns", "setuid", "socket", "symlink", "symlinkat", "unlink",
	"unlinkat", "unshare", "userfaultfd",
}

func TestCatalogEventTypes(t *testing.T) {
	if len(rulesEventTypes) != 41 {
		t.Fatalf("%d event types listed, want 41", len(rulesEventTypes))
	}
	for _, name := range rulesEventTypes {
		e, ok := EventByName(name)
		if !ok {
			t.Errorf("event %s is missing", name)
			continue
		}
		if !e.Syscall || e.Name != name {
			t.Errorf("event %s: got %s, syscall %t", name, e.Name, e.Syscall)
		}
		if _, ok := SyscallID(name); !ok {
			t.Errorf("event %s has no x86_64 syscall id", name)
		}
	}
}

func TestCatalogEventTable(t *testing.T) {
	evs := Events()
	if len(evs) < 400 {
		t.Fatalf("only %d events", len(evs))
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if seen[e.Name] {
			t.Errorf("duplicate event %s", e.Name)
		}
		seen[e.Name] = true
		if got, ok := EventByName(e.Name); !ok || got != e {
			t.Errorf("EventByName(%q) does not return Events()[%d]", e.Name, i)
		}
		if e.Category == "" {
			t.Errorf("event %s has no category", e.Name)
		}
		params := map[string]bool{}
		for j, p := range e.Params {
			if !p.Type.Valid() || p.Type.String() == "INVALID" {
				t.Errorf("event %s param %s: unknown type %d", e.Name, p.Name, p.Type)
			}
			if p.Name == "" || params[p.Name] {
				t.Errorf("event %s: empty or duplicate param name %q", e.Name, p.Name)
			}
			params[p.Name] = true
			if len(p.Flags) > 0 && !p.Type.IsFlags() {
				t.Errorf("event %s param %s: flag names on a %s", e.Name, p.Name, p.Type)
			}
			if k, ok := e.Param(p.Name); !ok || k != j {
				t.Errorf("event %s: Param(%q) = %d, %t; want %d", e.Name, p.Name, k, ok, j)
			}
		}
	}
	// Stable order: two calls agree.
	if diff := cmp.Diff(eventNames(evs), eventNames(Events())); diff != "" {
		t.Errorf("Events() order changed (-first +second):\n%s", diff)
	}
}

func eventNames(evs []*Event) []string {
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
	}
	return names
}

func TestCatalogEventDetails(t *testing.T) {
	type param struct {
		Name string
		Type string
	}
	params := func(e *Event) []param {
		var ps []param
		for _, p := range e.Params {
			ps = append(ps, param{p.Name, p.Type.String()})
		}
		return ps
	}
	tests := []struct {
		name     string
		category string
		syscall  bool
		params   []param
	}{
		{"openat", "file", true, []param{{"fd", "FD"}, {"dirfd", "FD"}, {"name", "FSRELPATH"}, {"flags", "FLAGS32"}, {"mode", "UINT32"}, {"dev", "UINT32"}, {"ino", "UINT64"}}},
		{"connect", "net", true, []param{{"res", "ERRNO"}, {"tuple", "SOCKTUPLE"}, {"fd", "FD"}, {"addr", "SOCKADDR"}}},
		{"symlinkat", "file", true, []param{{"res", "ERRNO"}, {"target", "CHARBUF"}, {"linkdirfd", "FD"}, {"linkpath", "FSRELPATH"}}},
		{"dup2", "io_other", true, []param{{"res", "FD"}, {"oldfd", "FD"}, {"newfd", "FD"}}},
		{"getsockname", "net", true, nil},
		{"getpid", "other", true, []param{{"ID", "SYSCALLID"}, {"nativeID", "UINT16"}}},
		{"procexit", "process", false, []param{{"status", "ERRNO"}, {"ret", "ERRNO"}, {"sig", "SIGTYPE"}, {"core", "UINT8"}, {"reaper_tid", "PID"}}},
		{"container", "internal", false, []param{{"json", "CHARBUF"}}},
		{"asyncevent", "internal", false, []param{{"plugin_id", "UINT32"}, {"name", "CHARBUF"}, {"data", "BYTEBUF"}}},
		{"pluginevent", "plugin", false, []param{{"plugin_id", "UINT32"}, {"event_data", "BYTEBUF"}}},
		{"switch", "scheduler", false, []param{{"next", "PID"}, {"pgft_maj", "UINT64"}, {"pgft_min", "UINT64"}, {"vm_size", "UINT32"}, {"vm_rss", "UINT32"}, {"vm_swap", "UINT32"}}},
	}
	for _, tc := range tests {
		e, ok := EventByName(tc.name)
		if !ok {
			t.Errorf("event %s is missing", tc.name)
			continue
		}
		if e.Category != tc.category || e.Syscall != tc.syscall {
			t.Errorf("event %s: category %q syscall %t, want %q %t", tc.name, e.Category, e.Syscall, tc.category, tc.syscall)
		}
		if diff := cmp.Diff(tc.params, params(e)); diff != "" {
			t.Errorf("event %s params (-want +got):\n%s", tc.name, diff)
		}
	}

	open, _ := EventByName("open")
	i, ok := open.Param("flags")
	if !ok {
		t.Fatal("open has no flags parameter")
	}
	flags := open.Params[i].Flags
	for _, want := range []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_F_CREATED"} {
		if !contains(flags, want) {
			t.Errorf("open flags lack %s: %v", want, flags)
		}
	}
	ptrace, _ := EventByName("ptrace")
	i, _ = ptrace.Param("request")
	if p := ptrace.Params[i]; p.Type != ParamEnumFlags16 || !contains(p.Flags, "PTRACE_ATTACH") {
		t.Errorf("ptrace request: %s %v", p.Type, p.Flags)
	}
	if _, ok := open.Param("nope"); ok {
		t.Error("open.Param(nope) succeeded")
	}
	var nilEvent *Event
	if _, ok := nilEvent.Param("fd"); ok {
		t.Error("nil Event Param succeeded")
	}
	if _, ok := EventByName("nope"); ok {
		t.Error("EventByName(nope) succeeded")
	}
	read, _ := EventByName("read")
	if read.Default || !open.Default {
		t.Errorf("Default: read %t, open %t; want false, true", read.Default, open.Default)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCatalogParamTypeString(t *testing.T) {
	for pt := ParamInvalid + 1; pt < paramEnd; pt++ {
		if s := pt.String(); s == "" || s == "INVALID" {
			t.Errorf("ParamType(%d) has no name", pt)
		}
	}
	if got := ParamType(250).String(); got != "INVALID" {
		t.Errorf("ParamType(250).String() = %q", got)
	}
	if ParamType(250).Valid() || ParamInvalid.Valid() {
		t.Error("invalid param types report Valid")
	}
}

func TestCatalogSyscallIDs(t *testing.T) {
	tests := []struct {
		name string
		id   int
	}{
		{"read", 0}, {"write", 1}, {"open", 2}, {"pread", 17}, {"connect", 42}, {"execve", 59},
		{"ptrace", 101}, {"openat", 257}, {"execveat", 322}, {"clone3", 435}, {"openat2", 437},
		{"prlimit", 302}, {"umount2", 166}, {"userfaultfd", 323},
	}
	for _, tc := range tests {
		if id, ok := SyscallID(tc.name); !ok || id != tc.id {
			t.Errorf("SyscallID(%q) = %d, %t; want %d", tc.name, id, ok, tc.id)
		}
		if name, ok := SyscallName(tc.id); !ok || name != tc.name {
			t.Errorf("SyscallName(%d) = %q, %t; want %q", tc.id, name, ok, tc.name)
		}
	}
	for _, name := range []string{"procexit", "container", "mmap2", "stat64", "send", "nope", ""} {
		if id, ok := SyscallID(name); ok {
			t.Errorf("SyscallID(%q) = %d, want none", name, id)
		}
	}
	for _, id := range []int{-1, MaxSyscallID, MaxSyscallID + 100, 1 << 30} {
		if name, ok := SyscallName(id); ok {
			t.Errorf("SyscallName(%d) = %q, want none", id, name)
		}
	}
	n := 0
	for _, e := range Events() {
		id, ok := SyscallID(e.Name)
		if !ok {
			continue
		}
		n++
		if !e.Syscall {
			t.Errorf("%s has a syscall id but is not a syscall event", e.Name)
		}
		if id < 0 || id >= MaxSyscallID {
			t.Errorf("SyscallID(%q) = %d, out of range", e.Name, id)
		}
		if name, ok := SyscallName(id); !ok || name != e.Name {
			t.Errorf("SyscallName(SyscallID(%q)) = %q, %t", e.Name, name, ok)
		}
	}
	if n < 350 {
		t.Errorf("only %d syscall events have an x86_64 id", n)
	}
	for id := range MaxSyscallID {
		name, ok := SyscallName(id)
		if !ok {
			continue
		}
		if back, ok := SyscallID(name); !ok || back != id {
			t.Errorf("SyscallID(SyscallName(%d)) = %d, %t", id, back, ok)
		}
	}
}
