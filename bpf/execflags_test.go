package bpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestExecFlags execs programs whose executable differs in what Falco's
// exec flags say: a host binary as root (writable: root owns it) and as
// an unprivileged user (not writable), and, from an overlayfs mounted for
// the test, a file only in the lower layer and one copied up into the
// upper layer (what a binary dropped into a running container is).
func TestExecFlags(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{Always: map[int]bool{sysExecve: true}}, ModeFull)

	dir := t.TempDir()
	// The unprivileged run must reach the overlay (TempDir makes 0700).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower, upper, work, merged := filepath.Join(dir, "lower"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "lower-true"), prog, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		testutil.SkipOrFail(t, "mount overlayfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	// Written through the overlay: the file lands in the upper layer.
	if err := os.WriteFile(filepath.Join(merged, "upper-true"), prog, 0o755); err != nil {
		t.Fatal(err)
	}

	run := func(path string, cred *syscall.Credential) {
		t.Helper()
		cmd := exec.Command(path)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("run %s: %v", path, err)
		}
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	run("/bin/true", nil)
	run("/bin/true", nobody)
	run(filepath.Join(merged, "lower-true"), nil)
	run(filepath.Join(merged, "upper-true"), nil)
	run(filepath.Join(merged, "lower-true"), nobody)

	type got struct {
		Exe, Flags string
	}
	var gots []got
	pid := uint32(os.Getpid())
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Ppid == pid && r.Kind == sysExecve && r.Ret == 0 }) {
		e, ok := r.Exec()
		if !ok {
			t.Fatalf("execve record of %s has no exec info", str(r.Exe()))
		}
		gots = append(gots, got{filepath.Base(str(r.Exe())) + " uid " + itoa(uintptr(r.UID)), execFlagNames(e.Flags)})
	}
	want := []got{
		{"true uid 0", "writable"},
		{"true uid 65534", ""},
		{"lower-true uid 0", "writable lower"},
		{"upper-true uid 0", "writable upper"},
		{"lower-true uid 65534", "lower"},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("exec flags (-want +got):\n%s", diff)
	}
}

func execFlagNames(f uint32) string {
	s := ""
	for _, b := range []struct {
		bit  uint32
		name string
	}{{ExecWritable, "writable"}, {ExecMemfd, "memfd"}, {ExecUpper, "upper"}, {ExecLower, "lower"}} {
		if f&b.bit != 0 {
			if s != "" {
				s += " "
			}
			s += b.name
		}
	}
	return s
}
