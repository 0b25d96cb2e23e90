package state

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/state/container"
)

// newTestTable returns a table that never reads /proc, so synthetic ids
// cannot collide with real processes.
func newTestTable(opts *Options) *Table {
	o := Options{ProcReadsPerSec: -1}
	if opts != nil {
		o = *opts
		o.ProcReadsPerSec = -1
	}
	return NewTable(&o)
}

// procView is what the tests compare about a thread.
type procView struct {
	Tid, Pid, PPid int64
	Comm, Exe      string
	ExePath, Cwd   string
	Cmdline        string
	Args           []string
	Exited         bool
}

func view(th *Thread) *procView {
	if th == nil {
		return nil
	}
	return &procView{
		Tid: th.Tid, Pid: th.Pid(), PPid: th.proc.PPid,
		Comm: th.Comm(), Exe: th.Exe(), ExePath: th.ExePath(), Cwd: th.Cwd(),
		Cmdline: th.Cmdline(), Args: th.Args(), Exited: th.Exited(),
	}
}

func names(th *Thread) []string {
	var out []string
	for i := 0; i < 10; i++ {
		a := th.Ancestor(i)
		if a == nil {
			break
		}
		out = append(out, a.Comm())
	}
	return out
}

// tree builds init(1) → bash(100) → sh(200) → curl(300).
func tree(t *testing.T) *Table {
	t.Helper()
	tb := newTestTable(nil)
	tb.Exec(1, 1, "/sbin/init", []string{"/sbin/init"}, nil, ExecInfo{})
	tb.Chdir(1, "/")
	tb.SetVirtualIDs(1, 1, 1)
	tb.Fork(10, 1, 100, 100, 0)
	tb.Exec(11, 100, "/bin/bash", []string{"bash", "-l"}, []string{"HOME=/root", "TERM=xterm"}, ExecInfo{})
	tb.Chdir(100, "/root")
	tb.Fork(20, 100, 200, 200, 0)
	tb.Exec(21, 200, "/bin/sh", []string{"sh", "-c", "curl x"}, nil, ExecInfo{})
	tb.Fork(30, 200, 300, 300, 0)
	tb.Chdir(300, "../tmp/./work//")
	tb.Exec(31, 300, "/usr/bin/curl", []string{"curl", "-s", "http://x"}, []string{"A=1"}, ExecInfo{ExePath: "/usr/bin/curl"})
	return tb
}

func TestForkExec(t *testing.T) {
	tb := tree(t)
	got := view(tb.Get(300))
	want := &procView{Tid: 300, Pid: 300, PPid: 200, Comm: "curl", Exe: "curl", ExePath: "/usr/bin/curl",
		Cwd: "/tmp/work/", Cmdline: "curl -s http://x", Args: []string{"-s", "http://x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("curl (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"curl", "sh", "bash", "init"}, names(tb.Get(300))); diff != "" {
		t.Errorf("ancestors (-want +got):\n%s", diff)
	}
	if got := tb.Get(200).ExePath(); got != "/bin/sh" {
		t.Errorf("sh exepath = %q, want /bin/sh (resolved file name)", got)
	}
	if got := tb.Get(300).Ancestor(4); got != nil {
		t.Errorf("Ancestor(4) = %v, want nil", view(got))
	}
	p := tb.Get(300).Proc()
	if v, ok := p.EnvVar("A"); !ok || v != "1" {
		t.Errorf("EnvVar(A) = %q, %v", v, ok)
	}
	if got := tb.Get(100).Proc().EnvString(); got != "HOME=/root TERM=xterm" {
		t.Errorf("EnvString = %q", got)
	}
	if got := p.Exeline(); got != "curl -s http://x" {
		t.Errorf("Exeline = %q", got)
	}
	if got := tb.Get(300).Duration(1031); got != 1001 {
		t.Errorf("Duration = %d, want 1001", got)
	}
	if got, want := tb.Stats(), (Stats{Threads: 4, Processes: 4}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestForkCopiesCwdAndExec(t *testing.T) {
	tb := tree(t)
	c := tb.Fork(40, 300, 301, 301, 0)
	want := &procView{Tid: 301, Pid: 301, PPid: 300, Comm: "curl", Exe: "curl", ExePath: "/usr/bin/curl",
		Cwd: "/tmp/work/", Cmdline: "curl -s http://x", Args: []string{"-s", "http://x"}}
	if diff := cmp.Diff(want, view(c)); diff != "" {
		t.Errorf("child (-want +got):\n%s", diff)
	}
	// The child's later exec must not change the parent.
	tb.Exec(41, 301, "/bin/ls", []string{"ls"}, nil, ExecInfo{Comm: "ls"})
	if got := tb.Get(300).Cmdline(); got != "curl -s http://x" {
		t.Errorf("parent cmdline changed to %q", got)
	}
	if got := tb.Get(301).Cmdline(); got != "ls" {
		t.Errorf("child cmdline = %q, want ls", got)
	}
}

func TestCommTruncated(t *testing.T) {
	tb := newTestTable(nil)
	th := tb.Exec(1, 50, "/opt/a-very-long-program-name", []string{"prog", "x"}, nil, ExecInfo{})
	if got := th.Comm(); got != "a-very-long-pro" {
		t.Errorf("Comm = %q", got)
	}
	tb.SetComm(50, "worker")
	if got := th.Cmdline(); got != "worker x" {
		t.Errorf("Cmdline after SetComm = %q", got)
	}
}

func TestExitReparents(t *testing.T) {
	tb := tree(t)
	tb.Exit(50, 200)
	// Still visible during the exit event.
	sh := tb.Lookup(200)
	if sh == nil || !sh.Exited() {
		t.Fatalf("exited sh = %v, want a thread marked exited", view(sh))
	}
	if got := tb.Get(300).Proc().PPid; got != 1 {
		t.Errorf("curl PPid after sh exit = %d, want 1 (init)", got)
	}
	tb.Flush()
	if tb.Get(200) != nil || tb.Process(200) != nil {
		t.Errorf("sh still present after Flush")
	}
	if diff := cmp.Diff([]string{"curl", "init"}, names(tb.Get(300))); diff != "" {
		t.Errorf("ancestors (-want +got):\n%s", diff)
	}
	if got := tb.Stats().Removed; got != 1 {
		t.Errorf("Removed = %d, want 1", got)
	}
	// Exit of an unknown or already exited thread is ignored.
	tb.Exit(51, 12345)
	tb.Exit(52, 300)
	tb.Exit(53, 300)
	tb.Flush()
	if tb.Len() != 2 {
		t.Errorf("Len = %d, want 2", tb.Len())
	}
}

func TestSubreaper(t *testing.T) {
	tb := tree(t)
	tb.SetChildSubreaper(100, true)
	tb.Exit(50, 200)
	if got := tb.Get(300).Proc().PPid; got != 100 {
		t.Errorf("PPid = %d, want 100 (subreaper bash)", got)
	}
}

func TestNamespaceInitReaps(t *testing.T) {
	tb := tree(t)
	c := tb.Fork(40, 300, 400, 400, CloneNewPID)
	if c.Vtid != 1 || c.proc.Vpid != 1 {
		t.Fatalf("vtid, vpid = %d, %d, want 1, 1", c.Vtid, c.proc.Vpid)
	}
	tb.Fork(41, 400, 401, 401, 0)
	tb.Fork(42, 401, 402, 402, 0)
	if v := tb.Get(402).Vtid; v != 0 {
		t.Errorf("vtid in another namespace = %d, want 0 (unknown)", v)
	}
	tb.SetVirtualIDs(402, 3, 3)
	tb.Exit(43, 401)
	if got := tb.Get(402).Proc().PPid; got != 400 {
		t.Errorf("PPid = %d, want 400 (namespace init)", got)
	}
}

func TestThreads(t *testing.T) {
	tb := tree(t)
	th := tb.Fork(40, 300, 310, 300, CloneThread|CloneFiles|CloneVM|CloneFS)
	if th.Proc() != tb.Get(300).Proc() || th.IsMain() {
		t.Fatalf("thread does not share its process")
	}
	if got := th.Proc().Threads(); got != 2 {
		t.Errorf("Threads = %d, want 2", got)
	}
	tb.Open(310, 5, "a.txt", 0, 0, AtFDCWD)
	if f := tb.FD(300, 5); f == nil || f.Name() != "/tmp/work/a.txt" {
		t.Errorf("fd 5 seen by the main thread = %+v", f)
	}
	// The child of the thread's process keeps its parent when the main
	// thread exits before the other thread.
	tb.Fork(41, 310, 320, 320, 0)
	tb.Exit(42, 300)
	tb.Flush()
	if got := tb.Get(320).Parent(); got == nil || got.Tid != 310 {
		t.Errorf("parent after main thread exit = %v, want thread 310", view(got))
	}
	if got := tb.Process(300); got == nil || got.Threads() != 1 {
		t.Errorf("process 300 after main thread exit = %v", got)
	}
	tb.Exit(43, 310)
	tb.Flush()
	if tb.Process(300) != nil {
		t.Errorf("process 300 still present")
	}
	if got := tb.Get(320).Proc().PPid; got != 1 {
		t.Errorf("orphan PPid = %d, want 1", got)
	}
}

func TestExecKillsOtherThreads(t *testing.T) {
	tb := tree(t)
	tb.Fork(40, 300, 310, 300, CloneThread|CloneFiles)
	tb.Fork(41, 300, 311, 300, CloneThread|CloneFiles)
	// A non-leader thread execs: it takes the process id.
	th := tb.Exec(42, 311, "/bin/true", []string{"true"}, nil, ExecInfo{})
	if th.Tid != 300 || !th.IsMain() {
		t.Errorf("after exec tid = %d, want 300", th.Tid)
	}
	if tb.Get(310) != nil || tb.Get(311) != nil {
		t.Errorf("other threads still present")
	}
	if got := th.Proc().Threads(); got != 1 {
		t.Errorf("Threads = %d, want 1", got)
	}
	if got := tb.Get(300).Cmdline(); got != "true" {
		t.Errorf("Cmdline = %q", got)
	}
}

// The kernel kills the leader in de_thread before a non-leader's exec
// returns, so the leader's exit record can come first: the exec record
// (under the process id) must still find the process and its parent.
func TestExecAfterLeaderExit(t *testing.T) {
	tb := tree(t)
	tb.Fork(40, 300, 310, 300, CloneThread|CloneFiles)
	tb.Fork(41, 300, 311, 300, CloneThread|CloneFiles)
	tb.Exit(42, 300)
	tb.Exit(43, 310)
	th := tb.Exec(44, 300, "/bin/true", []string{"true"}, nil, ExecInfo{})
	if th.Tid != 300 || !th.IsMain() {
		t.Errorf("after exec tid = %d, want 300", th.Tid)
	}
	if got := th.Proc().PPid; got != 200 {
		t.Errorf("PPid = %d, want 200", got)
	}
	if diff := cmp.Diff([]string{"true", "sh", "bash", "init"}, names(tb.Get(300))); diff != "" {
		t.Errorf("ancestry (-want +got):\n%s", diff)
	}
	if tb.Get(311) != nil || tb.Get(310) != nil {
		t.Errorf("other threads still present")
	}
	if got := th.Proc().Threads(); got != 1 {
		t.Errorf("Threads = %d, want 1", got)
	}
}

func TestExecInfo(t *testing.T) {
	tb := tree(t)
	cg := []container.Cgroup{{Controllers: "", Path: "/docker/3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"}}
	th := tb.Exec(50, 300, "/memfd:x", []string{"x"}, nil, ExecInfo{
		Known:   ExecCreds | ExecCaps | ExecTTY | ExecLoginUID | ExecSession,
		Creds:   Creds{UID: 1000, EUID: 1000, GID: 100, EGID: 100},
		Caps:    Caps{Effective: 1<<0 | 1<<21, Permitted: 1 << 21},
		TTY:     34816,
		Cgroups: cg, LoginUID: 1000, Pgid: 300, Vpgid: 300, Sid: 100,
	})
	p := th.Proc()
	type execView struct {
		Creds                    Creds
		CapEff, CapPrm, CapInh   string
		TTY                      uint32
		LoginUID                 int64
		Memfd                    bool
		ID, FullID, Type, CgPath string
		InContainer              bool
	}
	got := execView{th.Creds, th.CapEffective(), th.CapPermitted(), th.CapInheritable(), p.TTY, th.LoginUID(),
		p.ExeFromMemfd, p.ContainerID, p.ContainerFullID, p.ContainerType, p.CgroupPath, p.InContainer()}
	want := execView{Creds{UID: 1000, EUID: 1000, GID: 100, EGID: 100}, "CAP_CHOWN CAP_SYS_ADMIN", "CAP_SYS_ADMIN", "",
		34816, 1000, true, "3ad7b26ded6d", "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e", "docker",
		cg[0].Path, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := th.SessionLeader(); got == nil || got.Comm() != "bash" {
		t.Errorf("SessionLeader = %v, want bash", view(got))
	}
	if got := th.VpgidLeader(); got != th {
		t.Errorf("VpgidLeader = %v, want itself", view(got))
	}
	c := tb.Fork(51, 300, 500, 500, 0)
	if got := c.VpgidLeader(); got != th {
		t.Errorf("child VpgidLeader = %v, want its parent (the group leader)", view(got))
	}
	if got := c.SessionLeader(); got == nil || got.Pid() != 100 {
		t.Errorf("child SessionLeader = %v, want bash", view(got))
	}
	if got := th.PgidLeader(); got != th {
		t.Errorf("PgidLeader = %v, want itself", view(got))
	}
}

func TestCreds(t *testing.T) {
	tests := []struct {
		name string
		set  func(tb *Table)
		want Creds
	}{
		{"setuid as root", func(tb *Table) { tb.SetUID(1, 1000) }, Creds{UID: 1000, EUID: 1000, SUID: 1000, FSUID: 1000}},
		{"setgid as root", func(tb *Table) { tb.SetGID(1, 50) }, Creds{GID: 50, EGID: 50, SGID: 50, FSGID: 50}},
		{"setuid as user changes euid only", func(tb *Table) { tb.SetResUID(1, 1000, 1000, 1000); tb.SetUID(1, 0) },
			Creds{UID: 1000, EUID: 0, SUID: 1000, FSUID: 0}},
		{"setresuid with -1", func(tb *Table) { tb.SetResUID(1, -1, 33, -1) }, Creds{EUID: 33, FSUID: 33}},
		{"setresgid", func(tb *Table) { tb.SetResGID(1, 1, 2, 3) }, Creds{GID: 1, EGID: 2, SGID: 3, FSGID: 2}},
		{"out of range ignored", func(tb *Table) { tb.SetResUID(1, 1<<40, 0xffffffff, -5) }, Creds{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestTable(nil)
			tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
			tc.set(tb)
			if diff := cmp.Diff(tc.want, tb.Get(1).Creds); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	tb := newTestTable(&Options{MaxThreads: 10})
	tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
	for i := int64(2); i <= 40; i++ {
		tb.Fork(uint64(i), 1, i, i, 0)
	}
	st := tb.Stats()
	if st.Threads != 10 || st.Evicted != 30 {
		t.Errorf("Threads, Evicted = %d, %d, want 10, 30", st.Threads, st.Evicted)
	}
	if tb.Get(1) == nil || tb.Get(40) == nil {
		t.Errorf("init or the newest thread was evicted")
	}
	// init's children set does not keep evicted ones.
	if n := len(tb.Process(1).children); n != 9 {
		t.Errorf("init children = %d, want 9", n)
	}
}

func TestAncestorLoopGuard(t *testing.T) {
	tb := newTestTable(nil)
	tb.Exec(1, 10, "/a", []string{"a"}, nil, ExecInfo{})
	tb.Fork(2, 10, 11, 11, 0)
	// Corrupt the table into a loop 10 → 11 → 10.
	tb.Process(10).PPid = 11
	n := 0
	tb.Get(11).Ancestors(func(*Thread) bool { n++; return true })
	if n != 1 {
		t.Errorf("Ancestors visited %d, want 1", n)
	}
	if got := tb.Get(11).Ancestor(DefaultMaxAncestorDepth + 1); got != nil {
		t.Errorf("Ancestor beyond the bound = %v", view(got))
	}
	// Parent of a self-parented process is nil.
	tb.Process(10).PPid = 10
	if got := tb.Get(10).Parent(); got != nil {
		t.Errorf("self parent = %v", view(got))
	}
}

func TestFormatCaps(t *testing.T) {
	tests := []struct {
		set  uint64
		want string
	}{
		{0, ""},
		{1, "CAP_CHOWN"},
		{1<<0 | 1<<1, "CAP_CHOWN CAP_DAC_OVERRIDE"},
		{1 << 40, "CAP_CHECKPOINT_RESTORE"},
		{1<<41 | 1<<63, ""},
		{0x1ffffffffff, "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%#x", tc.set), func(t *testing.T) {
			if got := FormatCaps(tc.set); got != tc.want {
				t.Errorf("FormatCaps = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestForkUnknownParent(t *testing.T) {
	tb := newTestTable(nil)
	th := tb.Fork(5, 77, 78, 78, 0)
	// Neither the table nor /proc knows pid 77: ppid 0, as libsinsp.
	if th == nil || th.Pid() != 78 || th.Proc().PPid != 0 {
		t.Fatalf("child of unknown parent = %v", view(th))
	}
	if th.Parent() != nil {
		t.Errorf("Parent of a child of an unknown parent should be nil")
	}
	if tb.Fork(6, 1, 0, 0, 0) != nil {
		t.Errorf("Fork with tid 0 returned a thread")
	}
}
