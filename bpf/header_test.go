package bpf

import (
	"bufio"
	"fmt"
	"github.com/falcoc/falcoc/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
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
		path := filepath.Join(t.TempDir(), "falcoc-header-probe")
		// The test binary again, as pid 1 of a new pid namespace: its
		// init runs headerHelper, which sets other ids and a name, then
		// opens path.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), headerHelperEnv+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
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
			Tid: uint32(cmd.Process.Pid), Tgid: uint32(cmd.Process.Pid), Ppid: uint32(os.Getpid()), Vtid: 1, Vtgid: 1,
			Uid: 101, Gid: 103, Euid: 102, Egid: 104,
			Loginuid: procUint(t, "/proc/self/loginuid"), Comm: "falcoc-hdr", CgroupID: cgroupID(t, os.Getpid()),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
	})
}

const headerHelperEnv = "FALCOC_HEADER_HELPER"

func init() {
	if path := os.Getenv(headerHelperEnv); path != "" {
		if err := headerHelper(path); err != nil {
			fmt.Fprintln(os.Stderr, "header helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// headerHelper is TestHeaderFields' other process, run from init: on the
// main thread (pid 1 of its namespace; Go runs package initialisation
// there) it takes real and effective ids that differ, renames itself and
// opens path.
func headerHelper(path string) error {
	if unix.Gettid() != os.Getpid() {
		return fmt.Errorf("not on the main thread (tid %d, pid %d)", unix.Gettid(), os.Getpid())
	}
	name := []byte("falcoc-hdr\x00")
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
		return err
	}
	// Raw calls change this thread only; gid first (uid 101 may not).
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, 103, 104, 104); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 101, 102, 102); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	fd, _, _ := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(atCWD), uintptr(unsafe.Pointer(p)), unix.O_RDONLY, 0, 0, 0)
	if int(fd) >= 0 {
		unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	}
	return nil
}

// atCWD is a variable so that its conversion to uintptr happens at run
// time (the constant is negative).
var atCWD = unix.AT_FDCWD

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
	testutil.SkipOrFail(t, "no cgroup v2 mount")
	return 0
}
