package state

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/internal/testutil"
)

// startSleep starts `sh -c 'sleep 30 & wait'` in dir with env and returns
// the shell's pid and its sleep child's pid.
func startSleep(t *testing.T, dir string, env []string) (shPid, sleepPid int) {
	t.Helper()
	testutil.RequireCommand(t, "sh")
	testutil.RequireCommand(t, "sleep")
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	cmd.Dir, cmd.Env = dir, env
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sh: %v", err)
	}
	t.Cleanup(func() {
		if sleepPid > 0 {
			_ = syscallKill(sleepPid)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	shPid = cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(shPid) + "/task/" + strconv.Itoa(shPid) + "/children")
		if f := strings.Fields(string(b)); len(f) > 0 {
			sleepPid, _ = strconv.Atoi(f[0])
			// Wait for the exec to replace the forked shell.
			if c, _ := os.ReadFile("/proc/" + f[0] + "/comm"); strings.TrimSpace(string(c)) == "sleep" {
				return shPid, sleepPid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("sleep child of %d did not appear", shPid)
	return 0, 0
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

type realView struct {
	Comm, Exe, ExePath, Cwd, Cmdline string
	Args                             []string
	Env                              []string
	ParentPid                        int64
	ContainerID, ContainerType       string
}

func realOf(th *Thread) realView {
	// The shell adds and reorders variables: keep only FOO.
	var env []string
	for _, kv := range th.Proc().Env() {
		if strings.HasPrefix(kv, "FOO=") {
			env = append(env, kv)
		}
	}
	v := realView{Comm: th.Comm(), Exe: th.Exe(), ExePath: th.ExePath(), Cwd: th.Cwd(), Cmdline: th.Cmdline(),
		Args: th.Args(), Env: env, ContainerID: th.Proc().ContainerID, ContainerType: th.Proc().ContainerType}
	if p := th.Parent(); p != nil {
		v.ParentPid = p.Pid()
	}
	return v
}

func realPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err = filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSeedRealProcesses(t *testing.T) {
	dir := t.TempDir()
	shPid, sleepPid := startSleep(t, dir, []string{"FOO=bar", "PATH=" + os.Getenv("PATH")})
	f, err := os.Create(filepath.Join(dir, "held.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	tb := NewTable(nil)
	st, err := tb.Seed()
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if st.Processes < 3 || st.Threads < st.Processes || st.FDs == 0 {
		t.Errorf("SeedStats = %+v", st)
	}
	sleep := tb.Get(int64(sleepPid))
	if sleep == nil {
		t.Fatalf("sleep %d not seeded", sleepPid)
	}
	want := realView{Comm: "sleep", Exe: "sleep", ExePath: realPath(t, "sleep"), Cwd: dir + "/", Cmdline: "sleep 30",
		Args: []string{"30"}, Env: []string{"FOO=bar"}, ParentPid: int64(shPid),
		ContainerID: "host", ContainerType: "host"}
	if diff := cmp.Diff(want, realOf(sleep)); diff != "" {
		t.Errorf("sleep (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sleep", "sh"}, names(sleep)[:2]); diff != "" {
		t.Errorf("ancestors (-want +got):\n%s", diff)
	}
	if got := sleep.Parent().Parent(); got == nil || got.Pid() != int64(os.Getpid()) {
		t.Errorf("grandparent = %v, want this test (%d)", view(got), os.Getpid())
	}
	if got := sleep.Proc().StartTS; got == 0 || time.Since(time.Unix(0, int64(got))) > time.Minute || time.Until(time.Unix(0, int64(got))) > time.Second {
		t.Errorf("StartTS = %v, want about now", time.Unix(0, int64(got)))
	}
	if sleep.Proc().PidNS == 0 || sleep.Proc().PidNS != tb.Get(int64(os.Getpid())).Proc().PidNS {
		t.Errorf("PidNS = %d, want this process's namespace", sleep.Proc().PidNS)
	}
	if sleep.Proc().ExeIno == 0 || sleep.Proc().ExeMtime == 0 {
		t.Errorf("exe inode not read: %+v", sleep.Proc())
	}

	// This test's own process: threads, descriptors, credentials.
	me := tb.Get(int64(os.Getpid()))
	if me == nil {
		t.Fatalf("own process not seeded")
	}
	if me.Proc().Threads() < 2 {
		t.Errorf("own process has %d threads, want the Go runtime's several", me.Proc().Threads())
	}
	found := false
	me.Proc().FDs().Each(func(fd *FD) bool {
		if fd.Name() == f.Name() {
			found = fd.Type == FDFile && fd.Ino != 0
			return false
		}
		return true
	})
	if !found {
		t.Errorf("held file %s not in the seeded fd table", f.Name())
	}
	if me.Creds.EUID != uint32(os.Geteuid()) {
		t.Errorf("EUID = %d, want %d", me.Creds.EUID, os.Geteuid())
	}
}

func TestSeedSockets(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		testutil.SkipOrFail(t, "no loopback: %v", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tb := NewTable(nil)
	if _, err := tb.Seed(); err != nil {
		t.Fatal(err)
	}
	me := tb.Get(int64(os.Getpid()))
	if me == nil {
		t.Fatal("own process not seeded")
	}
	srv := ln.Addr().String()
	cli := c.LocalAddr().String()
	var got []string
	me.Proc().FDs().Each(func(fd *FD) bool {
		if fd.Type == FDIPv4 && fd.L4Proto == L4TCP && strings.Contains(fd.Name(), srv) {
			got = append(got, fd.Name()+" server="+strconv.FormatBool(fd.Server))
		}
		return true
	})
	slices.Sort(got)
	want := []string{cli + "->" + srv + " server=false", cli + "->" + srv + " server=true", srv + " server=true"}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sockets (-want +got):\n%s", diff)
	}
}

func TestLazyLookup(t *testing.T) {
	dir := t.TempDir()
	shPid, sleepPid := startSleep(t, dir, nil)
	now := time.Unix(1000, 0)
	tb := NewTable(&Options{ProcReadsPerSec: 100, Now: func() time.Time { return now }})
	th := tb.Lookup(int64(sleepPid))
	if th == nil {
		t.Fatalf("lazy lookup of %d failed", sleepPid)
	}
	// As in libsinsp, the parent is looked for in the table only: sh was
	// never seen, so the ancestry stops here.
	if p := th.Parent(); p != nil || th.Proc().PPid != 0 {
		t.Errorf("parent after lazy lookup = %v (ppid %d), want none and ppid 0", view(p), th.Proc().PPid)
	}
	if got := th.Cmdline(); got != "sleep 30" {
		t.Errorf("Cmdline = %q", got)
	}
	if st := tb.Stats(); st.ProcReads != 1 {
		t.Errorf("ProcReads = %d, want 1 (the thread, not its ancestors)", st.ProcReads)
	}
	// With the parent in the table first, the lazily read child has it.
	tb2 := NewTable(&Options{ProcReadsPerSec: 100, Now: func() time.Time { return now }})
	if tb2.Lookup(int64(shPid)) == nil {
		t.Fatalf("lazy lookup of sh %d failed", shPid)
	}
	th2 := tb2.Lookup(int64(sleepPid))
	if p := th2.Parent(); p == nil || p.Pid() != int64(shPid) {
		t.Errorf("parent with sh known = %v, want sh %d", view(p), shPid)
	}
	// A pid that does not exist counts a failure.
	before := tb.Stats().ProcFailures
	if tb.Lookup(1<<22+12345) != nil {
		t.Errorf("lookup of a missing pid found something")
	}
	if got := tb.Stats().ProcFailures; got != before+1 {
		t.Errorf("ProcFailures = %d, want %d", got, before+1)
	}
}

func TestLazyLookupRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := NewTable(&Options{ProcReadsPerSec: 2, Now: func() time.Time { return now }})
	for i := range 5 {
		tb.Lookup(int64(1<<22 + 100 + i))
	}
	st := tb.Stats()
	if st.ProcReads != 2 || st.ProcLimited != 3 {
		t.Errorf("ProcReads, ProcLimited = %d, %d, want 2, 3", st.ProcReads, st.ProcLimited)
	}
	now = now.Add(time.Second)
	tb.Lookup(1<<22 + 200)
	if got := tb.Stats().ProcReads; got != 3 {
		t.Errorf("ProcReads in the next second = %d, want 3", got)
	}
}

func TestForkOfUnknownParentReadsChild(t *testing.T) {
	_, sleepPid := startSleep(t, t.TempDir(), nil)
	tb := NewTable(nil)
	// The parent (a made-up tid) is unknown: the child comes from /proc.
	th := tb.Fork(1, 1<<22+999, int64(sleepPid), int64(sleepPid), 0)
	if th == nil || th.Comm() != "sleep" {
		t.Errorf("child = %v, want sleep read from /proc", view(th))
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     procStat
		wantErr  string
	}{
		{"plain", "42 (sleep) S 1 42 42 34816 42 4194304 100 0 0 0 0 0 0 0 20 0 1 0 12345 1 2 3",
			procStat{comm: "sleep", ppid: 1, pgrp: 42, session: 42, tty: 34816, start: 12345}, ""},
		{"comm with parens and spaces", "7 (a) b (c)) R 2 3 4 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99",
			procStat{comm: "a) b (c)", ppid: 2, pgrp: 3, session: 4, start: 99}, ""},
		{"short", "7 (x) R 1 2", procStat{}, "short stat"},
		{"garbage", "nonsense", procStat{}, "malformed stat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Fatalf("error = %q, want %q", gotErr, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFDFromLink(t *testing.T) {
	tests := []struct {
		link string
		want *fdView
	}{
		{"pipe:[123]", &fdView{Type: "pipe", Name: "pipe:[123]", NameRaw: "pipe:[123]"}},
		{"anon_inode:[eventfd]", &fdView{Type: "event", Name: "anon_inode:[eventfd]", NameRaw: "anon_inode:[eventfd]"}},
		{"anon_inode:[eventpoll]", &fdView{Type: "eventpoll", Name: "anon_inode:[eventpoll]", NameRaw: "anon_inode:[eventpoll]"}},
		{"anon_inode:inotify", &fdView{Type: "inotify", Name: "anon_inode:inotify", NameRaw: "anon_inode:inotify"}},
		{"anon_inode:[timerfd]", &fdView{Type: "timerfd", Name: "anon_inode:[timerfd]", NameRaw: "anon_inode:[timerfd]"}},
		{"anon_inode:bpf-map", &fdView{Type: "bpf", Name: "anon_inode:bpf-map", NameRaw: "anon_inode:bpf-map"}},
		{"/memfd:evil (deleted)", &fdView{Type: "memfd", Name: "memfd:evil", NameRaw: "memfd:evil", File: "memfd:evil"}},
		{"socket:[99999999]", &fdView{Type: "<NA>"}},
		{"/", &fdView{Type: "directory", Name: "/", NameRaw: "/", Dir: "/"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, fview(fdFromLink(3, tc.link, nil))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.link, diff)
		}
	}
}

func TestParseHexAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0100007F:1F90", "127.0.0.1:8080", true},
		{"00000000:0016", "0.0.0.0:22", true},
		{"00000000000000000000000001000000:0035", "[::1]:53", true},
		{"0000000000000000FFFF00000100007F:0050", "[::ffff:127.0.0.1]:80", true},
		{"zz:1", "", false},
		{"0100007F", "", false},
	}
	for _, tc := range tests {
		got, ok := parseHexAddr(tc.in)
		gs := ""
		if ok {
			gs = got.String()
		}
		if ok != tc.ok || gs != tc.want {
			t.Errorf("parseHexAddr(%q) = %q, %v, want %q, %v", tc.in, gs, ok, tc.want, tc.ok)
		}
	}
	_ = netip.Addr{}
}

// fakeProc writes the stat files of a /proc with one thread per process.
func fakeProc(t *testing.T, procs map[int64]int64) string {
	t.Helper()
	root := t.TempDir()
	for pid, ppid := range procs {
		stat := fmt.Sprintf("%d (p%d) S %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", pid, pid, ppid, pid, pid)
		dir := filepath.Join(root, strconv.FormatInt(pid, 10))
		tdir := filepath.Join(dir, "task", strconv.FormatInt(pid, 10))
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(dir, "stat"), filepath.Join(tdir, "stat")} {
			if err := os.WriteFile(f, []byte(stat), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// TestSeedAncestryStops: after the /proc scan, a process whose parent is
// not in the table gets ppid 0 (libsinsp's thread dependencies), so
// proc.aname stops there; init keeps ppid 0 and the rest keep theirs.
func TestSeedAncestryStops(t *testing.T) {
	root := fakeProc(t, map[int64]int64{1: 0, 10: 1, 11: 10, 20: 15, 21: 20})
	tb := NewTable(&Options{ProcRoot: root})
	if _, err := tb.Seed(); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{1: 0, 10: 1, 11: 10, 20: 0, 21: 20}
	for pid, ppid := range want {
		p := tb.Process(pid)
		if p == nil {
			t.Fatalf("pid %d not seeded", pid)
		}
		if p.PPid != ppid {
			t.Errorf("pid %d: ppid %d, want %d", pid, p.PPid, ppid)
		}
	}
	th := tb.Get(21)
	if a := th.Ancestor(1); a == nil || a.Pid() != 20 {
		t.Errorf("aname[1] of 21 = %v, want 20", view(a))
	}
	if a := th.Ancestor(2); a != nil {
		t.Errorf("aname[2] of 21 = %v, want none (20's parent was never in the table)", view(a))
	}
	if a := tb.Get(11).Ancestor(2); a == nil || a.Pid() != 1 {
		t.Errorf("aname[2] of 11 = %v, want init", view(a))
	}
}
