package bpf

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/internal/testutil"
)

// hdrFields are the task fields of a record's header that a test can know
// from outside the kernel.
type hdrFields struct {
	Tid, Tgid, Ppid, Vtid, Vtgid   uint32
	Uid, Gid, Euid, Egid, Loginuid uint32
	Comm                           string
	CgroupID                       uint64
}

func fieldsOf(r *Record) hdrFields {
	return hdrFields{
		Tid: r.Tid, Tgid: r.Tgid, Ppid: r.Ppid, Vtid: r.Vtid, Vtgid: r.Vtgid,
		Uid: r.UID, Gid: r.GID, Euid: r.EUID, Egid: r.EGID, Loginuid: r.LoginUID,
		Comm: r.CommString(), CgroupID: r.CgroupID,
	}
}

// TestHeaderFields: every task field of a record's header (written by
// fill_hdr through the task's BTF pointer where the kernel allows it)
// matches what /proc and the cgroup file system say, for this thread and
// for a process with other credentials in a pid namespace of its own
// (level 1: the namespace ids are then read from struct pid).
func TestHeaderFields(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysGetppid: MaskOf(3), sysOpenat: MaskOf(3)}}, ModeEvttype)

	t.Run("self", func(t *testing.T) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		want := hdrFields{
			Tid: uint32(tid), Tgid: uint32(os.Getpid()), Ppid: uint32(os.Getppid()),
			Vtid: uint32(tid), Vtgid: uint32(os.Getpid()),
			Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Euid: uint32(os.Geteuid()), Egid: uint32(os.Getegid()),
			Loginuid: procUint(t, "/proc/self/loginuid"),
			Comm:     procString(t, fmt.Sprintf("/proc/self/task/%d/comm", tid)),
			CgroupID: cgroupID(t, os.Getpid()),
		}
		unix.Getppid()
		recs := drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Tid == uint32(tid) && r.Kind == sysGetppid })
		if len(recs) == 0 {
			t.Fatal("no getppid record")
		}
		if diff := cmp.Diff(want, fieldsOf(recs[0])); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
	})

	t.Run("pid namespace and credentials", func(t *testing.T) {
		testutil.RequireCommand(t, "unshare")
		testutil.RequireCommand(t, "setpriv")
		path := filepath.Join(t.TempDir(), "falcoc-header-probe")
		// unshare forks the namespace's first process, which becomes
		// cat (pid 1 there) with these credentials.
		cmd := exec.Command("unshare", "--pid", "--fork", "setpriv", "--ruid", "101", "--euid", "102",
			"--rgid", "103", "--egid", "104", "--clear-groups", "cat", path)
		out, err := cmd.CombinedOutput()
		// The folder is the test's own (0700): the open fails, but runs.
		if !strings.Contains(string(out), "Permission denied") {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
		recs := drain(t, c, 300*time.Millisecond, func(r *Record) bool {
			p, ok := r.Path()
			return r.Kind == sysOpenat && ok && string(p) == path
		})
		if len(recs) != 1 {
			t.Fatalf("%d openat records of %s, want 1", len(recs), path)
		}
		got := fieldsOf(recs[0])
		want := hdrFields{
			Tid: got.Tid, Tgid: got.Tid, Ppid: uint32(cmd.Process.Pid), Vtid: 1, Vtgid: 1,
			Uid: 101, Gid: 103, Euid: 102, Egid: 104,
			Loginuid: procUint(t, "/proc/self/loginuid"), Comm: "cat", CgroupID: cgroupID(t, os.Getpid()),
		}
		if got.Tid == 1 {
			t.Errorf("tid 1: the host's id was expected, not the namespace's")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
	})
}

func procString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func procUint(t *testing.T, path string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(procString(t, path), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// cgroupID is the id of process pid's cgroup v2 (the inode of its folder),
// which is what the kernel's bpf_get_current_cgroup_id returns.
func cgroupID(t *testing.T, pid int) uint64 {
	t.Helper()
	var rel string
	for _, l := range strings.Split(procString(t, fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			rel = p
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		for i, x := range fs {
			if x == "-" && i+1 < len(fs) && fs[i+1] == "cgroup2" {
				var st unix.Stat_t
				if err := unix.Stat(filepath.Join(fs[4], rel), &st); err != nil {
					t.Fatal(err)
				}
				return st.Ino
			}
		}
	}
	t.Skip("no cgroup v2 mount")
	return 0
}
