package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/cilium/ebpf"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/live"
	"github.com/falcoc/falcoc/runtime/state"
)

// btfPath is where the kernel exposes its BTF.
const btfPath = "/sys/kernel/btf/vmlinux"

// topSyscalls is how many syscalls the final counters list.
const topSyscalls = 10

func prefilterMode(s string) bpf.Mode {
	switch s {
	case "off":
		return bpf.ModeOff
	case "evttype":
		return bpf.ModeEvttype
	}
	return bpf.ModeFull
}

// live watches the kernel: it loads and attaches the capture, seeds the
// process table from /proc, and runs the engine on every event until ctx
// is done; then it prints the kernel and source counters.
func (o *RunOptions) live(ctx context.Context, eng *engine.Engine, lr *loadedRules) error {
	if os.Geteuid() != 0 {
		return &ExitError{Code: 1, Err: errors.New("live capture needs root (CAP_BPF, CAP_PERFMON)")}
	}
	if _, err := os.Stat(btfPath); err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("live capture needs kernel BTF at %s: %w", btfPath, err)}
	}
	var w *captureWriter
	if o.Capture != "" {
		f, err := os.Create(o.Capture)
		if err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("--capture: %w", err)}
		}
		defer f.Close()
		w = newCaptureWriter(f, eng)
		defer w.w.Flush()
	}

	tables, err := kernelTables(lr.Art, o.plan)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	src, err := live.Open(&live.Options{
		RingBufferSize: o.RingBufferSize,
		BatchDelay:     o.BatchDelay,
		Mode:           prefilterMode(o.Prefilter),
		Tables:         tables,
	})
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("live capture: %w", keepVerifierLog(err))}
	}
	defer src.Close()
	for _, f := range src.Fallbacks() {
		fmt.Fprintf(o.errOut, "falco-run: this kernel lacks %s: %s\n", f, f.Fallback())
	}

	table := eng.Table()
	seed, err := table.Seed()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	// Make sure an event flows (process creation and exit are always
	// sent) so that "ready" means the whole path works.
	go exec.Command("/bin/true").Run()

	var ev event.Event
	ready := false
	var runErr error
	reloads := o.watchReload(ctx)
	var pendingMasks []plan.Mask
	var masksAt time.Time
	for {
		select {
		case r := <-reloads:
			// Swap between two events: the new engine first, evaluating
			// every candidate rule (records already in the buffers were
			// judged by the old tables, whose clause bits mean other
			// rules), then the new tables; the new clause masks are used
			// once the old tables' records have drained.
			eng = r.eng
			o.eng = eng
			if w != nil {
				w.eng = eng
			}
			if err := src.Capture().SetTables(r.tables); err != nil {
				fmt.Fprintf(o.errOut, "falco-run: reload: kernel tables: %v (the kernel keeps the old tables; every candidate rule is evaluated)\n", err)
				pendingMasks = nil
			} else {
				pendingMasks, masksAt = r.masks, time.Now().Add(reloadDrain)
			}
		default:
		}
		if pendingMasks != nil && time.Now().After(masksAt) {
			eng.SetRuleMasks(pendingMasks)
			pendingMasks = nil
		}
		err := src.Next(ctx, &ev)
		if err != nil {
			if ctx.Err() == nil {
				runErr = &ExitError{Code: 1, Err: fmt.Errorf("live capture: %w", err)}
			}
			break
		}
		if !ready {
			ready = true
			fmt.Fprintf(o.errOut, "falco-run: live capture ready (prefilter %s, %d processes and %d threads from /proc)\n",
				o.Prefilter, seed.Processes, seed.Threads)
		}
		if w != nil {
			if werr := w.write(&ev, table.Lookup(ev.Tid)); werr != nil && runErr == nil {
				runErr = &ExitError{Code: 1, Err: fmt.Errorf("--capture: %w", werr)}
			}
		}
		// The kernel judged the event by the task's comm: keep proc.name
		// equal to it (a PR_SET_NAME or a write to /proc/PID/comm is not
		// seen otherwise), so prefilter and userspace agree.
		if th := table.Get(ev.Tid); th != nil {
			if c := src.Comm(); len(c) > 0 && string(c) != th.Comm() {
				table.SetComm(ev.Tid, string(c))
			}
		}
		eng.Process(&ev)
	}
	if w != nil {
		if err := w.w.Flush(); err != nil && runErr == nil {
			runErr = &ExitError{Code: 1, Err: fmt.Errorf("--capture: %w", err)}
		}
	}
	src.Sync()
	o.printLiveStats(src)
	return runErr
}

// reloadDrain is how long after a table swap the engine keeps evaluating
// every candidate rule, while records judged by the old tables drain.
const reloadDrain = time.Second

// reload is a rule set prepared for a swap.
type reload struct {
	eng    *engine.Engine
	tables *bpf.Tables
	masks  []plan.Mask
}

// watchReload reloads the rule files on SIGHUP, as Falco does. A rule set
// that does not load is reported and the running one is kept: a bad rules
// file never takes the engine down.
func (o *RunOptions) watchReload(ctx context.Context) <-chan reload {
	out := make(chan reload, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			r, err := o.prepareReload()
			if err != nil {
				fmt.Fprintf(o.errOut, "falco-run: reload failed, keeping the current rules: %v\n", err)
				continue
			}
			// The webhook has its own goroutine: its rules change now.
			if err := o.k8s.reload(r.eng.Artifact()); err != nil {
				fmt.Fprintf(o.errOut, "falco-run: reload: k8s audit rules: %v (the webhook keeps the old ones)\n", err)
			}
			fmt.Fprintf(o.errOut, "falco-run: rules reloaded: %d rules, in effect from the next event\n", len(r.eng.Artifact().Rules))
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// prepareReload loads and compiles the rules again, with the engine and
// kernel tables they need.
func (o *RunOptions) prepareReload() (reload, error) {
	lr, err := loadRules(o.paths, o.selection(), o.errOut)
	if err != nil {
		return reload{}, err
	}
	var p *plan.Plan
	if o.Prefilter == "full" {
		p = lr.Art.Plan
	}
	tables, err := kernelTables(lr.Art, p)
	if err != nil {
		return reload{}, err
	}
	masks := planRuleMasks(p, lr.Art)
	eng, err := o.newEngine(lr.Art, nil)
	if err != nil {
		return reload{}, err
	}
	return reload{eng: eng, tables: tables, masks: masks}, nil
}

// kernelTables gives the tables to load: the planner's with a plan
// (--prefilter=full), else Falco's model (the rules' syscalls plus the
// state syscalls) for off and evttype.
func kernelTables(art *artifact.Artifact, p *plan.Plan) (*bpf.Tables, error) {
	if p == nil {
		return live.EvttypeTables(art), nil
	}
	if err := p.Tables.Validate(); err != nil {
		return nil, fmt.Errorf("kernel prefilter tables: %w", err)
	}
	return &p.Tables, nil
}

// printLiveStats prints the kernel counters per stage, the busiest
// syscalls, and the source's decoding counters.
func (o *RunOptions) printLiveStats(src *live.Source) {
	printLiveCounters(o.errOut, src)
	s := src.Stats()
	fmt.Fprintf(o.errOut, "Live source: events %d, skipped %d, undecodable %d, malformed records %d\n",
		s.Events, s.Skipped, s.Undecodable, s.BadRecords)
}

func printLiveCounters(w io.Writer, src *live.Source) {
	c, err := src.Counters()
	if err != nil {
		fmt.Fprintf(w, "Kernel counters: %v\n", err)
		return
	}
	t := c.Total()
	fmt.Fprintf(w, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d\n",
		t.Calls, t.GatePass, t.PrefilterDrop, t.Sent, t.Lost)
	kinds := make([]int, 0, bpf.NumKinds)
	for k := range c.ByKind {
		if c.ByKind[k].Calls > 0 {
			kinds = append(kinds, k)
		}
	}
	sort.SliceStable(kinds, func(i, j int) bool { return c.ByKind[kinds[i]].Calls > c.ByKind[kinds[j]].Calls })
	if len(kinds) > topSyscalls {
		kinds = kinds[:topSyscalls]
	}
	fmt.Fprintf(w, "%-16s %12s %12s %12s %12s %12s\n", "syscall", "calls", "passed gate", "dropped", "sent", "lost")
	for _, k := range kinds {
		s := c.ByKind[k]
		fmt.Fprintf(w, "%-16s %12d %12d %12d %12d %12d\n", kindName(k), s.Calls, s.GatePass, s.PrefilterDrop, s.Sent, s.Lost)
	}
}

func kindName(k int) string {
	switch k {
	case bpf.KindFork:
		return "<fork>"
	case bpf.KindExec:
		return "<exec>"
	case bpf.KindExit:
		return "<exit>"
	}
	if n, ok := catalog.SyscallName(k); ok {
		return n
	}
	return fmt.Sprintf("syscall_%d", k)
}

// maxCapturedAncestors bounds how many ancestors of a new thread
// --capture describes.
const maxCapturedAncestors = 16

// captureWriter records processed events for --capture. The first time a
// thread appears, its ancestors that the file does not describe yet are
// written first, each as a "procinfo" event carrying its process context,
// so that a replay knows the whole ancestry (proc.aname[N], proc.pname).
// Those procinfo events also go through the engine, and every event is
// numbered here, so that the live run and the replay see the same event
// stream (evt.num included).
type captureWriter struct {
	w        *event.Writer
	eng      *engine.Engine
	seen     map[int64]bool
	chain    []*state.Thread
	procinfo *catalog.Event
	pev      event.Event
	num      uint64
}

func newCaptureWriter(f io.Writer, eng *engine.Engine) *captureWriter {
	pi, _ := catalog.EventByName("procinfo")
	return &captureWriter{w: event.NewWriter(f), eng: eng, seen: make(map[int64]bool), procinfo: pi}
}

// write writes ev, whose thread (before ev is applied) is th.
func (c *captureWriter) write(ev *event.Event, th *state.Thread) error {
	if th != nil && !c.seen[ev.Tid] && c.procinfo != nil {
		c.chain = c.chain[:0]
		for p := th.Parent(); p != nil && len(c.chain) < maxCapturedAncestors && !c.seen[p.Tid]; p = p.Parent() {
			c.chain = append(c.chain, p)
		}
		for i := len(c.chain) - 1; i >= 0; i-- {
			a := c.chain[i]
			c.pev.Reset(c.procinfo)
			c.pev.Ts, c.pev.Tid, c.pev.Pid = ev.Ts, a.Tid, a.Pid()
			c.num++
			c.pev.Num = c.num
			c.seen[a.Tid] = true
			if err := c.w.Write(&c.pev, a); err != nil {
				return err
			}
			c.eng.Process(&c.pev)
		}
	}
	if th != nil {
		c.seen[ev.Tid] = true
	}
	c.num++
	ev.Num = c.num
	return c.w.Write(ev, th)
}

// keepVerifierLog writes the verifier's whole log, when err carries one,
// to a file and names it after err's one line, so that the terminal gets
// the reason and the report gets the log.
func keepVerifierLog(err error) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return err
	}
	f, ferr := os.CreateTemp("", "falco-run-verifier-*.log")
	if ferr != nil {
		return err
	}
	defer f.Close()
	if _, werr := fmt.Fprintf(f, "%+v\n", ve); werr != nil {
		return err
	}
	return fmt.Errorf("%w (the verifier's log is in %s)", err, f.Name())
}
