package prefilter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// planConds plans one rule per condition, named r0, r1, ...
func planConds(t *testing.T, conds ...string) *plan.Plan {
	t.Helper()
	var in []RuleInput
	for i, c := range conds {
		e, err := syntax.Parse(c, nil)
		if err != nil {
			t.Fatalf("parse %q: %v", c, err)
		}
		cond, issues := check.CheckCondition(e, nil)
		if cond == nil {
			t.Fatalf("check %q: %v", c, issues)
		}
		in = append(in, RuleInput{Name: fmt.Sprintf("r%d", i), IR: check.Fold(cond.IR), EventTypes: cond.EventTypes})
	}
	p, err := BuildRules(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNewDimensions checks what the ptrace, socket and exe dimensions
// keep, case by case (the property tests check soundness at random).
func TestNewDimensions(t *testing.T) {
	ptrace := planConds(t,
		"evt.type = ptrace and evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE)",
		"evt.type = ptrace and evt.rawarg.request = 5",
		"evt.type = ptrace and evt.arg.request = 10")
	sock := planConds(t,
		"evt.type = connect and evt.rawres >= 0 and fd.rport = 443",
		"evt.type = connect and (evt.res = SUCCESS or evt.res = EINPROGRESS) and (fd.typechar = 4 or fd.typechar = 6)",
		"evt.type = bind and evt.res = SUCCESS and fd.lport in (22, 2222)",
		"evt.type = connect and fd.sport = 80") // no result: a failed connect leaves a stale port
	exe := planConds(t,
		"evt.type = execve and evt.res = SUCCESS and proc.exepath in (/usr/bin/nc, /usr/bin/ncat)",
		"evt.type in (execve, execveat) and evt.failed = false and proc.exepath = \"/memfd:x (deleted)\"",
		"evt.type = execve and proc.exepath = /usr/bin/socat") // no result: a failed exec keeps the old path
	tests := []struct {
		name string
		p    *plan.Plan
		v    plan.KernelView
		want []string
	}{
		{"PTRACE_ATTACH", ptrace, plan.KernelView{Syscall: 101, Arg0: 16}, []string{"r0"}},
		{"PTRACE_SEIZE", ptrace, plan.KernelView{Syscall: 101, Arg0: 0x4206}, []string{"r0"}},
		{"PTRACE_PEEKDATA", ptrace, plan.KernelView{Syscall: 101, Arg0: 2}, nil},
		{"PTRACE_POKEDATA (5)", ptrace, plan.KernelView{Syscall: 101, Arg0: 5}, []string{"r1"}},
		{"request 10 (no name)", ptrace, plan.KernelView{Syscall: 101, Arg0: 10}, []string{"r2"}},
		// The default entry also holds requests above 16 bits, whose low
		// 16 bits userspace renders: every clause.
		{"request 11 (no name, no entry)", ptrace, plan.KernelView{Syscall: 101, Arg0: 11}, []string{"r0", "r1", "r2"}},
		{"request above 16 bits", ptrace, plan.KernelView{Syscall: 101, Arg0: 0x10002}, []string{"r0", "r1", "r2"}},
		{"request above 32 bits", ptrace, plan.KernelView{Syscall: 101, Arg0: 1<<32 | 2}, nil},

		{"connect AF_INET 443", sock, plan.KernelView{Syscall: 42, SockFamily: 2, SockPort: 443}, []string{"r0", "r1", "r3"}},
		{"connect AF_INET6 443", sock, plan.KernelView{Syscall: 42, SockFamily: 10, SockPort: 443}, []string{"r0", "r1", "r3"}},
		{"connect AF_INET 80", sock, plan.KernelView{Syscall: 42, SockFamily: 2, SockPort: 80}, []string{"r1", "r3"}},
		{"connect AF_UNIX", sock, plan.KernelView{Syscall: 42, SockFamily: 1}, []string{"r3"}},
		{"connect AF_UNSPEC", sock, plan.KernelView{Syscall: 42, SockFamily: 0}, []string{"r0", "r1", "r3"}},
		{"connect unreadable address", sock, plan.KernelView{Syscall: 42, SockUnknown: true}, []string{"r0", "r1", "r3"}},
		{"bind AF_INET 22", sock, plan.KernelView{Syscall: 49, SockFamily: 2, SockPort: 22}, []string{"r2"}},
		{"bind AF_INET 8080", sock, plan.KernelView{Syscall: 49, SockFamily: 2, SockPort: 8080}, nil},
		{"bind AF_UNIX", sock, plan.KernelView{Syscall: 49, SockFamily: 1}, nil},

		{"exec /usr/bin/nc", exe, plan.KernelView{Syscall: 59, Path: "/usr/bin/nc"}, []string{"r0", "r1", "r2"}},
		{"exec /bin/ls", exe, plan.KernelView{Syscall: 59, Path: "/bin/ls"}, []string{"r1", "r2"}},
		{"execveat /bin/ls", exe, plan.KernelView{Syscall: 322, Path: "/bin/ls"}, []string{"r1"}},
		{"exec relative", exe, plan.KernelView{Syscall: 59, Path: "bin/nc"}, []string{"r0", "r1", "r2"}},
		{"exec trailing slash", exe, plan.KernelView{Syscall: 59, Path: "/usr/bin/nc/"}, []string{"r0", "r1", "r2"}},
		{"exec unnormalised", exe, plan.KernelView{Syscall: 59, Path: "/usr/bin/../bin/ls"}, []string{"r0", "r1", "r2"}},
		{"exec unreadable", exe, plan.KernelView{Syscall: 59, PathUnreadable: true}, []string{"r0", "r1", "r2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, ruleNames(tc.p, tc.v.Syscall, plan.Judge(tc.p, tc.v))); d != "" {
				t.Errorf("rules kept (-want +got):\n%s", d)
			}
		})
	}
}

func TestExeKnown(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/bin/nc": true, "/": false, "/usr/bin/": false, "bin/nc": false, "/usr//bin": false,
		"/usr/./bin": false, "/usr/bin/..": false, "": false, "/dev/fd/3": true, "/a\x00/": true,
	} {
		if got := plan.ExeKnown(p); got != want {
			t.Errorf("ExeKnown(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestPmatchPathFastPath: the shortcut for clean paths gives what the
// general path does.
func TestPmatchPathFastPath(t *testing.T) {
	for _, v := range []string{"/", "/a", "/a/b", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/.", "/..", "/.a/b..", "/a b/c"} {
		got, ok := pmatchPath(v)
		var parts []string
		wantOK := true
		for _, p := range strings.Split(v[1:], "/") {
			if p == "." || p == ".." {
				wantOK = false
			}
			if p != "" {
				parts = append(parts, p)
			}
		}
		want := "/" + strings.Join(parts, "/")
		if !wantOK {
			want = ""
		}
		if got != want || ok != wantOK {
			t.Errorf("pmatchPath(%q) = %q, %v; want %q, %v", v, got, ok, want, wantOK)
		}
	}
}
