package bpf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/internal/testutil"
)

const sysLseek = 8

// collect reads records in the background, keeping copies of those keep
// accepts. stop returns them once the rings are read to their end (call it
// after the workload).
func collect(tb testing.TB, c *Capture, keep func(*Record) bool) (stop func() []*Record) {
	tb.Helper()
	var (
		out  []*Record
		err  error
		done = make(chan struct{})
		quit = make(chan struct{})
	)
	go func() {
		defer close(done)
		var r Record
		for {
			c.SetDeadline(time.Now().Add(20 * time.Millisecond))
			e := c.ReadInto(&r)
			if errors.Is(e, os.ErrDeadlineExceeded) {
				select {
				case <-quit:
					return
				default:
				}
				continue
			}
			if e != nil {
				err = e
				return
			}
			if keep(&r) {
				cp := r
				cp.raw.RawSample = append([]byte(nil), r.raw.RawSample...)
				out = append(out, &cp)
			}
		}
	}()
	return func() []*Record {
		close(quit)
		<-done
		c.SetDeadline(time.Time{})
		if err != nil {
			tb.Fatalf("ReadInto: %v", err)
		}
		return out
	}
}

// onCPU pins the calling thread to cpu until the returned function runs.
func onCPU(tb testing.TB, cpu int) func() {
	tb.Helper()
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		tb.Fatal(err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		tb.Fatal(err)
	}
	return func() {
		if err := unix.SchedSetaffinity(0, &old); err != nil {
			tb.Error(err)
		}
		runtime.UnlockOSThread()
	}
}

// TestCausalOrderAcrossCPUs forks on CPU 0 a child that moves to CPU 1 and
// execs a program that opens a file there: the fork (in CPU 0's ring) must
// come before the child's exec and openat (in CPU 1's ring), while a
// reader runs concurrently.
func TestCausalOrderAcrossCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		testutil.SkipOrFail(t, "needs two CPUs")
	}
	taskset := testutil.RequireCommand(t, "taskset")
	cat := testutil.RequireCommand(t, "cat")
	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"default-window", 0}, {"no-window", -1}} {
		t.Run(w.name, func(t *testing.T) {
			c := load(t, &Options{ReorderWindow: w.window})
			file := filepath.Join(t.TempDir(), "marker")
			if err := os.WriteFile(file, []byte("x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			bit := MaskOf(3)
			setTables(t, c, &Tables{
				Gate:           map[int]Mask{sysOpenat: bit},
				DimsPerSyscall: map[int]Dim{sysOpenat: DimPath},
				PathExact:      map[string]Mask{file: bit},
			}, ModeFull)

			var mu sync.Mutex
			children := map[uint32]bool{}
			isChild := func(tgid uint32) bool {
				mu.Lock()
				defer mu.Unlock()
				return children[tgid]
			}
			// Children are known only once started: keep every fork,
			// exec, exit and openat, and sort them out afterwards.
			stop := collect(t, c, func(r *Record) bool {
				return r.Kind == KindFork || r.Kind == KindExec || r.Kind == KindExit || r.Kind == sysOpenat
			})
			const runs = 20
			restore := onCPU(t, 0)
			for range runs {
				cmd := exec.Command(taskset, "-c", "1", cat, file)
				if out, err := cmd.CombinedOutput(); err != nil {
					restore()
					t.Fatalf("%s: %v: %s", cmd, err, out)
				}
				mu.Lock()
				children[uint32(cmd.Process.Pid)] = true
				mu.Unlock()
			}
			restore()
			recs := stop()

			got := map[uint32][]string{}
			for _, r := range recs {
				var tgid uint32
				var what string
				switch r.Kind {
				case KindFork:
					f, _ := r.Fork()
					tgid, what = f.ChildTgid, "fork"
				case KindExec:
					tgid, what = r.Tgid, "exec "+str(r.Exe())
				case KindExit:
					tgid, what = r.Tgid, "exit"
				case sysOpenat:
					tgid, what = r.Tgid, "openat "+str(r.Path())
				}
				if isChild(tgid) {
					got[tgid] = append(got[tgid], fmt.Sprintf("%s on cpu %d", what, r.CPU))
				}
			}
			want := []string{
				"fork on cpu 0",
				"exec " + taskset + " on cpu 0",
				"exec " + cat + " on cpu 1",
				"openat " + file + " on cpu 1",
				"exit on cpu 1",
			}
			for pid := range children {
				if diff := cmp.Diff(want, got[pid]); diff != "" {
					t.Errorf("child %d: records (-want +got):\n%s", pid, diff)
				}
			}
		})
	}
}

// TestMergeMeasure runs three threads that each issue numbered lseek calls
// while the capture is read, one on each CPU and one free to move between
// them, and checks that every thread's records arrive in the order it made
// them. It logs how often a record came after a younger one of another
// thread, for each window: the measure of cross-CPU reordering.
func TestMergeMeasure(t *testing.T) {
	if runtime.NumCPU() < 2 {
		testutil.SkipOrFail(t, "needs two CPUs")
	}
	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"default-window", 0}, {"100us", 100 * time.Microsecond}, {"no-window", -1}} {
		t.Run(w.name, func(t *testing.T) {
			c := load(t, &Options{NoSchedEvents: true, ReorderWindow: w.window})
			setTables(t, c, &Tables{Always: map[int]bool{sysLseek: true}}, ModeFull)
			pid := uint32(os.Getpid())
			stop := collect(t, c, func(r *Record) bool { return r.Tgid == pid && r.Kind == sysLseek && int64(r.Args[0]) == -1 })
			const n = 15000
			var wg sync.WaitGroup
			tids := make([]uint32, 3)
			for i := range tids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					if i < 2 {
						// The thread ends locked, so its affinity dies with it.
						var set unix.CPUSet
						set.Set(i)
						if err := unix.SchedSetaffinity(0, &set); err != nil {
							t.Errorf("pin to cpu %d: %v", i, err)
							return
						}
					}
					tids[i] = uint32(unix.Gettid())
					for k := range n {
						unix.Seek(-1, int64(k), 0)
					}
				}()
			}
			wg.Wait()
			recs := stop()
			cnt, err := c.Counters()
			if err != nil {
				t.Fatal(err)
			}
			if lost := cnt.ByKind[sysLseek].Lost; lost != 0 {
				t.Fatalf("%d lseek records lost", lost)
			}
			// A kernel may skip runs of the program (recursion misses:
			// 7.x runs syscall tracepoints preemptible, and a program
			// preempted on a CPU holds it). Those records never exist;
			// the rest must still arrive in each thread's order, and no
			// more may be missing than the kernel says it skipped.
			missed, err := c.Missed()
			if err != nil {
				t.Fatal(err)
			}
			next := map[uint32]uint64{}
			var late int
			var gaps uint64
			var maxTs, worst uint64
			cpus := map[uint32]int{}
			for _, r := range recs {
				want := next[r.Tid]
				if r.Args[1] < want || r.Args[1] > want && missed == 0 {
					t.Fatalf("thread %d: record %d arrived when %d was next", r.Tid, r.Args[1], want)
				}
				gaps += r.Args[1] - want
				next[r.Tid] = r.Args[1] + 1
				cpus[r.CPU]++
				if r.BootNs < maxTs {
					late++
					worst = max(worst, maxTs-r.BootNs)
				}
				maxTs = max(maxTs, r.BootNs)
			}
			for _, tid := range tids {
				gaps += n - next[tid]
			}
			if gaps > missed {
				t.Errorf("%d records missing, but the kernel skipped only %d runs", gaps, missed)
			}
			if missed > 0 {
				t.Logf("the kernel skipped %d runs of the program; %d of this test's records are missing", missed, gaps)
			}
			t.Logf("%d records (per CPU %v), %d after a younger one, by at most %v", len(recs), cpus, late, time.Duration(worst))
		})
	}
}
