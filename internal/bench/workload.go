package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batch is how many operations a micro workload runs between looks at
// the clock.
const batch = 1000

// workload is one thing the harness times.
type workload struct {
	Name string
	// Op says what one operation is, for the report.
	Op string
	// Share scales the run time (1 when zero): the /etc/shadow loop
	// raises an alert per operation, which falco-run must then
	// format and write, so it runs shorter.
	Share float64
	// run repeats the operation for about d and returns how many ran
	// and how long they took.
	run func(e *workEnv, d time.Duration) (ops int64, took time.Duration, err error)
}

// workEnv is what the workloads share.
type workEnv struct {
	dir      string // scratch folder
	ordinary string // an ordinary file
	script   string // the mixed workload's shell script
}

// The workloads, in the order each agent run performs them. /etc/shadow
// comes last: its alerts keep falco-run busy for a while.
func workloads() []workload {
	return []workload{
		{Name: "getppid", Op: "getppid", run: runGetppid},
		{Name: "open-ordinary", Op: "openat+close of a file under /tmp", run: runOpenOrdinary},
		{Name: "mixed", Op: "one pass of a shell loop of common commands", run: runMixed},
		{Name: "open-shadow", Op: "openat+close of /etc/shadow (alert)", Share: 0.25, run: runOpenShadow},
	}
}

// mixedScript is the mixed workload: a shell loop of common commands on
// ordinary files. One pass takes tens of milliseconds.
const mixedScript = `d="$1"
i=0
while [ $i -lt 10 ]; do
	ls -la /usr/bin > /dev/null
	cat /etc/hostname /etc/passwd /etc/os-release > /dev/null
	grep -c root /etc/passwd /etc/group > /dev/null
	sed -n '1,20p' /etc/services > /dev/null
	head -n 50 /etc/services | sort | uniq | wc -l > /dev/null
	date > "$d/out.$i"
	cp "$d/out.$i" "$d/copy.$i"
	tail -n 1 "$d/copy.$i" > /dev/null
	rm -f "$d/out.$i" "$d/copy.$i"
	find "$d" -maxdepth 1 -name 'x*' > /dev/null
	i=$((i+1))
done
`

func newWorkEnv(dir string) (*workEnv, error) {
	e := &workEnv{dir: dir, ordinary: filepath.Join(dir, "ordinary.txt"), script: filepath.Join(dir, "mixed.sh")}
	if err := os.WriteFile(e.ordinary, []byte("an ordinary file\n"), 0o644); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	if err := os.WriteFile(e.script, []byte(mixedScript), 0o755); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mixed"), 0o755); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return e, nil
}

// pinned runs f on a goroutine locked to its thread, pinned to cpu (no
// pinning when cpu < 0) and, when prio > 0, at that SCHED_FIFO priority.
// Child processes started by f inherit both.
func pinned(cpu, prio int, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: it exits with the goroutine,
		// so its affinity never leaks to other goroutines.
		if cpu >= 0 {
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				done <- fmt.Errorf("pin to CPU %d: %w", cpu, err)
				return
			}
		}
		if prio > 0 {
			if err := setFIFO(prio); err != nil {
				done <- fmt.Errorf("SCHED_FIFO priority %d: %w", prio, err)
				return
			}
		}
		done <- f()
	}()
	return <-done
}

// loop runs op in batches until d has passed.
func loop(d time.Duration, op func() error) (int64, time.Duration, error) {
	var n int64
	start := time.Now()
	for {
		for range batch {
			if err := op(); err != nil {
				return n, time.Since(start), err
			}
		}
		n += batch
		if took := time.Since(start); took >= d {
			return n, took, nil
		}
	}
}

func runGetppid(_ *workEnv, d time.Duration) (int64, time.Duration, error) {
	return loop(d, func() error {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		return nil
	})
}

// atFDCWD is a variable so that its conversion to uintptr happens at run
// time (the constant is negative).
var atFDCWD = unix.AT_FDCWD

const openFlags = unix.O_RDONLY | unix.O_CLOEXEC

// openClose returns an operation that opens path read-only and closes it,
// with raw system calls (no scheduler hooks, no allocation).
func openClose(path string) func() error {
	p, err := unix.BytePtrFromString(path)
	return func() error {
		if err != nil {
			return err
		}
		fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), openFlags, 0, 0, 0)
		if errno != 0 {
			return fmt.Errorf("open %s: %w", path, errno)
		}
		unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return nil
	}
}

func runOpenOrdinary(e *workEnv, d time.Duration) (int64, time.Duration, error) {
	return loop(d, openClose(e.ordinary))
}

func runOpenShadow(_ *workEnv, d time.Duration) (int64, time.Duration, error) {
	return loop(d, openClose("/etc/shadow"))
}

func runMixed(e *workEnv, d time.Duration) (int64, time.Duration, error) {
	var n int64
	start := time.Now()
	for {
		out, err := exec.Command("/bin/sh", e.script, filepath.Join(e.dir, "mixed")).CombinedOutput()
		if err != nil {
			return n, time.Since(start), fmt.Errorf("mixed workload: %w\n%s", err, out)
		}
		n++
		if took := time.Since(start); took >= d {
			return n, took, nil
		}
	}
}

// duration is how long w runs when the workloads run for d.
func (w *workload) duration(d time.Duration) time.Duration {
	if w.Share > 0 {
		return time.Duration(float64(d) * w.Share)
	}
	return d
}

// setFIFO puts the calling thread in SCHED_FIFO at priority prio.
func setFIFO(prio int) error {
	param := struct{ prio int32 }{int32(prio)}
	_, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, 1 /* SCHED_FIFO */, uintptr(unsafe.Pointer(&param)))
	if errno != 0 {
		return errno
	}
	return nil
}
