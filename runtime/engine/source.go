package engine

import (
	"fmt"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/vm"
)

// SourceOptions configure a [Source].
type SourceOptions struct {
	// Source is the event source whose rules run, e.g. "k8s_audit".
	Source string
	// Hostname is the alert's hostname.
	Hostname string
	// Sink receives alerts; nil drops them (they are still counted).
	Sink Sink
	// MatchAll evaluates every rule (rule_matching: all); by default
	// evaluation stops at the first match.
	MatchAll bool
	// MinPriority drops rules less severe than it, as [Options.MinPriority].
	MinPriority output.Priority
	// Extras are falco.yaml's append_output entries; nil for none.
	Extras *Extras
}

// Source evaluates the rules of one non-syscall source (a plugin-style
// source such as the Kubernetes audit log) on events whose fields a
// caller-provided [vm.Env] extracts. It keeps no state between events.
//
// A Source is not safe for concurrent use: one goroutine calls
// [Source.Process]. [Source.Stats] may be called from any goroutine.
type Source struct {
	art   *artifact.Artifact
	opts  SourceOptions
	vm    *vm.VM
	rules []int32
	stats counters
	out   *emitter
}

// NewSource builds an evaluator for art's enabled rules of opts.Source
// that are at least opts.MinPriority severe.
func NewSource(art *artifact.Artifact, opts SourceOptions) (*Source, error) {
	if art == nil || art.Consts == nil {
		return nil, fmt.Errorf("engine: no rules")
	}
	m, err := vm.New(art.Consts)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	s := &Source{art: art, opts: opts, vm: m}
	if s.out, err = newEmitter(opts.Hostname, opts.Sink, opts.Extras, &s.stats); err != nil {
		return nil, err
	}
	for i := range art.Rules {
		r := &art.Rules[i]
		if !r.Enabled || r.Program == nil || r.Source != opts.Source {
			continue
		}
		if output.Priority(r.Priority) > opts.MinPriority {
			continue
		}
		s.rules = append(s.rules, int32(i))
	}
	return s, nil
}

// Rules returns the number of rules the source evaluates.
func (s *Source) Rules() int { return len(s.rules) }

// Process evaluates the rules on one event. env extracts the fields of the
// artifact's field table (art.Consts.Fields) for this event; xenv those of
// the append_output pool (Extras.Consts.Fields), and may be nil when there
// are no extras. ts is the event time in ns since the epoch.
func (s *Source) Process(ts int64, env, xenv vm.Env) {
	s.stats.events.Add(1)
	if len(s.rules) == 0 {
		return
	}
	s.vm.BeginEvent()
	for _, ri := range s.rules {
		r := &s.art.Rules[ri]
		s.stats.evaluated.Add(1)
		ok, err := s.vm.Eval(r.Program, env)
		if err != nil {
			s.stats.evalErrors.Add(1)
			continue
		}
		if !ok {
			continue
		}
		s.stats.matches.Add(1)
		s.out.emit(ts, r, s.vm, env, xenv, nil)
		if !s.opts.MatchAll {
			return
		}
	}
}

// Stats returns a snapshot of the counters.
func (s *Source) Stats() Stats { return s.stats.snapshot() }
