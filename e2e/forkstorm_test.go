package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// forkStormPeakMiB is the documented bound (README, "Memory") on
// falco-run's peak resident memory during the storm below, with the
// default rules and the default thread table bound.
const forkStormPeakMiB = 256

// TestForkStorm runs 10,000 short-lived processes a second for 30 s
// (issue 10) under live capture and checks that the process table does
// not grow with them: every exit removes its thread, the table ends about
// as large as it started, whatever could not be kept is counted as
// evicted, and the peak memory stays under forkStormPeakMiB.
func TestForkStorm(t *testing.T) {
	requireLive(t)
	const (
		rate    = 10000
		seconds = 30
	)
	f := startFalco(t)
	pid := f.cmd.Process.Pid
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := statusKiB(pid, "VmRSS:"); kb > max {
				max = kb
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	out, err := exec.Command(filepath.Join(bin, "forkstorm"), strconv.Itoa(rate), strconv.Itoa(seconds)).Output()
	close(stop)
	rssPeak := <-peak
	if err != nil {
		t.Fatalf("forkstorm: %v", err)
	}
	forks, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("forkstorm printed %q", out)
	}
	errText, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, errText)
	}
	var threads, procs, removed, evicted, bound int
	var lost uint64
	var calls, gate, dropped, sent uint64
	haveState, haveKernel := false, false
	for _, line := range strings.Split(errText, "\n") {
		if _, err := fmt.Sscanf(line, "State: threads %d, processes %d, removed %d, evicted %d (bound %d threads)",
			&threads, &procs, &removed, &evicted, &bound); err == nil {
			haveState = true
		}
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&calls, &gate, &dropped, &sent, &lost); err == nil {
			haveKernel = true
		}
	}
	if !haveState || !haveKernel {
		t.Fatalf("no State or Kernel line in the summary:\n%s", errText)
	}
	achieved := float64(forks) / seconds
	t.Logf("kernel %s: %d processes in %d s (%.0f/s); table at the end: %d threads, %d processes, removed %d, evicted %d (bound %d); kernel lost %d; peak RSS %d MiB",
		kernelRelease(), forks, seconds, achieved, threads, procs, removed, evicted, bound, lost, rssPeak/1024)
	if achieved < rate/5 {
		t.Errorf("the storm reached only %.0f processes a second (want about %d): the machine is too busy for this test to mean anything", achieved, rate)
	}
	if removed < forks*9/10 {
		t.Errorf("removed %d threads for %d short-lived processes: exits are not clearing the table", removed, forks)
	}
	if threads > bound || threads > 5000 {
		t.Errorf("table ends with %d threads (bound %d): it grew with the storm", threads, bound)
	}
	if lost > 0 && evicted == 0 && threads > bound {
		t.Errorf("events were lost but nothing was evicted and the table is over its bound")
	}
	if rssPeak/1024 > forkStormPeakMiB {
		t.Errorf("peak RSS %d MiB, documented bound %d MiB", rssPeak/1024, forkStormPeakMiB)
	}
}

// statusKiB reads a "Name: N kB" line of /proc/PID/status; 0 when absent.
func statusKiB(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
