package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/live"
	"github.com/falcoc/falcoc/runtime/state"
)

// btfPath is where the kernel exposes its BTF.
const btfPath = "/sys/kernel/btf/vmlinux"

// topSyscalls is how many syscalls the final counters list.
const topSyscalls = 10

// liveSource watches the kernel through a [live.Source].
type liveSource struct {
	src   *live.Source
	log   io.Writer
	mode  bpf.Mode
	seed  state.SeedStats
	ready bool
	// onReady is called once, with the first event.
	onReady func()
}

// openLive loads and attaches the capture with the kernel tables of the
// rules, and seeds the process table from /proc.
func (a *Agent) openLive() (*liveSource, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("live capture needs root (CAP_BPF, CAP_PERFMON)")
	}
	if _, err := os.Stat(btfPath); err != nil {
		return nil, fmt.Errorf("live capture needs kernel BTF at %s: %w", btfPath, err)
	}
	tables, err := kernelTables(a.opts.Rules, a.plan(a.opts.Rules))
	if err != nil {
		return nil, err
	}
	src, err := live.Open(&live.Options{
		RingBufferSize: a.opts.RingBufferSize,
		BatchDelay:     a.opts.BatchDelay,
		Mode:           a.opts.Prefilter,
		Tables:         tables,
	})
	if err != nil {
		return nil, fmt.Errorf("live capture: %w", keepVerifierLog(err))
	}
	for _, f := range src.Fallbacks() {
		fmt.Fprintf(a.log, "falco-run: this kernel lacks %s: %s\n", f, f.Fallback())
	}
	seed, err := a.eng.Table().Seed()
	if err != nil {
		src.Close()
		return nil, err
	}
	if err := src.StateSeeded(); err != nil {
		src.Close()
		return nil, err
	}
	// Make sure an event flows (process creation and exit are always
	// sent) so that "ready" means the whole path works.
	go exec.Command("/bin/true").Run()
	return &liveSource{src: src, log: a.log, mode: a.opts.Prefilter, seed: seed}, nil
}

// Next reads the next kernel event. The kernel judged it by the task's
// comm: proc.name is kept equal to it (a PR_SET_NAME or a write to
// /proc/PID/comm is not seen otherwise), so prefilter and userspace agree.
func (s *liveSource) Next(ctx context.Context, ev *event.Event, table *state.Table) error {
	if err := s.src.Next(ctx, ev); err != nil {
		return fmt.Errorf("live capture: %w", err)
	}
	if !s.ready {
		s.ready = true
		fmt.Fprintf(s.log, "falco-run: live capture ready (prefilter %s, %d processes and %d threads from /proc)\n",
			s.mode, s.seed.Processes, s.seed.Threads)
		if s.onReady != nil {
			s.onReady()
		}
	}
	if th := table.Get(ev.Tid); th != nil {
		if c := s.src.Comm(); len(c) > 0 && string(c) != th.Comm() {
			table.SetComm(ev.Tid, string(c))
		}
	}
	return nil
}

// setTables swaps the kernel's tables (see bpf.Capture.SetTables). The
// maps were sized at start for the rules then; tables that need more have
// the dimensions that do not fit dropped (sound: the kernel narrows less),
// and that is reported. Tables with a wider mask than the capture's are
// folded onto it (plan.Tables.FoldWords): foldTo is then the capture's
// width, which the rule masks must be folded to (plan.Mask.Fold), else 0.
func (s *liveSource) setTables(t *bpf.Tables) (foldTo int, err error) {
	c := s.src.Capture()
	fit, dropped, folded := c.FitTables(t)
	if folded {
		fmt.Fprintf(s.log, "falco-run: reload: the rules need a %d-bit clause mask, the kernel's was sized for %d at start: clauses share bits in the kernel, more events reach userspace; restart falco-run to widen it\n",
			64*t.MaskWords(), 64*c.MaskWords())
	}
	if dropped != 0 {
		fmt.Fprintf(s.log, "falco-run: reload: the rules need more kernel table entries than the maps hold (need %+v, capacity %+v): dimension %s not checked in the kernel, more events reach userspace; restart falco-run to size the maps for these rules\n",
			t.Needs(), c.Capacity(), dropped)
	}
	if folded {
		foldTo = c.MaskWords()
	}
	return foldTo, c.SetTables(fit)
}

// Close prints the kernel counters per stage, the busiest syscalls and
// the source's decoding counters, then detaches the capture.
func (s *liveSource) Close() error {
	s.src.Sync()
	printLiveCounters(s.log, s.src)
	st := s.src.Stats()
	fmt.Fprintf(s.log, "Live source: events %d, skipped %d, undecodable %d, malformed records %d\n",
		st.Events, st.Skipped, st.Undecodable, st.BadRecords)
	return s.src.Close()
}

// kernelTables gives the tables to load: the plan's with a plan
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

func printLiveCounters(w io.Writer, src *live.Source) {
	c, err := src.Counters()
	if err != nil {
		fmt.Fprintf(w, "Kernel counters: %v\n", err)
		return
	}
	t := c.Total()
	// Missed: invocations the kernel skipped because the program was
	// already running on that CPU (see bpf.Capture.Missed).
	missed, err := src.Missed()
	if err != nil {
		fmt.Fprintf(w, "Kernel missed counter: %v\n", err)
	}
	fmt.Fprintf(w, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d, missed by the kernel %d\n",
		t.Calls, t.GatePass, t.PrefilterDrop, t.Sent, t.Lost, missed)
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
