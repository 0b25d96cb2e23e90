package prefilter

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	falcorules "github.com/falcoc/falcoc/rules"
)

var update = flag.Bool("update", false, "update golden files")

func loadDefault(t testing.TB) *plan.Plan {
	t.Helper()
	data, err := falcorules.FS.ReadFile(falcorules.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	rs, ds := rules.Load([]rules.Source{{Name: falcorules.DefaultFile, Data: data}}, nil)
	if rs == nil {
		t.Fatalf("load default rules: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPlanGolden(t *testing.T) {
	p := loadDefault(t)
	var b bytes.Buffer
	if err := p.Describe(&b, nil); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/default_plan.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), b.String()); d != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", d)
	}
}

func ruleNames(p *plan.Plan, sys int, m plan.Mask) []string {
	var out []string
	for _, r := range p.RulesOf(sys, m) {
		out = append(out, p.Rules[r].Name)
	}
	return out
}

// TestDefaultPlanTight checks what the kernel keeps of the default rules
// for typical events: which rules an event can still match, and whether it
// is sent at all.
func TestDefaultPlanTight(t *testing.T) {
	p := loadDefault(t)
	const (
		rdonly = 0
		wronly = 1
	)
	tests := []struct {
		name  string
		v     plan.KernelView
		rules []string
		sent  bool
	}{
		{"openat /etc/shadow by cat for reading", plan.KernelView{Syscall: 257, Comm: "cat", Path: "/etc/shadow", OpenFlags: rdonly},
			[]string{"Read sensitive file untrusted"}, true},
		{"openat /etc/passwd for writing", plan.KernelView{Syscall: 257, Comm: "vi", Path: "/etc/passwd", OpenFlags: wronly},
			[]string{"Write below etc"}, true},
		{"openat /etc/passwd/ (trailing slash) for writing", plan.KernelView{Syscall: 257, Comm: "vi", Path: "/etc/passwd/", OpenFlags: wronly},
			[]string{"Write below etc"}, true},
		{"openat /usr/bin/ls for writing", plan.KernelView{Syscall: 2, Comm: "cp", Path: "/usr/bin/ls", OpenFlags: wronly | 0o100},
			[]string{"Write below binary dir"}, true},
		{"openat /tmp/x by cat for reading", plan.KernelView{Syscall: 257, Comm: "cat", Path: "/tmp/x", OpenFlags: rdonly},
			nil, false},
		{"openat /home/u/.ssh/id_rsa by cat for reading", plan.KernelView{Syscall: 257, Comm: "cat", Path: "/home/u/.ssh/id_rsa", OpenFlags: rdonly},
			[]string{"Read sensitive file untrusted"}, true},
		{"openat /var/log/x.log with O_TRUNC", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/var/log/x.log", OpenFlags: wronly | 0o1000},
			[]string{"Clear Log Activities"}, true},
		{"openat of a relative path", plan.KernelView{Syscall: 257, Comm: "cat", Path: "x", OpenFlags: rdonly},
			[]string{"Read sensitive file untrusted"}, true},
		{"openat of a relative path with O_CREAT", plan.KernelView{Syscall: 257, Comm: "cat", Path: "x", OpenFlags: rdonly | 0o100},
			[]string{"Read sensitive file untrusted", "Create files below dev"}, true},
		{"openat /dev/x read-only", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/x", OpenFlags: rdonly},
			nil, false},
		{"openat /dev/x read-only with O_CREAT", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/x", OpenFlags: rdonly | 0o100},
			[]string{"Create files below dev"}, true},
		{"openat /dev/x for writing", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/x", OpenFlags: wronly},
			[]string{"Create files below dev"}, true},
		{"openat /dev/null for writing by sh", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/null", OpenFlags: wronly | 0o100 | 0o1000},
			nil, false},
		{"open /dev/null for writing by sh", plan.KernelView{Syscall: 2, Comm: "sh", Path: "/dev/null", OpenFlags: wronly},
			nil, false},
		{"creat /dev/shm/x", plan.KernelView{Syscall: 85, Comm: "sh", Path: "/dev/shm/x"}, nil, false},
		{"openat /dev/null/ (trailing slash) for writing", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/null/", OpenFlags: wronly},
			nil, false},
		{"openat /dev/nullx for writing", plan.KernelView{Syscall: 257, Comm: "sh", Path: "/dev/nullx", OpenFlags: wronly},
			[]string{"Create files below dev"}, true},
		{"openat /etc/passwd for reading", plan.KernelView{Syscall: 257, Comm: "cat", Path: "/etc/passwd", OpenFlags: rdonly},
			nil, false},
		{"connect by curl", plan.KernelView{Syscall: 42, Comm: "curl"}, nil, false}, // connect describes its own socket: no state needed
		{"connect by cat", plan.KernelView{Syscall: 42, Comm: "cat"}, []string{"System binary outbound connection"}, true},
		{"execve of bash in a container", plan.KernelView{Syscall: 59, Comm: "bash", Container: plan.ContainerInside, Path: "/bin/bash"},
			[]string{"Terminal shell in container", "Shell spawned in container", "Fileless execution via memfd_create",
				"Execution from /dev/shm", "Launch Privileged Container", "Launch Sensitive Mount Container"}, true},
		{"execve of ls on the host", plan.KernelView{Syscall: 59, Comm: "ls", Container: plan.ContainerHost, Path: "/bin/ls"},
			[]string{"Fileless execution via memfd_create", "Execution from /dev/shm"}, true},
		{"execve of find on the host", plan.KernelView{Syscall: 59, Comm: "find", Container: plan.ContainerHost},
			[]string{"Fileless execution via memfd_create", "Execution from /dev/shm", "Search Private Keys or Passwords"}, true},
		{"connect by cat to 443", plan.KernelView{Syscall: 42, Comm: "cat", SockFamily: 2, SockPort: 443}, []string{"System binary outbound connection"}, true},
		{"connect by cat to a unix socket", plan.KernelView{Syscall: 42, Comm: "cat", SockFamily: 1}, nil, false},
		{"connect by cat, address unreadable", plan.KernelView{Syscall: 42, Comm: "cat", SockUnknown: true}, []string{"System binary outbound connection"}, true},
		{"ptrace PTRACE_ATTACH by gdb", plan.KernelView{Syscall: 101, Comm: "gdb", Arg0: 16}, []string{"PTRACE attached to process"}, true},
		{"ptrace PTRACE_SEIZE by gdb", plan.KernelView{Syscall: 101, Comm: "gdb", Arg0: 0x4206}, []string{"PTRACE attached to process"}, true},
		{"ptrace PTRACE_PEEKDATA by gdb", plan.KernelView{Syscall: 101, Comm: "gdb", Arg0: 2}, nil, false},
		{"ptrace PTRACE_CONT by strace", plan.KernelView{Syscall: 101, Comm: "strace", Arg0: 7}, nil, false},
		{"socket(AF_INET)", plan.KernelView{Syscall: 41, Comm: "curl", Arg0: 2}, nil, false},
		{"socket(AF_UNIX)", plan.KernelView{Syscall: 41, Comm: "sh", Arg0: 1}, nil, false},
		{"socket(AF_PACKET)", plan.KernelView{Syscall: 41, Comm: "tcpdump", Arg0: 17}, []string{"Packet socket created"}, true},
		{"getppid", plan.KernelView{Syscall: 110, Comm: "cat"}, nil, false},
		{"mkdir", plan.KernelView{Syscall: 83, Comm: "mkdir", Path: "/tmp/d"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := plan.Judge(p, tc.v)
			if d := cmp.Diff(tc.rules, ruleNames(p, tc.v.Syscall, m)); d != "" {
				t.Errorf("rules kept (-want +got):\n%s", d)
			}
			if got := p.Sends(tc.v); got != tc.sent {
				t.Errorf("Sends = %v, want %v", got, tc.sent)
			}
		})
	}
}

// TestGeneratedPlanPorts checks that a generated rule set narrows
// connects by port: a connect rule keeps only its own process and port.
func TestGeneratedPlanPorts(t *testing.T) {
	src := rulegen.Generate(200, 1)
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: src}}, nil)
	if rs == nil {
		t.Fatalf("load generated rules: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`rule: (gen rule 3)\n.*\n  condition: evt.type = connect and evt.rawres >= 0 and fd.rport = (\d+) and proc.name = (proc\d+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no connect rule 3 in the generated rules")
	}
	port, _ := strconv.Atoi(string(m[2]))
	comm := string(m[3])
	has := func(v plan.KernelView) bool {
		return slices.Contains(ruleNames(p, v.Syscall, plan.Judge(p, v)), "gen rule 3")
	}
	if !has(plan.KernelView{Syscall: 42, Comm: comm, SockFamily: 2, SockPort: uint16(port)}) {
		t.Errorf("connect by %s to port %d: gen rule 3 dropped", comm, port)
	}
	if !has(plan.KernelView{Syscall: 42, Comm: comm, SockFamily: 10, SockPort: uint16(port)}) {
		t.Errorf("connect by %s to [::]:%d: gen rule 3 dropped", comm, port)
	}
	if has(plan.KernelView{Syscall: 42, Comm: comm, SockFamily: 2, SockPort: uint16(port + 1)}) {
		t.Errorf("connect by %s to port %d: gen rule 3 kept", comm, port+1)
	}
	if n := len(p.Tables.Sock); n < 40 {
		t.Errorf("%d socket table entries, want one per port and family of the 40 connect rules", n)
	}
}

// TestStateSocketOnly checks which state syscalls a rule reading fd.* on
// dup makes the kernel send: only the socket state when the rule needs a
// socket descriptor, the file state too otherwise.
func TestStateSocketOnly(t *testing.T) {
	cases := []struct {
		cond      string
		wantFiles bool
	}{
		{`evt.type = dup and fd.type in (ipv4, ipv6) and proc.name = sh`, false},
		{`evt.type = dup and (fd.typechar = 4 or fd.typechar = 6)`, true}, // not in the top-level conjunction
		{`evt.type = dup and fd.typechar = 4`, false},
		{`evt.type = dup and fd.l4proto = tcp`, false},
		{`evt.type = dup and fd.type in (ipv4, file)`, true},
		{`evt.type = dup and fd.typechar = u`, true}, // userfaultfd is u too
		{`evt.type = dup and fd.name = /etc/passwd`, true},
		{`evt.type = dup and not fd.type = file`, true},
	}
	for _, tc := range cases {
		src := []byte("- rule: r\n  desc: d\n  condition: " + tc.cond + "\n  output: o\n  priority: INFO\n")
		rs, ds := rules.Load([]rules.Source{{Name: "r.yaml", Data: src}}, nil)
		if rs == nil || len(rs.Rules) == 0 || rs.Rules[0].Checked == nil {
			t.Fatalf("%s: %v", tc.cond, ds)
		}
		p, err := Build(rs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Tables.Always[sysOpenat]; got != tc.wantFiles {
			t.Errorf("%s: openat always sent = %v, want %v", tc.cond, got, tc.wantFiles)
		}
		if !p.Tables.Always[sysSocket] {
			t.Errorf("%s: socket not always sent", tc.cond)
		}
	}
}
