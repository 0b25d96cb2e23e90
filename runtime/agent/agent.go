package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/containers"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/kplan"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/web"
)

// Options configure an [Agent]: what falco-run's flags and falco.yaml say.
type Options struct {
	// Rules is the compiled rule set; required.
	Rules *artifact.Artifact
	// Reload compiles the rule files again; it is called on SIGHUP. A
	// rule set that does not compile is reported and the running one
	// stays. Nil: SIGHUP is not handled.
	Reload func() (*artifact.Artifact, error)

	// Trace is a trace file to replay (-e): the syscall source reads it
	// instead of the live kernel.
	Trace string
	// Syscall turns the syscall source (live or Trace) on.
	Syscall bool
	// K8sAudit configures the Kubernetes audit webhook; nil: off. It
	// starts only when falco.yaml loads the k8saudit plugin or the rules
	// have an enabled k8s_audit rule.
	K8sAudit *K8sAuditOptions
	// Containers configures the container metadata lookups of a live
	// capture (sockets per runtime, from the container plugin's
	// init_config); nil: the defaults.
	Containers *containers.Options
	// HostRoot is where the host's root file system is seen (falco-run in
	// a container: the HOST_ROOT variable, /host in the image); "" is /.
	// The host's users and groups are read below it, and the container
	// runtimes' sockets are looked for below it.
	HostRoot string
	// DryRun builds everything and runs no source.
	DryRun bool
	// Duration stops the agent after this long (-M); 0: until ctx ends.
	Duration time.Duration

	// Prefilter is the kernel prefilter mode; with [bpf.ModeFull] only the
	// rules the plan keeps for an event are evaluated (live: the kernel's
	// mask; replay: the same judgement in userspace).
	Prefilter bpf.Mode
	// RingBufferSize and BatchDelay tune the live capture (see
	// live.Options).
	RingBufferSize int
	BatchDelay     time.Duration
	// Capture records every processed live event to this file in the
	// replay format (--capture); "" for none. A name ending in .scap
	// gives a libscap capture, which a replay (-e) may also write.
	Capture string

	// Outputs receive the alerts; required. [Agent.Run] closes them
	// (flushing what is queued) before it prints the counters.
	Outputs *output.Outputs
	// MatchAll, MinPriority, Extras and Hostname are the engine's (see
	// engine.Options).
	MatchAll    bool
	MinPriority output.Priority
	Extras      *engine.Extras
	Hostname    string

	// MaxThreads bounds the process table (falco_libs.thread_table_size);
	// 0 for the default.
	MaxThreads int

	// Web starts the web server (/healthz, /versions, /metrics); nil: off.
	Web *WebOptions
	// Metrics are falco.yaml's metrics settings; nil: metrics.enabled is
	// false (no /metrics, no snapshot alerts).
	Metrics *MetricsOptions
	// Info describes the session (version, configuration and rules
	// files) for the metrics.
	Info Info
	// ReloadTrigger reloads the rules like SIGHUP on every receive (a
	// configuration or rules file changed: watch_config_files).
	ReloadTrigger <-chan struct{}

	// Log receives progress messages and the final counters (stderr).
	Log io.Writer
}

// K8sAuditOptions are falco.yaml's k8saudit plugin settings.
type K8sAuditOptions struct {
	// Plugin is the plugins entry named k8saudit (nil: none) and Index
	// its position, for messages.
	Plugin *config.Plugin
	Index  int
	// Load is true when load_plugins names k8saudit.
	Load bool
	// Replay is true when the syscall events come from a trace (-e):
	// then k8s_audit rules alone do not start the webhook, so that a
	// replay ends with its trace; load_plugins naming k8saudit still does.
	Replay bool
}

// Agent runs one falco-run session. See the package documentation.
type Agent struct {
	opts Options
	log  io.Writer
	// eng is the syscall engine in use: a reload replaces it between
	// events, on the goroutine of the syscall source.
	eng     *engine.Engine
	engOpts engine.Options
	k8s     *k8sSource
	ctrs    *containers.Lookup

	// obs and sink are what the web server and the metrics read; k8sPtr
	// is k8s for them.
	obs    *observer
	sink   *countingSink
	k8sPtr atomic.Pointer[k8sSource]
	web    *web.Server
	webErr chan error
}

// New builds the agent's engine for opts.Rules. Nothing runs until
// [Agent.Run].
func New(opts Options) (*Agent, error) {
	if opts.Rules == nil {
		return nil, errors.New("agent: no rules")
	}
	if opts.Outputs == nil {
		return nil, errors.New("agent: no outputs")
	}
	a := &Agent{opts: opts, log: opts.Log}
	if a.log == nil {
		a.log = io.Discard
	}
	a.obs = newObserver(opts.Info)
	a.sink = &countingSink{next: opts.Outputs, obs: a.obs}
	tableOpts := &state.Options{MaxThreads: opts.MaxThreads}
	if opts.Trace != "" {
		tableOpts.ProcReadsPerSec = -1 // a replay must not mix in this host's /proc
	}
	var ctrs extract.ContainerLookup // stays a nil interface for replays
	var local *extract.LocalAddrs
	if opts.Trace == "" && !opts.DryRun {
		co := containers.Options{}
		if opts.Containers != nil {
			co = *opts.Containers
		}
		if co.HostRoot == "" {
			co.HostRoot = opts.HostRoot
		}
		a.ctrs = containers.New(&co)
		ctrs = a.ctrs
		// Read once at start, as Falco reads its interface list.
		if l, err := extract.HostLocalAddrs(); err == nil {
			local = l
		} else {
			fmt.Fprintf(a.log, "falco-run: interface addresses: %v (fd.lip and fd.lport take the socket's own end)\n", err)
		}
	}
	a.engOpts = engine.Options{
		Table:       state.NewTable(tableOpts),
		Users:       state.NewUsers(&state.UsersOptions{Root: opts.HostRoot}),
		Containers:  ctrs,
		Hostname:    opts.Hostname,
		LocalAddrs:  local,
		Sink:        a.sink,
		MatchAll:    opts.MatchAll,
		MinPriority: opts.MinPriority,
		Extras:      opts.Extras,
	}
	if p := a.plan(opts.Rules); p != nil && opts.Trace != "" {
		a.engOpts.Judge = kplan.NewUserJudge(p)
	}
	eng, err := a.newEngine(opts.Rules, a.ruleMasks(opts.Rules))
	if err != nil {
		a.close()
		return nil, err
	}
	a.eng = eng
	a.obs.setEngine(eng)
	return a, nil
}

// plan returns the kernel plan the agent uses for art: its plan with
// --prefilter=full, else none.
func (a *Agent) plan(art *artifact.Artifact) *plan.Plan {
	if a.opts.Prefilter != bpf.ModeFull {
		return nil
	}
	return art.Plan
}

// ruleMasks gives, per rule of art, the clause bits of the plan in use;
// nil without one (every candidate rule is evaluated).
func (a *Agent) ruleMasks(art *artifact.Artifact) []plan.Mask {
	p := a.plan(art)
	if p == nil {
		return nil
	}
	names := make([]string, len(art.Rules))
	for i, r := range art.Rules {
		names[i] = r.Name
	}
	return p.RuleMasks(names)
}

func (a *Agent) newEngine(art *artifact.Artifact, masks []plan.Mask) (*engine.Engine, error) {
	opts := a.engOpts
	opts.RuleMasks = masks
	return engine.New(art, opts)
}

func (a *Agent) close() {
	if a.ctrs != nil {
		a.ctrs.Close()
	}
}

// Engine returns the syscall engine in use (a reload replaces it).
func (a *Agent) Engine() *engine.Engine { return a.eng }

// Run runs the sources until they end, ctx is done, SIGINT or SIGTERM
// arrives, or the duration passes; then it stops the webhook and prints
// the counters. A dry run returns at once.
func (a *Agent) Run(ctx context.Context) error {
	defer a.close()
	if a.opts.DryRun {
		return a.opts.Outputs.Close()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if a.opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.opts.Duration)
		defer cancel()
	}
	if err := a.startWeb(); err != nil {
		return err
	}
	defer a.stopWeb()
	a.watchReopen(ctx)
	if a.opts.K8sAudit != nil {
		var err error
		if a.k8s, err = startK8sAudit(a.opts.K8sAudit, a.opts.Rules, a.sourceOptions(), a.log); err != nil {
			return err
		}
		if a.k8s != nil {
			a.k8sPtr.Store(a.k8s)
			if !a.opts.Syscall {
				a.setReady()
			}
		}
	}
	defer a.k8s.stop()
	tickCtx, stopTick := context.WithCancel(ctx)
	a.runMetricsTicker(tickCtx)
	err := a.runSources(ctx)
	stopTick()
	if kerr := a.k8s.stop(); kerr != nil && err == nil {
		err = kerr
	}
	if werr := a.stopWeb(); werr != nil && err == nil {
		err = werr
	}
	closeErr := a.opts.Outputs.Close()
	a.printStats()
	a.printContainerStats()
	a.k8s.printStats(a.log)
	if err != nil {
		return err
	}
	return closeErr
}

// runSources runs the syscall source, if any, and then serves the
// webhook, a source without an end, until ctx is done.
func (a *Agent) runSources(ctx context.Context) error {
	if !a.opts.Syscall {
		if a.k8s == nil {
			return errors.New("--disable-source syscall: no other event source to run (load k8s_audit rules or the k8saudit plugin)")
		}
		<-ctx.Done()
		return nil
	}
	var w *captureWriter
	if a.opts.Capture != "" && (a.opts.Trace == "" || replay.IsScap(a.opts.Capture)) {
		f, err := os.Create(a.opts.Capture)
		if err != nil {
			return fmt.Errorf("--capture: %w", err)
		}
		defer f.Close()
		w = newCaptureWriter(f)
		if replay.IsScap(a.opts.Capture) {
			w.scap = replay.NewScapCapture(f, a.engOpts.Users, a.opts.Hostname)
			defer func() { fmt.Fprintln(a.log, w.scap.Summary()) }()
		}
	}
	var src eventSource
	var err error
	if a.opts.Trace != "" {
		var rs *replaySource
		if rs, err = openReplay(a.opts.Trace); err == nil {
			src = rs
			if users, groups, ok := rs.Users(); ok && a.engOpts.Users != nil {
				// A capture's own user table, as Falco's replay uses it.
				a.engOpts.Users.SetStatic(users, groups)
			}
			defer func() {
				if s := rs.Summary(); s != "" {
					fmt.Fprintln(a.log, s)
				}
			}()
			a.setReady()
		}
	} else {
		var ls *liveSource
		ls, err = a.openLive()
		if err == nil {
			ls.onReady = a.setReady
			a.obs.setLive(ls)
			src = ls
		}
	}
	if err != nil {
		return err
	}
	err = a.runSyscall(ctx, src, w)
	a.obs.setLive(nil)
	if cerr := src.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil && a.opts.Trace != "" && a.k8s != nil {
		// The webhook keeps serving until a signal or -M, as Falco
		// does with several sources.
		<-ctx.Done()
	}
	return err
}

// runSyscall feeds the syscall engine from src until it ends or ctx is
// done: between two events it installs a reloaded rule set, and each
// event goes to the --capture file w (nil: none) and then to the engine.
func (a *Agent) runSyscall(ctx context.Context, src eventSource, w *captureWriter) error {
	table := a.eng.Table()
	// Live, a prepared reload wakes the read (Next polls its context):
	// the new kernel tables go in at once, not at the next event the old
	// ones let through, which on a quiet machine may never come.
	var wake func()
	var cancelNow atomic.Pointer[context.CancelFunc]
	nctx := ctx
	renew := func() {
		c, cancel := context.WithCancel(ctx)
		nctx = c
		cancelNow.Store(&cancel)
	}
	if _, isLive := src.(*liveSource); isLive {
		renew()
		wake = func() { (*cancelNow.Load())() }
		defer wake()
	}
	reloads := a.watchReload(ctx, src, wake)
	var sw swap
	var n uint64
	var ev event.Event
	var runErr error
	takeReload := func() {
		select {
		case r := <-reloads:
			a.eng.Flush() // the replaced engine's counts go to the totals whole
			a.eng = r.eng
			a.obs.setEngine(r.eng)
			sw.begin(r, src, a.log)
		default:
		}
	}
	for ctx.Err() == nil {
		err := src.Next(nctx, &ev, table)
		if err != nil && ctx.Err() == nil && nctx.Err() != nil {
			// Woken for a reload: no event was read.
			renew()
			takeReload()
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				runErr = err
			}
			break
		}
		// A reload prepared while Next waited applies to this event.
		takeReload()
		sw.maybeFinish(a.eng)
		if n++; n%stateEvery == 1 {
			a.obs.publishState(table)
		}
		if w != nil {
			if werr := w.write(&ev, table.Lookup(ev.Tid), a.eng); werr != nil && runErr == nil {
				runErr = fmt.Errorf("--capture: %w", werr)
			}
		}
		a.eng.Process(&ev)
	}
	a.eng.Flush()
	a.obs.publishState(table)
	if w != nil {
		if err := w.flush(table); err != nil && runErr == nil {
			runErr = fmt.Errorf("--capture: %w", err)
		}
	}
	return runErr
}

func (a *Agent) sourceOptions() engine.SourceOptions {
	return engine.SourceOptions{
		Hostname:    a.opts.Hostname,
		Sink:        a.sink,
		MatchAll:    a.opts.MatchAll,
		MinPriority: a.opts.MinPriority,
		Extras:      a.opts.Extras,
	}
}

// printContainerStats prints the container lookups' counters (live
// capture only).
func (a *Agent) printContainerStats() {
	if a.ctrs == nil {
		return
	}
	s := a.ctrs.Stats()
	fmt.Fprintf(a.log, "Containers: fetched %d, not found %d, errors %d, dropped %d, runtime events %d, first-event waits %d (gave up %d, skipped %d)\n",
		s.Found, s.NotFound, s.Errors, s.Dropped, s.Events, s.Waits, s.WaitTimeouts, s.WaitsSkipped)
	if err := a.ctrs.LastError(); err != nil {
		fmt.Fprintf(a.log, "Containers: last error: %v\n", err)
	}
}

// printStats prints the engine's and the outputs' counters.
func (a *Agent) printStats() {
	eng, w := a.eng, a.log // the engine last in use: a SIGHUP may have replaced it
	// Every source: the syscall engines (over reloads) and the webhook.
	var s engine.Stats
	if a.opts.Syscall {
		s = a.obs.syscallStats()
	}
	if a.k8s != nil {
		ks := a.k8s.engineStats()
		s.Events += ks.Events
		s.Evaluated += ks.Evaluated
		s.Matches += ks.Matches
		s.Alerts += ks.Alerts
		s.EvalErrors += ks.EvalErrors
	}
	fmt.Fprintf(w, "Events processed: %d, rules evaluated: %d, matches: %d, alerts: %d",
		s.Events, s.Evaluated, s.Matches, s.Alerts)
	if s.EvalErrors > 0 {
		fmt.Fprintf(w, ", evaluation errors: %d", s.EvalErrors)
	}
	fmt.Fprintln(w)
	ts := eng.Table().Stats()
	fmt.Fprintf(w, "State: threads %d, processes %d, removed %d, evicted %d (bound %d threads), /proc reads %d (failed %d, rate-limited %d)",
		ts.Threads, ts.Processes, ts.Removed, ts.Evicted, eng.Table().MaxThreads(), ts.ProcReads, ts.ProcFailures, ts.ProcLimited)
	if kb := peakRSSKiB(); kb > 0 {
		fmt.Fprintf(w, "; peak memory %d MiB", kb/1024)
	}
	fmt.Fprintln(w)
	if m := eng.MatchesByEvent(); len(m) > 0 {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprint(w, "Matches by event type:")
		for _, n := range names {
			fmt.Fprintf(w, " %s %d", n, m[n])
		}
		fmt.Fprintln(w)
	}
	for _, cs := range a.opts.Outputs.Stats() {
		if cs.Dropped > 0 || cs.Failed > 0 || cs.ChannelDropped > 0 {
			fmt.Fprintf(w, "Output %s: sent %d, dropped %d, failed %d", cs.Name, cs.Sent, cs.Dropped, cs.Failed)
			if cs.ChannelDropped > 0 {
				fmt.Fprintf(w, ", lost by the channel %d", cs.ChannelDropped)
			}
			if cs.LastError != "" {
				fmt.Fprintf(w, " (last error: %s)", cs.LastError)
			}
			fmt.Fprintln(w)
		}
	}
}

// peakRSSKiB is the process's peak resident set (VmHWM), 0 when unknown.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
