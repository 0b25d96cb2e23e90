package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
)

// Timeouts for the agent's life cycle.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	// settleMax bounds how long the harness waits for falco-run to
	// become idle between workloads.
	settleMax = 3 * time.Second
	// settlePoll is how often it looks at falco-run's CPU time, and
	// settleIdle the CPU time (at most) with which a poll counts as
	// idle: one clock tick, 10% of a CPU.
	settlePoll = 100 * time.Millisecond
	settleIdle = 10 * time.Millisecond
)

// agent is a running falco-run process.
type agent struct {
	cmd      *exec.Cmd
	counters *ebpf.Map
	progs    []*ebpf.Program // only with BPF statistics
	alerts   string          // file with its stdout

	ready chan struct{}
	done  chan struct{} // stderr drained

	mu     sync.Mutex
	stderr bytes.Buffer
}

// startAgent starts falco-run in the given prefilter mode with the rule
// files and waits until it is ready. Alerts go to alertsFile.
func startAgent(ctx context.Context, falcoRun, mode string, ruleFiles []string, alertsFile string, progStats bool) (*agent, error) {
	args := []string{"--prefilter", mode, "-o", "syslog_output.enabled=false", "-o", "stdout_output.enabled=true"}
	for _, f := range ruleFiles {
		args = append(args, "-r", f)
	}
	out, err := os.Create(alertsFile)
	if err != nil {
		return nil, fmt.Errorf("start falco-run: %w", err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(falcoRun, args...)
	// The machine's /etc/falco/falco.yaml (falco-run reads it by default)
	// must not change what is measured.
	cmd.Env = append(os.Environ(), "FALCOC_DEFAULT_CONFIG=")
	cmd.Stdout = out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start falco-run: %w", err)
	}
	a := &agent{cmd: cmd, alerts: alertsFile, ready: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start falco-run: %w", err)
	}
	go a.readStderr(stderr)
	select {
	case <-a.ready:
	case <-a.done:
		_ = cmd.Wait()
		return nil, fmt.Errorf("falco-run --prefilter=%s exited before it was ready:\n%s", mode, a.errText())
	case <-time.After(readyTimeout):
		a.kill()
		return nil, fmt.Errorf("falco-run --prefilter=%s not ready after %v:\n%s", mode, readyTimeout, a.errText())
	case <-ctx.Done():
		a.kill()
		return nil, ctx.Err()
	}
	a.counters, err = counterMap(cmd.Process.Pid)
	if err != nil {
		a.kill()
		return nil, err
	}
	if progStats {
		a.progs, err = agentPrograms(cmd.Process.Pid)
		if err != nil {
			a.kill()
			return nil, err
		}
	}
	return a, nil
}

func (a *agent) readStderr(r io.Reader) {
	defer close(a.done)
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	isReady := false
	for s.Scan() {
		a.mu.Lock()
		a.stderr.Write(s.Bytes())
		a.stderr.WriteByte('\n')
		a.mu.Unlock()
		if !isReady && strings.Contains(s.Text(), "ready") {
			isReady = true
			close(a.ready)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (a *agent) errText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// read reads the kernel counters.
func (a *agent) read(c *Counters) error { return readCounters(a.counters, c) }

// cpuTime is the user+system CPU time falco-run has used, in clock ticks.
func (a *agent) cpuTime() (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return statCPU(string(b))
}

// statCPU extracts utime+stime from a /proc/PID/stat line.
func statCPU(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat line")
	}
	f := strings.Fields(stat[i+1:])
	// After the command: state(0) ppid ... utime is field 14 of the
	// line, index 11 here; stime follows.
	if len(f) < 13 {
		return 0, errors.New("short stat line")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed stat times")
	}
	return u + s, nil
}

// clockTick is the length of a /proc/PID/stat clock tick (USER_HZ is 100
// on Linux).
const clockTick = 10 * time.Millisecond

// settle waits until falco-run has used at most settleIdle of CPU in two
// polls in a row (it has caught up with the events), or settleMax.
func (a *agent) settle() {
	deadline := time.Now().Add(settleMax)
	prev, err := a.cpuTime()
	if err != nil {
		return
	}
	idle := 0
	for idle < 2 && time.Now().Before(deadline) {
		time.Sleep(settlePoll)
		cur, err := a.cpuTime()
		if err != nil {
			return
		}
		if time.Duration(cur-prev)*clockTick <= settleIdle {
			idle++
		} else {
			idle = 0
		}
		prev = cur
	}
}

// stop interrupts falco-run, waits for it, and returns its final stats.
func (a *agent) stop() (finalStats, error) {
	a.closeObjects()
	_ = a.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-a.done:
	case <-time.After(stopTimeout):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	err := a.cmd.Wait()
	text := a.errText()
	if err != nil {
		return finalStats{}, fmt.Errorf("falco-run: %w\n%s", err, text)
	}
	return parseFinalStats(text), nil
}

// kill stops falco-run for good after a failure.
func (a *agent) kill() {
	a.closeObjects()
	_ = a.cmd.Process.Kill()
	<-a.done
	_ = a.cmd.Wait()
}

// countLines counts the lines of a file (the alerts falco-run wrote).
func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}), nil
}

// closeObjects closes the harness's handles on falco-run's BPF objects.
func (a *agent) closeObjects() {
	if a.counters != nil {
		a.counters.Close()
		a.counters = nil
	}
	for _, p := range a.progs {
		p.Close()
	}
	a.progs = nil
}
