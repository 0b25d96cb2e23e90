package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/metrics"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/web"
)

// WebOptions start falco-run's web server (falco.yaml's webserver).
type WebOptions struct {
	// Server are the server's options; the agent sets Ready, Versions
	// and Metrics.
	Server web.Options
	// Prometheus serves /metrics (webserver.prometheus_metrics_enabled,
	// with metrics.enabled).
	Prometheus bool
	// Versions is the /versions document.
	Versions any
}

// MetricsOptions are falco.yaml's metrics settings.
type MetricsOptions struct {
	// Interval emits the metrics snapshot alert this often (0: never).
	Interval time.Duration
	// OutputRule emits the snapshot as an alert (metrics.output_rule).
	OutputRule bool
	// Groups select the metric groups.
	Groups metrics.Groups
	// MemoryMB reports memory in MB in the snapshot alert
	// (metrics.convert_memory_to_mb).
	MemoryMB bool
}

// Info describes the session for the metrics.
type Info struct {
	Version     string
	ConfigFiles []string
	RulesFiles  []string
}

// observer holds what the web server and the metrics read while the
// sources run: the ready flag, the match counts by rule (counted where
// alerts go, so every source is in them), and the sources' counters.
type observer struct {
	ready atomic.Bool
	start time.Time
	// reload is the time of the last rule (re)load, in ns.
	reload atomic.Int64

	mu    sync.Mutex
	rules map[ruleKey]*metrics.RuleCount
	// base are the counters of engines a reload replaced.
	base engine.Stats

	// eng is the syscall engine in use, for readers off the event loop.
	eng atomic.Pointer[engine.Engine]
	// state is the state table's counters, published by the event loop.
	state atomic.Pointer[metrics.State]

	liveMu sync.Mutex
	live   *liveSource

	cfgSums, rulesSums []metrics.FileSum
	kernelRelease      string
}

type ruleKey struct{ name, source string }

// countingSink counts alerts by rule and passes them on.
type countingSink struct {
	next engine.Sink
	obs  *observer
}

func (s *countingSink) Send(a *output.Alert) {
	s.obs.mu.Lock()
	k := ruleKey{a.Rule, a.Source}
	rc := s.obs.rules[k]
	if rc == nil {
		rc = &metrics.RuleCount{Name: a.Rule, Priority: a.Priority, Source: a.Source, Tags: slices.Clone(a.Tags)}
		s.obs.rules[k] = rc
	}
	rc.Matches++
	s.obs.mu.Unlock()
	s.next.Send(a)
}

func newObserver(info Info) *observer {
	o := &observer{start: time.Now(), rules: map[ruleKey]*metrics.RuleCount{}}
	o.reload.Store(o.start.UnixNano())
	o.cfgSums = fileSums(info.ConfigFiles)
	o.rulesSums = fileSums(info.RulesFiles)
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		o.kernelRelease = unix.ByteSliceToString(u.Release[:])
	}
	return o
}

// fileSums hashes the files (folders are skipped, as are files that
// cannot be read).
func fileSums(paths []string) []metrics.FileSum {
	var out []metrics.FileSum
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		out = append(out, metrics.FileSum{Path: p, SHA256: hex.EncodeToString(sum[:])})
	}
	return out
}

// setEngine records the syscall engine in use; a replaced engine's
// counters go to the base so that the totals never go back.
func (o *observer) setEngine(e *engine.Engine) {
	if old := o.eng.Swap(e); old != nil && old != e {
		s := old.Stats()
		o.mu.Lock()
		o.base.Events += s.Events
		o.base.Evaluated += s.Evaluated
		o.base.Matches += s.Matches
		o.base.Alerts += s.Alerts
		o.base.EvalErrors += s.EvalErrors
		o.mu.Unlock()
		o.reload.Store(time.Now().UnixNano())
	}
}

// syscallStats are the syscall engines' counters since the start.
func (o *observer) syscallStats() engine.Stats {
	var s engine.Stats
	if e := o.eng.Load(); e != nil {
		s = e.Stats()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s.Events += o.base.Events
	s.Evaluated += o.base.Evaluated
	s.Matches += o.base.Matches
	s.Alerts += o.base.Alerts
	s.EvalErrors += o.base.EvalErrors
	return s
}

func (o *observer) setLive(l *liveSource) {
	o.liveMu.Lock()
	o.live = l
	o.liveMu.Unlock()
}

// kernel reads the live capture's counters; nil without one.
func (o *observer) kernel() *metrics.Kernel {
	o.liveMu.Lock()
	defer o.liveMu.Unlock()
	if o.live == nil {
		return nil
	}
	c, err := o.live.src.Counters()
	if err != nil {
		return nil
	}
	k := &metrics.Kernel{}
	t := c.Total()
	k.Total = metrics.Stage{Calls: t.Calls, GatePass: t.GatePass, PrefilterDrop: t.PrefilterDrop, Sent: t.Sent, Lost: t.Lost}
	for kind := range c.ByKind {
		s := c.ByKind[kind]
		if s.Calls == 0 {
			continue
		}
		k.BySyscall = append(k.BySyscall, metrics.SyscallStage{Syscall: kindName(kind),
			Stage: metrics.Stage{Calls: s.Calls, GatePass: s.GatePass, PrefilterDrop: s.PrefilterDrop, Sent: s.Sent, Lost: s.Lost}})
	}
	k.Missed, _ = o.live.src.Missed()
	k.Undecodable = o.live.src.Stats().Undecodable
	return k
}

// snapshot gathers every counter now.
func (a *Agent) snapshot() *metrics.Snapshot {
	o := a.obs
	s := &metrics.Snapshot{
		Time:          time.Now(),
		Hostname:      a.opts.Hostname,
		Version:       a.opts.Info.Version,
		EngineName:    a.engineName(),
		KernelRelease: o.kernelRelease,
		Start:         o.start,
		Reload:        time.Unix(0, o.reload.Load()),
		ConfigFiles:   o.cfgSums,
		RulesFiles:    o.rulesSums,
		Resources:     metrics.ReadResources("/proc"),
	}
	if a.opts.Syscall {
		st := o.syscallStats()
		s.Sources = append(s.Sources, metrics.SourceCounts{Source: "syscall", Events: st.Events,
			Evaluated: st.Evaluated, Matches: st.Matches, Alerts: st.Alerts})
	}
	if k := a.k8sLoaded(); k != nil {
		st := k.engineStats()
		s.Sources = append(s.Sources, metrics.SourceCounts{Source: "k8s_audit", Events: st.Events,
			Evaluated: st.Evaluated, Matches: st.Matches, Alerts: st.Alerts})
		ws := k.srv.Stats()
		s.K8sAudit = &metrics.K8sAudit{Events: ws.Events, Malformed: ws.Malformed, Dropped: ws.Dropped}
	}
	o.mu.Lock()
	for _, rc := range o.rules {
		s.Rules = append(s.Rules, *rc)
	}
	o.mu.Unlock()
	slices.SortFunc(s.Rules, func(x, y metrics.RuleCount) int {
		if x.Name != y.Name {
			if x.Name < y.Name {
				return -1
			}
			return 1
		}
		if x.Source < y.Source {
			return -1
		}
		return 0
	})
	for _, cs := range a.opts.Outputs.Stats() {
		s.Outputs = append(s.Outputs, metrics.OutputCount{Name: cs.Name, Sent: cs.Sent, Dropped: cs.Dropped, Failed: cs.Failed})
	}
	s.Kernel = o.kernel()
	if a.opts.Syscall {
		s.State = o.state.Load()
	}
	return s
}

func (a *Agent) engineName() string {
	switch {
	case !a.opts.Syscall:
		return "none"
	case a.opts.Trace != "":
		return "replay"
	}
	return "falcoc_bpf"
}

// k8sLoaded returns the webhook source once it started, else nil.
func (a *Agent) k8sLoaded() *k8sSource { return a.k8sPtr.Load() }

// setReady marks the sources as running: /healthz answers ok from now.
func (a *Agent) setReady() {
	if !a.obs.ready.Swap(true) && a.web != nil {
		fmt.Fprintf(a.log, "falco-run: ready (%s%s)\n", a.web.URL(), a.healthzPath())
	}
}

func (a *Agent) healthzPath() string {
	if p := a.opts.Web.Server.HealthzPath; p != "" {
		return p
	}
	return "/healthz"
}

// startWeb opens the web server, answering 503 on /healthz until the
// sources run.
func (a *Agent) startWeb() error {
	wo := a.opts.Web
	if wo == nil {
		return nil
	}
	so := wo.Server
	so.Ready = a.obs.ready.Load
	v, err := json.Marshal(wo.Versions)
	if err != nil {
		return fmt.Errorf("webserver: versions: %w", err)
	}
	so.Versions = v
	if wo.Prometheus && a.opts.Metrics != nil {
		reg := prometheus.NewRegistry()
		if err := reg.Register(metrics.NewCollector(a.snapshot, a.opts.Metrics.Groups)); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		so.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil})
	}
	srv, err := web.Listen(so)
	if err != nil {
		return fmt.Errorf("webserver: %w", err)
	}
	a.web = srv
	a.webErr = make(chan error, 1)
	go func() { a.webErr <- srv.Serve() }()
	what := ""
	if so.Metrics != nil {
		what = ", /metrics"
	}
	fmt.Fprintf(a.log, "falco-run: web server listening on %s (%s, /versions%s)\n", srv.URL(), a.healthzPath(), what)
	return nil
}

func (a *Agent) stopWeb() error {
	if a.web == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := a.web.Close(ctx)
	if serr := <-a.webErr; serr != nil && err == nil {
		err = serr
	}
	a.web = nil
	if err != nil {
		return fmt.Errorf("webserver: %w", err)
	}
	return nil
}

// runMetricsTicker emits the metrics snapshot alert every interval until
// ctx ends.
func (a *Agent) runMetricsTicker(ctx context.Context) {
	m := a.opts.Metrics
	if m == nil || m.Interval <= 0 || !m.OutputRule {
		return
	}
	go func() {
		t := time.NewTicker(m.Interval)
		defer t.Stop()
		var prev *metrics.Snapshot
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := a.snapshot()
			a.opts.Outputs.Send(metrics.Alert(s, prev, m.Groups, m.MemoryMB))
			prev = s
		}
	}()
}

// stateEvery is how many events the event loop processes between two
// publications of the state table's counters.
const stateEvery = 4096

// publishState publishes the state table's counters for the metrics; the
// event loop calls it (the table is not safe for concurrent use).
func (o *observer) publishState(t *state.Table) {
	st := t.Stats()
	o.state.Store(&metrics.State{Threads: uint64(st.Threads), Processes: uint64(st.Processes),
		Removed: st.Removed, Evicted: st.Evicted, ProcReads: st.ProcReads})
}
