package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/kplan"
)

// reloadDrain is how long after a table swap the engine keeps evaluating
// every candidate rule, while records judged by the old tables drain.
const reloadDrain = time.Second

// reload is a rule set prepared for a swap.
type reload struct {
	eng *engine.Engine
	// tables are the new kernel tables (live only) and masks the rule
	// masks the engine takes once the old tables' records have drained.
	tables *bpf.Tables
	masks  []plan.Mask
}

// watchReload reloads the rule files on SIGHUP, as Falco does, and sends
// each rule set that compiled on the channel for the event loop to swap
// in. A rule set that does not compile is reported and the running one
// is kept: a bad rules file never takes the engine down. The webhook has
// its own goroutine: its rules change here, at once. wake, if not nil, is
// called once a rule set waits on the channel: the event loop must take
// it without waiting for an event (live, the old kernel tables may drop
// every event the new rules want).
func (a *Agent) watchReload(ctx context.Context, src eventSource, wake func()) <-chan reload {
	out := make(chan reload, 1)
	if a.opts.Reload == nil {
		return out
	}
	_, isLive := src.(*liveSource)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			case <-a.opts.ReloadTrigger:
			}
			r, err := a.prepareReload(isLive)
			if err != nil {
				fmt.Fprintf(a.log, "falco-run: reload failed, keeping the current rules: %v\n", err)
				continue
			}
			if err := a.k8s.reload(r.eng.Artifact()); err != nil {
				fmt.Fprintf(a.log, "falco-run: reload: k8s audit rules: %v (the webhook keeps the old ones)\n", err)
			}
			fmt.Fprintf(a.log, "falco-run: rules reloaded: %d rules, in effect from the next event\n", len(r.eng.Artifact().Rules))
			select {
			case out <- r:
				if wake != nil {
					wake()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// prepareReload compiles the rules again, with the engine and, live, the
// kernel tables they need. Live, the new engine first evaluates every
// candidate rule (records already in the buffers were judged by the old
// tables, whose clause bits mean other rules); a replay judges in
// userspace with the new plan at once.
func (a *Agent) prepareReload(isLive bool) (reload, error) {
	art, err := a.opts.Reload()
	if err != nil {
		return reload{}, err
	}
	p := a.plan(art)
	if !isLive {
		opts := a.engOpts
		opts.Judge = nil
		if p != nil {
			opts.Judge = kplan.NewUserJudge(p)
		}
		opts.RuleMasks = a.ruleMasks(art)
		eng, err := engine.New(art, opts)
		return reload{eng: eng}, err
	}
	tables, err := kernelTables(art, p)
	if err != nil {
		return reload{}, err
	}
	eng, err := a.newEngine(art, nil)
	if err != nil {
		return reload{}, err
	}
	return reload{eng: eng, tables: tables, masks: a.ruleMasks(art)}, nil
}

// swap is a reload in progress on the event loop: the new engine is in
// use, the new kernel tables are loaded, and the new rule masks wait for
// the old tables' records to drain.
type swap struct {
	pending []plan.Mask
	at      time.Time
}

// begin loads r's kernel tables into a live source.
func (s *swap) begin(r reload, src eventSource, log io.Writer) {
	s.pending = nil
	ls, ok := src.(*liveSource)
	if !ok || r.tables == nil {
		return
	}
	foldTo, err := ls.setTables(r.tables)
	if err != nil {
		fmt.Fprintf(log, "falco-run: reload: kernel tables: %v (the kernel keeps the old tables; every candidate rule is evaluated)\n", err)
		return
	}
	masks := r.masks
	if foldTo > 0 {
		// The kernel's clause bits are folded: so are the rules'.
		masks = make([]plan.Mask, len(r.masks))
		for i := range r.masks {
			masks[i] = r.masks[i].Fold(foldTo)
		}
	}
	s.pending, s.at = masks, time.Now().Add(reloadDrain)
}

// maybeFinish gives eng the new rule masks once the drain time has
// passed.
func (s *swap) maybeFinish(eng *engine.Engine) {
	if s.pending != nil && time.Now().After(s.at) {
		eng.SetRuleMasks(s.pending)
		s.pending = nil
	}
}
