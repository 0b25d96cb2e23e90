package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/falcoc/falcoc/bpf"
	"golang.org/x/sys/unix"
)

// Modes are the configurations each round runs, in order: no agent; the
// kernel's floor (an empty program on the syscall exit tracepoint, which
// any syscall capture on this kernel needs, see floor.go); then falco-run
// in each prefilter mode.
var Modes = []string{"none", "floor", "off", "evttype", "full"}

// ModeFullDefault is the extra mode of [Options.CompareDefault]: falco-run
// in full mode with its embedded default rules.
const ModeFullDefault = "full-default"

// BeforeSuffix marks the modes of [Options.Before]: "evttype-before" and
// "full-before" run the other falco-run binary in that mode.
const BeforeSuffix = "-before"

// modes are the modes of a run.
func (o *Options) modes() []string {
	ms := slices.Clone(Modes)
	if o.CompareDefault {
		ms = append(ms, ModeFullDefault)
	}
	if o.Before != "" {
		ms = append(ms, "evttype"+BeforeSuffix, "full"+BeforeSuffix)
	}
	return ms
}

// ErrNotRoot is returned by [Run] when the harness is not root.
var ErrNotRoot = errors.New("falcoc-bench needs root: falco-run attaches BPF programs and the harness reads their counters")

// Options configure [Run].
type Options struct {
	// FalcoRun is the falco-run binary; empty: build ./cmd/falco-run
	// from the module at the current directory.
	FalcoRun string
	// Rules are rule files given to falco-run; empty: the default
	// rules embedded in falco-run.
	Rules []string
	// GeneratedRules adds that many generated rules
	// (rulegen.Generate) to Rules.
	GeneratedRules int
	// Rounds is how many interleaved rounds run (default 5).
	Rounds int
	// Duration is how long each workload runs per round and mode
	// (default 1s).
	Duration time.Duration
	// CPU pins the workloads to one CPU; negative: no pinning.
	CPU int
	// BPFStats enables the kernel's BPF run time statistics
	// (kernel.bpf_stats_enabled) for the run and reports the time
	// falco-run's programs take per operation. The statistics add
	// their own cost (two clock reads per program run) to every mode.
	BPFStats bool
	// Workloads selects workloads by name; empty: all of them.
	Workloads []string
	// Log receives progress lines; nil: none.
	Log io.Writer
	// CompareDefault adds a mode to each round: falco-run in full mode
	// with its embedded default rules (besides Rules in every mode), so
	// that one run compares the two rule sets.
	CompareDefault bool
	// Before is another falco-run binary (an earlier build): each round
	// also runs it in evttype and full mode with the same rules, so that
	// one run compares the two builds.
	Before string
	// RTPriority, when positive, runs each workload's thread at that
	// SCHED_FIFO priority on its CPU, so that no other thread (falco-run's
	// userspace among them) takes the CPU from it: the figures are then
	// the kernel's cost to the workload, as issue 9's measurement of
	// Falco was made. falco-run's userspace then runs on the other CPUs.
	RTPriority int
}

// Sample is one timed workload run.
type Sample struct {
	Round    int           `json:"round"`
	Workload string        `json:"workload"`
	Mode     string        `json:"mode"`
	Ops      int64         `json:"ops"`
	Took     time.Duration `json:"took_ns"`
	// Counters are the kernel counters' changes during the workload
	// (agent modes only), summed over the watched syscalls, the
	// excluded ones, and all kinds.
	Watched  Stage `json:"watched"`
	Excluded Stage `json:"excluded"`
	All      Stage `json:"all"`
	// BPFTime and BPFRuns are the run time and runs of falco-run's
	// programs during the workload (with [Options.BPFStats]).
	BPFTime time.Duration `json:"bpf_time_ns,omitempty"`
	BPFRuns uint64        `json:"bpf_runs,omitempty"`
	// Foreign counts the other falcoc captures (not this sample's
	// falco-run) loaded when the workload started or ended, whichever
	// is more.
	Foreign int `json:"foreign_captures"`
	// SentWatched counts, per watched syscall, the events sent to
	// userspace.
	SentWatched map[string]uint64 `json:"sent_watched,omitempty"`
}

// NsPerOp is the sample's time per operation.
func (s *Sample) NsPerOp() float64 {
	if s.Ops == 0 {
		return 0
	}
	return float64(s.Took.Nanoseconds()) / float64(s.Ops)
}

// AgentRun is one falco-run process (one round and mode).
type AgentRun struct {
	Round  int    `json:"round"`
	Mode   string `json:"mode"`
	Kernel Stage  `json:"kernel_total"` // its final "Kernel:" line
	Events uint64 `json:"events_processed"`
	Alerts uint64 `json:"alerts"`
	// AlertLines counts the lines it wrote to stdout.
	AlertLines int `json:"alert_lines"`
}

// Result is everything a run measured.
type Result struct {
	// Kernel is the running kernel's release and the capture's fallbacks
	// in use (none on a kernel with every feature).
	Kernel     string      `json:"kernel"`
	CPUs       int         `json:"cpus"`
	PinnedCPU  int         `json:"pinned_cpu"`
	RTPriority int         `json:"rt_priority,omitempty"`
	Rounds     int         `json:"rounds"`
	Duration   string      `json:"duration_per_workload"`
	Rules      string      `json:"rules"`
	Modes      []string    `json:"modes"`
	Watched    []string    `json:"watched_syscalls"`
	Excluded   []string    `json:"excluded_syscalls"`
	Workloads  []string    `json:"workloads"`
	Ops        []string    `json:"ops"`
	Samples    []Sample    `json:"samples"`
	Agents     []AgentRun  `json:"agents"`
	Summary    []Summary   `json:"summary"`
	Targets    []TargetRow `json:"targets"`
}

func (o *Options) defaults() {
	if o.Rounds <= 0 {
		o.Rounds = 5
	}
	if o.Duration <= 0 {
		o.Duration = time.Second
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Run measures every workload in every mode for the rounds asked, and
// summarises. It needs root ([ErrNotRoot]).
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if opts.CPU >= runtime.NumCPU() {
		return nil, fmt.Errorf("-cpu %d: this machine has %d CPUs", opts.CPU, runtime.NumCPU())
	}
	if opts.BPFStats {
		c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			return nil, fmt.Errorf("enable BPF statistics: %w", err)
		}
		defer c.Close()
	}
	dir, err := os.MkdirTemp("", "falcoc-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	falcoRun := opts.FalcoRun
	if falcoRun == "" {
		falcoRun = filepath.Join(dir, "falco-run")
		opts.logf("building falco-run")
		if err := buildFalcoRun(ctx, "", falcoRun); err != nil {
			return nil, err
		}
	}
	rs, err := prepareRules(dir, opts.Rules, opts.GeneratedRules)
	if err != nil {
		return nil, err
	}
	env, err := newWorkEnv(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Kernel: kernelLabel(),
		CPUs:   runtime.NumCPU(), PinnedCPU: opts.CPU, RTPriority: opts.RTPriority, Rounds: opts.Rounds, Duration: opts.Duration.String(),
		Rules: rs.Label, Watched: names(rs.Watched), Excluded: names(rs.Excluded), Modes: opts.modes(),
	}
	wls, err := selectWorkloads(opts.Workloads)
	if err != nil {
		return nil, err
	}
	for _, w := range wls {
		res.Workloads = append(res.Workloads, w.Name)
		res.Ops = append(res.Ops, w.Op)
	}
	for round := range opts.Rounds {
		for _, mode := range opts.modes() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			opts.logf("round %d/%d: %s", round+1, opts.Rounds, mode)
			waitQuiet(ctx, &opts)
			samples, ar, err := runMode(ctx, &opts, falcoRun, rs, env, wls, round, mode)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, mode, err)
			}
			res.Samples = append(res.Samples, samples...)
			if ar != nil {
				res.Agents = append(res.Agents, *ar)
			}
		}
	}
	res.Summary = summarise(res.Samples, res.Workloads, res.Modes)
	res.Targets = targets(res.Summary)
	return res, nil
}

// runMode runs every workload once in one mode, with one falco-run
// process for them all (none for "none").
func runMode(ctx context.Context, opts *Options, falcoRun string, rs *ruleSet, env *workEnv, wls []workload, round int, mode string) ([]Sample, *AgentRun, error) {
	var a *agent
	alerts := filepath.Join(env.dir, "alerts.txt")
	if mode == "floor" {
		f, err := attachFloor()
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
	} else if mode != "none" {
		var err error
		agentMode, files, bin := mode, rs.Files, falcoRun
		if mode == ModeFullDefault {
			agentMode, files = "full", nil
		}
		if m, ok := strings.CutSuffix(mode, BeforeSuffix); ok {
			agentMode, bin = m, opts.Before
		}
		a, err = startAgent(ctx, bin, agentMode, files, alerts, opts.BPFStats)
		if err != nil {
			return nil, nil, err
		}
		// Let its start (reading /proc, the first events) pass.
		a.settle()
	}
	var samples []Sample
	for _, w := range wls {
		s := Sample{Round: round, Workload: w.Name, Mode: mode}
		var before, after Counters
		var rt0, rt1 time.Duration
		var runs0, runs1 uint64
		if a != nil {
			err := a.read(&before)
			if err == nil && a.progs != nil {
				rt0, runs0, err = progTime(a.progs)
			}
			if err != nil {
				a.kill()
				return nil, nil, err
			}
		}
		own := 0
		if a != nil {
			own = 1
		}
		s.Foreign = loadedCaptures() - own
		err := pinned(opts.CPU, opts.RTPriority, func() error {
			var err error
			s.Ops, s.Took, err = w.run(env, w.duration(opts.Duration))
			return err
		})
		if err != nil {
			if a != nil {
				a.kill()
			}
			return nil, nil, err
		}
		s.Foreign = max(s.Foreign, loadedCaptures()-own)
		if s.Foreign > 0 {
			opts.logf("warning: %d other falcoc capture(s) loaded during %s/%s: the measurement includes their cost", s.Foreign, w.Name, mode)
		}
		if a != nil {
			err := a.read(&after)
			if err == nil && a.progs != nil {
				rt1, runs1, err = progTime(a.progs)
				s.BPFTime, s.BPFRuns = rt1-rt0, runs1-runs0
			}
			if err != nil {
				a.kill()
				return nil, nil, err
			}
			d := after.Sub(&before)
			s.Watched = d.Sum(func(k int) bool { return rs.Watched[k] })
			s.Excluded = d.Sum(func(k int) bool { return !rs.Watched[k] })
			s.All = d.Total()
			for k := range rs.Watched {
				if n := d[k].Sent; n > 0 {
					if s.SentWatched == nil {
						s.SentWatched = map[string]uint64{}
					}
					s.SentWatched[names(map[int]bool{k: true})[0]] += n
				}
			}
			a.settle()
		}
		samples = append(samples, s)
	}
	if a == nil {
		return samples, nil, nil
	}
	fs, err := a.stop()
	if err != nil {
		return nil, nil, err
	}
	lines, err := countLines(alerts)
	if err != nil {
		return nil, nil, err
	}
	return samples, &AgentRun{Round: round, Mode: mode, Kernel: fs.Kernel, Events: fs.Events, Alerts: fs.Alerts, AlertLines: lines}, nil
}

// quietWait bounds how long [waitQuiet] waits.
const quietWait = 10 * time.Second

// waitQuiet waits, up to quietWait, until no other falcoc capture is
// loaded (another falco-run, e.g. of a test, adds its cost to ours).
func waitQuiet(ctx context.Context, opts *Options) {
	deadline := time.Now().Add(quietWait)
	logged := false
	for loadedCaptures() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		if !logged {
			opts.logf("another falcoc capture is loaded: waiting up to %v for it to go", quietWait)
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// selectWorkloads returns the named workloads, in the harness's order.
func selectWorkloads(sel []string) ([]workload, error) {
	all := workloads()
	if len(sel) == 0 {
		return all, nil
	}
	var out []workload
	for _, w := range all {
		if slices.Contains(sel, w.Name) {
			out = append(out, w)
		}
	}
	for _, n := range sel {
		if !slices.ContainsFunc(all, func(w workload) bool { return w.Name == n }) {
			var known []string
			for _, w := range all {
				known = append(known, w.Name)
			}
			return nil, fmt.Errorf("-workloads: unknown workload %q (known: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// buildFalcoRun builds ./cmd/falco-run of the module in dir (""; the
// current directory).
func buildFalcoRun(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/falco-run")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/falco-run: %w\n%s", err, b)
	}
	return nil
}

// median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// kernelLabel names the running kernel and the capture's fallbacks.
func kernelLabel() string {
	k, err := bpf.ProbeFeatures()
	if err != nil {
		return k.Release + " (features not read: " + err.Error() + ")"
	}
	fb := k.Fallbacks()
	if len(fb) == 0 {
		return k.Release + ", no fallbacks"
	}
	var names []string
	for _, f := range fb {
		names = append(names, string(f))
	}
	return k.Release + ", fallbacks: " + strings.Join(names, ", ")
}
