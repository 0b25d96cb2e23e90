// Package engine runs a compiled rule set against a stream of events: it
// keeps the process and fd state current, evaluates the rules that can
// match each event in the VM, and hands alerts to the outputs.
//
// The same engine serves every source: a trace replay, the live kernel, or
// a test. An Engine is not safe for concurrent use: one goroutine feeds it
// events with [Engine.Process].
package engine

import (
	"fmt"
	"sync/atomic"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Sink receives the alerts of matched rules. *output.Outputs is a Sink.
// The alert is only valid during the call.
type Sink interface {
	Send(a *output.Alert)
}

// Options configure an [Engine].
type Options struct {
	// Table is the process and fd state; required.
	Table *state.Table
	// Users resolves user and group names; nil means the host's files.
	Users *state.Users
	// Containers looks up container metadata; nil means none is known.
	Containers extract.ContainerLookup
	// Hostname is the alert's hostname and evt.hostname.
	Hostname string
	// LocalAddrs are the machine's addresses, for fd.lip/fd.lport and the
	// like (see extract.LocalAddrs); nil for replays.
	LocalAddrs *extract.LocalAddrs
	// Sink receives alerts; nil drops them (they are still counted).
	Sink Sink
	// MatchAll evaluates every candidate rule (rule_matching: all); by
	// default evaluation stops at the first match, as Falco's "first".
	MatchAll bool
	// MinPriority drops rules less severe than it (Falco's `priority`).
	// The zero value is Emergency: set it, or use output.PriorityDebug
	// to keep every rule.
	MinPriority output.Priority
	// RuleMasks holds, per rule (index into the artifact's rules), the
	// kernel clause bits that belong to it. When set, a rule is evaluated
	// only if one of its bits survived in the event's Mask; nil evaluates
	// every candidate rule of the event type.
	RuleMasks []plan.Mask
	// Judge, when set, computes the kernel's clause mask in userspace for
	// events that did not come through the kernel (a replay); it replaces
	// the event's Mask. Use it with RuleMasks.
	Judge Judge
	// Extras are falco.yaml's append_output entries; nil for none.
	Extras *Extras
	// OnMatch, when set, is called for every match (tests, counters).
	OnMatch func(rule int, ev *event.Event)
}

// Judge computes the clause mask the kernel prefilter would give ev,
// whose thread is th (nil when unknown). See runtime/kplan.UserJudge.
type Judge interface {
	// MaskTo sets *m to the mask.
	MaskTo(m *plan.Mask, ev *event.Event, th *state.Thread)
}

// Stats are the engine's counters. Read them with [Engine.Stats] from any
// goroutine. The per-event counts (Events, Evaluated) are kept by the
// processing goroutine and published every publishEvery events, at every
// match and by [Engine.Flush], so a concurrent reader may see them up to
// publishEvery-1 events behind; after Flush they are exact.
type Stats struct {
	Events     uint64 // events processed
	Evaluated  uint64 // rule evaluations
	Matches    uint64 // rules that matched
	Alerts     uint64 // alerts handed to the sink
	EvalErrors uint64 // VM errors (a bug, never expected)
}

// Engine evaluates one artifact's rules.
type Engine struct {
	art  *artifact.Artifact
	opts Options
	vm   *vm.VM
	env  *extract.Env
	// xenv extracts the fields of the append_output templates (their own
	// pool); xbegin points it at the current event. Nil without extras.
	xenv   *extract.Env
	xbegin func()
	upd    state.Updater
	// judged is where Options.Judge writes the current event's mask.
	judged plan.Mask
	// words are the mask words the rule masks use (see maskWords).
	words int

	// byType holds the candidate rules of each event type, in load
	// order, indexed by catalog.Event.ID.
	byType  [][]int32
	perRule []atomic.Uint64

	// matchedBy counts matches per event type; read it with
	// [Engine.MatchesByEvent] once Process is no longer being called.
	matchedBy map[string]uint64

	stats counters
	// pendEvents and pendEvaluated are the events and evaluations not yet
	// added to stats: written by the processing goroutine only, so that an
	// event costs no atomic operation (see Flush).
	pendEvents, pendEvaluated uint64
	out                       *emitter
}

// publishEvery is how many events the engine counts before it publishes
// its per-event counters to the atomics [Engine.Stats] reads.
const publishEvery = 64

// New builds an engine for art. art must come from [artifact.Read] or
// codegen (validated, pool prepared).
func New(art *artifact.Artifact, opts Options) (*Engine, error) {
	if art == nil || art.Consts == nil {
		return nil, fmt.Errorf("engine: no rules")
	}
	if opts.Table == nil {
		return nil, fmt.Errorf("engine: no state table")
	}
	m, err := vm.New(art.Consts)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	env, err := extract.New(art.Consts.Fields, extract.Deps{
		Table:      opts.Table,
		Users:      opts.Users,
		Containers: opts.Containers,
		Hostname:   opts.Hostname,
		LocalAddrs: opts.LocalAddrs,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	var xenv *extract.Env
	if opts.Extras != nil && opts.Extras.Consts != nil && len(opts.Extras.List) > 0 {
		if xenv, err = extract.New(opts.Extras.Consts.Fields, extract.Deps{
			Table:      opts.Table,
			Users:      opts.Users,
			Containers: opts.Containers,
			Hostname:   opts.Hostname,
			LocalAddrs: opts.LocalAddrs,
		}); err != nil {
			return nil, fmt.Errorf("engine: append_output: %w", err)
		}
	}
	e := &Engine{
		xenv:    xenv,
		art:     art,
		opts:    opts,
		vm:      m,
		env:     env,
		byType:  make([][]int32, catalog.NumEvents()+1),
		perRule: make([]atomic.Uint64, len(art.Rules)),
		words:   maskWords(opts.RuleMasks),
	}
	if e.out, err = newEmitter(opts.Hostname, opts.Sink, opts.Extras, &e.stats); err != nil {
		return nil, err
	}
	if xenv != nil {
		e.xbegin = func() { xenv.Reset(e.env.Event()) }
	}
	for i := range art.Rules {
		r := &art.Rules[i]
		if !r.Enabled || r.Program == nil || r.Source != catalog.SourceSyscall {
			continue
		}
		if output.Priority(r.Priority) > opts.MinPriority {
			continue
		}
		if r.EventTypes == nil {
			for _, ev := range catalog.Events() {
				e.byType[ev.ID] = append(e.byType[ev.ID], int32(i))
			}
			continue
		}
		for _, name := range r.EventTypes {
			ev, ok := catalog.EventByName(name)
			if !ok {
				continue // the checker refused unknown types; a .fbc from another version may not
			}
			e.byType[ev.ID] = append(e.byType[ev.ID], int32(i))
		}
	}
	return e, nil
}

// SetRuleMasks replaces Options.RuleMasks. Call it only from the goroutine
// that calls [Engine.Process].
func (e *Engine) SetRuleMasks(masks []plan.Mask) {
	e.opts.RuleMasks = masks
	e.words = maskWords(masks)
}

// maskWords returns the mask words the rules' clause bits are in: a
// plan's width, at least [plan.MaskHeadWords]. The words past them can
// decide nothing: no rule's mask has a bit there (a rule the plan does
// not cover has every bit, and an event with no bit in these words
// matches no covered rule).
func maskWords(masks []plan.Mask) int {
	w := plan.MaskHeadWords
	for i := range masks {
		m := &masks[i]
		if *m == plan.AllClauses {
			continue
		}
		for k := len(m) - 1; k >= w; k-- {
			if m[k] != 0 {
				w = k + 1
				break
			}
		}
	}
	return w
}

// Artifact returns the rule set the engine runs.
func (e *Engine) Artifact() *artifact.Artifact { return e.art }

// Table returns the engine's state table.
func (e *Engine) Table() *state.Table { return e.opts.Table }

// Process handles one event: state updates that precede the rules, the
// rules, then the state updates that follow them.
func (e *Engine) Process(ev *event.Event) {
	e.pendEvents++
	e.upd.Before(e.opts.Table, ev)
	e.evaluate(ev)
	e.upd.After(e.opts.Table, ev)
	if e.pendEvents >= publishEvery {
		e.Flush()
	}
}

// Flush publishes the events and evaluations counted since the last
// publication, so that [Engine.Stats] is exact. Process publishes on its
// own every publishEvery events and at every match; call Flush from the
// goroutine that calls Process when processing stops or pauses (end of a
// replay, before the engine is replaced).
func (e *Engine) Flush() {
	if e.pendEvents != 0 {
		e.stats.events.Add(e.pendEvents)
		e.pendEvents = 0
	}
	if e.pendEvaluated != 0 {
		e.stats.evaluated.Add(e.pendEvaluated)
		e.pendEvaluated = 0
	}
}

func (e *Engine) evaluate(ev *event.Event) {
	cands := e.candidates(ev.Info)
	if len(cands) == 0 {
		return
	}
	// The kernel (or its userspace stand-in) judges syscalls only; events
	// such as procexit are never filtered by clause.
	useMasks := e.opts.RuleMasks != nil && ev.Info.Syscall
	mask := &ev.Mask
	if useMasks && e.opts.Judge != nil {
		e.opts.Judge.MaskTo(&e.judged, ev, e.opts.Table.Get(ev.Tid))
		mask = &e.judged
	}
	e.env.Reset(ev)
	if useMasks && mask.ZeroIn(e.words) {
		return // no clause survived: no rule can match
	}
	e.vm.BeginEvent()
	for _, ri := range cands {
		if useMasks && !e.ruleSurvived(int(ri), mask) {
			continue
		}
		r := &e.art.Rules[ri]
		e.pendEvaluated++
		ok, err := e.vm.Eval(r.Program, e.env)
		if err != nil {
			e.stats.evalErrors.Add(1)
			continue
		}
		if !ok {
			continue
		}
		e.Flush() // a reader never sees more matches than evaluations
		e.stats.matches.Add(1)
		e.perRule[ri].Add(1)
		if e.matchedBy == nil {
			e.matchedBy = map[string]uint64{}
		}
		e.matchedBy[ev.Info.Name]++
		if e.opts.OnMatch != nil {
			e.opts.OnMatch(int(ri), ev)
		}
		if e.xenv != nil {
			e.out.emit(ev.Ts, r, e.vm, e.env, e.xenv, e.xbegin)
		} else {
			e.out.emit(ev.Ts, r, e.vm, e.env, nil, nil)
		}
		if !e.opts.MatchAll {
			return
		}
	}
}

// candidates returns the rules that may match events of type info.
func (e *Engine) candidates(info *catalog.Event) []int32 {
	if info == nil || info.ID <= 0 || info.ID >= len(e.byType) {
		return nil // not a catalog event: no rule names it
	}
	return e.byType[info.ID]
}

// ruleSurvived reports whether any clause bit of rule ri is set in mask.
func (e *Engine) ruleSurvived(ri int, mask *plan.Mask) bool {
	if ri >= len(e.opts.RuleMasks) {
		return true // a rule the plan does not cover is never dropped
	}
	return e.opts.RuleMasks[ri].IntersectsIn(mask, e.words)
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats { return e.stats.snapshot() }

// RuleMatches returns how many times rule i matched.
func (e *Engine) RuleMatches(i int) uint64 {
	if i < 0 || i >= len(e.perRule) {
		return 0
	}
	return e.perRule[i].Load()
}

// MatchesByEvent returns how many rule matches each event type had. Call
// it only when no goroutine is calling [Engine.Process].
func (e *Engine) MatchesByEvent() map[string]uint64 {
	out := make(map[string]uint64, len(e.matchedBy))
	for k, v := range e.matchedBy {
		out[k] = v
	}
	return out
}
