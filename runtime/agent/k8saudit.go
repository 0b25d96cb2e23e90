package agent

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/k8saudit"
)

// k8sSource is the Kubernetes audit webhook of an agent: the
// HTTP server and one goroutine that runs the k8s_audit rules (its own
// VM, apart from the syscall engine) on the events the server queues.
// Alerts go to the same outputs, which are safe for concurrent use.
type k8sSource struct {
	srv     *k8saudit.Server
	opts    engine.SourceOptions
	envOpts k8saudit.EnvOptions
	cur     atomic.Pointer[k8saudit.Pipeline]
	// base are the counters of the pipelines a reload replaced.
	baseMu   sync.Mutex
	base     engine.Stats
	serveErr chan error
	stopRun  chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// startK8sAudit starts the webhook when the configuration loads the
// k8saudit plugin or when art has an enabled k8s_audit rule; otherwise it
// returns nil and opens no port.
func startK8sAudit(ko *K8sAuditOptions, art *artifact.Artifact, opts engine.SourceOptions, errOut io.Writer) (*k8sSource, error) {
	plugin, index, load := ko.Plugin, ko.Index, ko.Load
	if !load && (ko.Replay || !k8saudit.HasRules(art)) {
		return nil, nil
	}
	params := ""
	name := fmt.Sprintf("k8saudit open_params (default %q)", k8saudit.DefaultOpenParams)
	if plugin != nil {
		params = plugin.OpenParams
		name = fmt.Sprintf("plugins[%d].open_params", index)
	}
	sopts, err := k8saudit.ParseOpenParams(params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var envOpts k8saudit.EnvOptions
	if plugin != nil {
		if v, ok := plugin.InitConfig["webhookMaxBatchSize"]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("plugins[%d].init_config.webhookMaxBatchSize: %q is not a positive number of bytes", index, v)
			}
			sopts.MaxBodyBytes = n
		}
		if v, ok := plugin.InitConfig["maxEventSize"]; ok {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("plugins[%d].init_config.maxEventSize: %q is not a positive number of bytes", index, v)
			}
			sopts.MaxEventBytes = int(n)
		}
		// falcoc's own key: ka.sourceips, eff_run_as_user/group and
		// binding.subject.has_name as described, not as the plugin
		// gives them (README, "Kubernetes audit log").
		if v, ok := plugin.InitConfig[k8saudit.CorrectedFieldsKey]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("plugins[%d].init_config.%s: %q is not true or false", index, k8saudit.CorrectedFieldsKey, v)
			}
			envOpts.Corrected = b
		}
	}
	var logMu sync.Mutex // requests are handled concurrently
	sopts.Logf = func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(errOut, "falco-run: "+format+"\n", args...)
	}
	p, err := k8saudit.NewPipeline(art, opts, envOpts)
	if err != nil {
		return nil, err
	}
	srv, err := k8saudit.Listen(sopts)
	if err != nil {
		return nil, fmt.Errorf("%s: %q: %w", name, params, err)
	}
	k := &k8sSource{
		srv:      srv,
		opts:     opts,
		envOpts:  envOpts,
		serveErr: make(chan error, 1),
		stopRun:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	k.cur.Store(p)
	go func() { k.serveErr <- srv.Serve() }()
	go k.run()
	fmt.Fprintf(errOut, "falco-run: k8s audit webhook listening on %s (%d k8s_audit rules)\n", srv.URL(), countK8sRules(art))
	return k, nil
}

func countK8sRules(art *artifact.Artifact) int {
	n := 0
	for i := range art.Rules {
		if r := &art.Rules[i]; r.Enabled && r.Source == "k8s_audit" {
			n++
		}
	}
	return n
}

// run evaluates queued events until stop, then the ones still queued.
func (k *k8sSource) run() {
	defer close(k.done)
	q := k.srv.Events()
	process := func(evs []*k8saudit.Event) {
		p := k.cur.Load()
		for _, ev := range evs {
			p.Process(ev)
		}
	}
	for {
		select {
		case evs := <-q:
			process(evs)
		case <-k.stopRun:
			for {
				select {
				case evs := <-q:
					process(evs)
				default:
					return
				}
			}
		}
	}
}

// reload makes art's k8s_audit rules the ones evaluated from the next
// request on. A nil k is a no-op.
func (k *k8sSource) reload(art *artifact.Artifact) error {
	if k == nil {
		return nil
	}
	p, err := k8saudit.NewPipeline(art, k.opts, k.envOpts)
	if err != nil {
		return err
	}
	old := k.cur.Swap(p)
	st := old.Stats()
	k.baseMu.Lock()
	k.base.Events += st.Events
	k.base.Evaluated += st.Evaluated
	k.base.Matches += st.Matches
	k.base.Alerts += st.Alerts
	k.base.EvalErrors += st.EvalErrors
	k.baseMu.Unlock()
	return nil
}

// engineStats are the k8s_audit rules' counters since the start, over
// reloads.
func (k *k8sSource) engineStats() engine.Stats {
	s := k.cur.Load().Stats()
	k.baseMu.Lock()
	defer k.baseMu.Unlock()
	s.Events += k.base.Events
	s.Evaluated += k.base.Evaluated
	s.Matches += k.base.Matches
	s.Alerts += k.base.Alerts
	s.EvalErrors += k.base.EvalErrors
	return s
}

// stop closes the server (requests in progress finish), evaluates what is
// queued and returns the server's error, if any. A nil k is a no-op; a
// second call does nothing.
func (k *k8sSource) stop() error {
	if k == nil {
		return nil
	}
	var err error
	k.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = k.srv.Close(ctx)
		if serr := <-k.serveErr; serr != nil && err == nil {
			err = serr
		}
		close(k.stopRun)
		<-k.done
		if err != nil {
			err = fmt.Errorf("k8s audit webhook: %w", err)
		}
	})
	return err
}

// printStats prints the webhook's counters. A nil k prints nothing.
func (k *k8sSource) printStats(w io.Writer) {
	if k == nil {
		return
	}
	s := k.srv.Stats()
	fmt.Fprintf(w, "K8s audit: events %d, malformed %d, dropped %d, matches %d, alerts %d\n",
		s.Events, s.Malformed, s.Dropped, k.engineStats().Matches, k.engineStats().Alerts)
}
