package bpf

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFDMarksCloseMemo: the per-CPU memo of the last untracked close
// (close_memo) answers only while no change of the marks has begun. On
// one CPU, a descriptor opened and closed again and again is untracked
// (its closes dropped, the memo written); then a sent dup2 onto it makes
// it tracked, and its next close must be sent although the memo names the
// same process and descriptor; so too after SetFDMarks rewrites the marks.
// A change that did not count itself (the dup2's copy of a mark, or
// userspace's rewrite) would leave the memo answering: the close dropped.
func TestFDMarksCloseMemo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus unix.CPUSet
	cpus.Set(0)
	if err := unix.SchedSetaffinity(0, &cpus); err != nil {
		t.Fatal(err)
	}
	c := load(t, &Options{NoSchedEvents: true})
	setTables(t, c, &Tables{
		Gate:   map[int]Mask{},
		Always: map[int]bool{sysClose: true, sysDup2: true, 292: true}, // 292: dup3, which unix.Dup2 calls
	}, ModeFull)
	if err := c.SetFDMarks(true); err != nil {
		t.Fatal(err)
	}
	pid := uint32(os.Getpid())
	open := func() int {
		fd, err := unix.Open("/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	closesOf := func(fd int) int {
		n := 0
		for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool {
			return r.Tgid == pid && r.Kind == sysClose && r.Args[0] == uint64(fd)
		}) {
			if r.Ret == 0 {
				n++
			}
		}
		return n
	}

	fd := open()
	unix.Close(fd) // sent: the first close creates the entry and clears the mark
	for range 20 {
		if g := open(); g != fd {
			t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
		}
		unix.Close(fd)
	}
	// Only the preempt-disabled flavour (6.10 and later) keeps the memo;
	// the checks below hold for every flavour.
	fb := c.Fallbacks()
	if !slices.Contains(fb, FeatureLoop) && !slices.Contains(fb, FeaturePreempt) {
		// Other processes' closes on CPU 0 overwrite it: read it right
		// after a close, a few times.
		var memo []closeMemoValue
		seen := false
		for range 20 {
			if g := open(); g != fd {
				t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
			}
			unix.Close(fd)
			if err := c.objs.CloseMemo.Lookup(uint32(0), &memo); err != nil {
				t.Fatal(err)
			}
			if m := memo[0]; m.Tgid == pid && m.Fd == int64(fd) {
				seen = true
				break
			}
		}
		if !seen {
			t.Fatalf("CPU 0's memo never held process %d fd %d after its close (last: %+v)", pid, fd, memo[0])
		}
	} else {
		t.Logf("fallbacks %v: the memo is not used by this flavour", fb)
	}

	if n := closesOf(fd); n > 1 {
		t.Fatalf("%d closes of untracked fd %d sent, want at most the first", n, fd)
	}

	// dup2 of a tracked descriptor (stdin: never closed, so marked) onto
	// fd: sent, it copies the mark, and fd's next close is sent. (An
	// untracked close first, so that the memo is this process's again.)
	if g := open(); g != fd {
		t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
	}
	unix.Close(fd)
	if g := open(); g != fd {
		t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
	}
	if err := unix.Dup2(0, fd); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if n := closesOf(fd); n != 1 {
		t.Errorf("after a dup2 onto it, %d closes of fd %d sent, want 1", n, fd)
	}

	// Untracked again, memo written again; then userspace rewrites the
	// marks (every descriptor tracked): the close is sent.
	for range 5 {
		if g := open(); g != fd {
			t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
		}
		unix.Close(fd)
	}
	if n := closesOf(fd); n != 0 {
		t.Fatalf("%d closes of untracked fd %d sent, want 0", n, fd)
	}
	if g := open(); g != fd {
		t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
	}
	unix.Close(fd) // the memo is this process's again
	if err := c.SetFDMarks(true); err != nil {
		t.Fatal(err)
	}
	if g := open(); g != fd {
		t.Skipf("descriptor %d, then %d: another thread took the number", fd, g)
	}
	unix.Close(fd)
	if n := closesOf(fd); n != 1 {
		t.Errorf("after SetFDMarks, %d closes of fd %d sent, want 1", n, fd)
	}
}

// closeMemoValue is struct close_memo.
type closeMemoValue struct {
	Begin  uint64
	Ubegin uint64
	Fd     int64
	Tgid   uint32
	Pad    uint32
}
