package event

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
)

func param(t *testing.T, ev, name string) *catalog.Param {
	t.Helper()
	e, ok := catalog.EventByName(ev)
	if !ok {
		t.Fatalf("no event %s", ev)
	}
	i, ok := e.Param(name)
	if !ok {
		t.Fatalf("no param %s.%s", ev, name)
	}
	return &e.Params[i]
}

func TestFlagNames(t *testing.T) {
	tests := []struct {
		ev, param string
		v         uint64
		want      string
	}{
		{"openat", "flags", 0, "O_RDONLY"},
		{"openat", "flags", OCloexec, "O_RDONLY|O_CLOEXEC"},
		{"openat", "flags", OWronly | OCreat | OTrunc | OCloexec, "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC"},
		{"openat", "flags", ORdwr | OAppend, "O_APPEND|O_RDWR"},
		{"openat", "flags", OTmpfile | ORdwr, "O_DIRECTORY|O_RDWR|O_TMPFILE"},
		{"openat", "flags", OFCreated | OWronly, "O_WRONLY|O_F_CREATED"},
		{"socket", "domain", 2, "AF_INET"},
		{"socket", "domain", 10, "AF_INET6"},
		{"socket", "domain", 1, "AF_LOCAL"},
		{"socket", "domain", 99, ""},
		{"ptrace", "request", 16, "PTRACE_ATTACH"},
		{"ptrace", "request", 0, "PTRACE_TRACEME"},
		{"ptrace", "request", 0x4206, "PTRACE_SEIZE"},
		{"clone", "flags", 0x100 | 0x200 | 0x400 | 0x800 | 0x10000, "CLONE_FILES|CLONE_FS|CLONE_SIGHAND|CLONE_THREAD|CLONE_VM"},
		{"mmap", "prot", 0, "PROT_NONE"},
		{"mmap", "prot", 1 | 4, "PROT_READ|PROT_EXEC"},
		{"mmap", "flags", 0x22, "MAP_PRIVATE|MAP_ANONYMOUS"},
		{"mount", "flags", 4096 | 16384, "BIND|REC"},
		{"prctl", "option", 15, "PR_SET_NAME"},
		{"fcntl", "cmd", 1030, "F_DUPFD_CLOEXEC"},
		{"fcntl", "cmd", 5, "F_GETLK"},
		{"memfd_create", "flags", 3, "MFD_CLOEXEC|MFD_ALLOW_SEALING"},
		{"unshare", "flags", 0x20000 | 0x40000000, "CLONE_NEWNET|CLONE_NEWNS"},
	}
	for _, tc := range tests {
		got := FlagNames(param(t, tc.ev, tc.param), tc.v)
		if got != tc.want {
			t.Errorf("FlagNames(%s.%s, %#x) = %q, want %q", tc.ev, tc.param, tc.v, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		ev, param, in string
		want          uint64
		err           string
	}{
		{"openat", "flags", "O_WRONLY|O_CREAT", OWronly | OCreat, ""},
		{"openat", "flags", "O_RDONLY", 0, ""},
		{"openat", "flags", " O_RDWR | 0x80000 ", ORdwr | 0x80000, ""},
		{"openat", "flags", "524288", OCloexec, ""},
		{"socket", "domain", "AF_INET6", 10, ""},
		{"ptrace", "request", "PTRACE_POKEDATA", 5, ""},
		{"openat", "flags", "O_BOGUS", 0, `unknown flag "O_BOGUS" for flags`},
		{"openat", "flags", "O_NONE", 0, `unknown flag "O_NONE" for flags`},
		{"openat", "flags", "", 0, "empty flags"},
	}
	for _, tc := range tests {
		got, err := ParseFlags(param(t, tc.ev, tc.param), tc.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.err {
			t.Errorf("ParseFlags(%s.%s, %q) = %#x, %q; want %#x, %q", tc.ev, tc.param, tc.in, got, gotErr, tc.want, tc.err)
		}
	}
}

// Every name of every flag set we know round-trips through its value,
// except aliases that render under another name.
func TestFlagTablesConsistent(t *testing.T) {
	for _, e := range catalog.Events() {
		for i := range e.Params {
			p := &e.Params[i]
			fs := FlagsOf(p)
			if len(p.Flags) == 0 || fs == nil {
				continue
			}
			for _, n := range p.Flags {
				if _, known := flagValues[p.Flags[0]][n]; !known {
					t.Errorf("%s.%s: flag %s has no value entry", e.Name, p.Name, n)
				}
			}
		}
	}
	for first := range flagValues {
		found := false
		for _, e := range catalog.Events() {
			for _, p := range e.Params {
				if len(p.Flags) > 0 && p.Flags[0] == first {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("flag set %s matches no catalog parameter", first)
		}
	}
}

func mustEvent(t *testing.T, name string) *catalog.Event {
	t.Helper()
	e, ok := catalog.EventByName(name)
	if !ok {
		t.Fatalf("no event %s", name)
	}
	return e
}
