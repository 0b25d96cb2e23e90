package bpf

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lifecycleRun is what a shell running two children sent, seen from the
// records: lines such as "fork sh>child", "execve child", "vfork ret>0
// sh" (a parent's return), "clone ret=0 child" (a child's return), "exec
// tracepoint child", sorted.
type lifecycleRun struct {
	lines   []string
	newPID  []string // the records of a child made with CLONE_NEWPID
	connect []string // the connects of this process: "ret=N"
	// What to look at when a record is missing: every exec tracepoint
	// record read ("tgid comm"), and the exec program's counters and the
	// capture's recursion misses over the run (a record the program
	// never built, one the ring had no room for, or one sent but not
	// read before the drain's deadline).
	execs      []string
	sh         uint32
	execCounts StageCounts
	missed     uint64
}

// why says where the lifecycle run's records went.
func (l lifecycleRun) why() string {
	return fmt.Sprintf("exec tracepoint: calls %d, sent %d, lost %d; records read %q; recursion misses %d",
		l.execCounts.Calls, l.execCounts.Sent, l.execCounts.Lost, l.execs, l.missed)
}

func runLifecycle(t *testing.T, c *Capture) lifecycleRun {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cnt0, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	missed0, err := c.Missed()
	if err != nil {
		t.Fatal(err)
	}
	connectTo := func(path string) {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		unix.Close(fd)
	}
	connectTo(sock)
	connectTo(sock + ".missing")

	cmd := exec.Command("/bin/sh", "-c", "/bin/true; /bin/true; exit 0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ns := exec.Command("/bin/true")
	ns.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := ns.Run(); err != nil {
		t.Fatal(err)
	}
	self, sh, nsPid := uint32(os.Getpid()), uint32(cmd.Process.Pid), uint32(ns.Process.Pid)
	names := map[uint32]string{self: "test", sh: "sh"}
	var out lifecycleRun
	out.sh = sh
	var recs []*Record
	drain(t, c, 300*time.Millisecond, func(r *Record) bool {
		if f, ok := r.Fork(); ok && r.Kind == KindFork && f.ParentTgid == sh && f.ChildTgid != sh {
			names[f.ChildTgid] = "child"
		}
		recs = append(recs, &Record{Header: r.Header})
		return false
	})
	cnt1, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	missed1, err := c.Missed()
	if err != nil {
		t.Fatal(err)
	}
	e0, e1 := cnt0.ByKind[KindExec], cnt1.ByKind[KindExec]
	out.execCounts = StageCounts{Calls: e1.Calls - e0.Calls, Sent: e1.Sent - e0.Sent, Lost: e1.Lost - e0.Lost}
	out.missed = missed1 - missed0
	for _, r := range recs {
		if r.Kind == KindExec {
			out.execs = append(out.execs, fmt.Sprintf("%d %s", r.Tgid, r.CommString()))
		}
	}
	for _, r := range recs {
		who, ok := names[r.Tgid]
		switch {
		case r.Tgid == nsPid && (r.Kind == 56 || r.Kind == 58 || r.Kind == 435):
			out.newPID = append(out.newPID, fmt.Sprintf("clone ret=%d vtid=%d", r.Ret, r.Vtid))
		case r.Tgid == self && r.Kind == sysConnect:
			out.connect = append(out.connect, fmt.Sprintf("ret=%d", r.Ret))
		case !ok:
		case r.Kind == KindFork && who == "sh":
			out.lines = append(out.lines, "fork sh>child")
		case r.Kind == KindExec:
			out.lines = append(out.lines, "exec tracepoint "+who)
		case r.Kind == sysExecve && who != "test":
			out.lines = append(out.lines, fmt.Sprintf("execve ret=%d %s", r.Ret, who))
		case r.Kind == 56 || r.Kind == 57 || r.Kind == 58 || r.Kind == 435:
			ret := "ret=0"
			if r.Ret > 0 {
				ret = "ret>0"
			}
			if who == "test" && r.Ret > 0 {
				continue // the Go runtime's own threads too; the test's fork of sh is below
			}
			out.lines = append(out.lines, fmt.Sprintf("clone %s %s", ret, who))
		}
	}
	// The test's own fork of sh: its return in this process.
	for _, r := range recs {
		if r.Tgid == self && (r.Kind == 56 || r.Kind == 58) && r.Ret == int64(sh) {
			out.lines = append(out.lines, "clone ret>0 test")
		}
	}
	slices.Sort(out.lines)
	slices.Sort(out.connect)
	return out
}

// TestLifecycleDrops: in full mode, with the state syscalls always sent,
// a shell running two children sends its fork records, execve exits and
// exits, but not the parent's nor the child's return from each fork, nor
// the exec tracepoint's records; a child in a new pid namespace still
// sends its return (its ids there); a failed connect is dropped, one that
// succeeded is sent. SetKeepLifecycle(true) sends them all again.
func TestLifecycleDrops(t *testing.T) {
	c := load(t, &Options{})
	always := map[int]bool{56: true, 57: true, 58: true, 435: true, sysExecve: true, 322: true, sysConnect: true}
	setTables(t, c, &Tables{Always: always}, ModeFull)

	got := runLifecycle(t, c)
	// sh's return from Go's fork is its child's side (dropped too); the
	// shell's children are in the initial pid namespace.
	want := []string{"execve ret=0 child", "execve ret=0 child", "execve ret=0 sh", "fork sh>child", "fork sh>child"}
	if fmt.Sprint(got.lines) != fmt.Sprint(want) {
		t.Errorf("lifecycle records with the drops:\n got %q\nwant %q\n%s", got.lines, want, got.why())
	}
	if len(got.newPID) != 1 || got.newPID[0] != "clone ret=0 vtid=1" {
		t.Errorf("child in a new pid namespace: returns %q, want its own (vtid 1)", got.newPID)
	}
	if want := []string{"ret=0"}; fmt.Sprint(got.connect) != fmt.Sprint(want) {
		t.Errorf("connects %q, want %q (the failed one dropped)", got.connect, want)
	}

	if err := c.SetKeepLifecycle(true); err != nil {
		t.Fatal(err)
	}
	got = runLifecycle(t, c)
	t.Logf("keeping the lifecycle: %q, new pid namespace %q", got.lines, got.newPID)
	for _, line := range []string{"clone ret>0 sh", "clone ret=0 child", "clone ret>0 test", "clone ret=0 sh",
		"exec tracepoint child", "exec tracepoint sh"} {
		if !slices.Contains(got.lines, line) {
			t.Errorf("keeping the lifecycle: no %q in %q\n(sh is %d) %s", line, got.lines, got.sh, got.why())
		}
	}
}

// TestLifecycleRuleWatches: a rule that looks at clone gets the child's
// return (the parent's is still dropped: userspace reads the fork record
// for it).
func TestLifecycleRuleWatches(t *testing.T) {
	c := load(t, &Options{})
	bit := MaskOf(9)
	setTables(t, c, &Tables{
		Always: map[int]bool{sysExecve: true, 322: true},
		Gate:   map[int]Mask{56: bit, 57: bit, 58: bit, 435: bit},
	}, ModeFull)
	got := runLifecycle(t, c)
	var rets []string
	for _, l := range got.lines {
		if l == "clone ret=0 child" || l == "clone ret>0 sh" {
			rets = append(rets, l)
		}
	}
	if want := []string{"clone ret=0 child", "clone ret=0 child"}; fmt.Sprint(rets) != fmt.Sprint(want) {
		t.Errorf("returns from the shell's forks: %q, want %q", rets, want)
	}
}
