package engine

import (
	"fmt"
	"sync/atomic"

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
	xvm   *vm.VM
	rules []int32

	alert  output.Alert
	msg    []byte
	fields []output.Field

	stats struct {
		events, evaluated, matches, alerts, evalErrors atomic.Uint64
	}
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
	if x := opts.Extras; x != nil && x.Consts != nil && len(x.List) > 0 {
		if s.xvm, err = vm.New(x.Consts); err != nil {
			return nil, fmt.Errorf("engine: append_output: %w", err)
		}
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
	xbegun := false
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
		s.msg, s.fields = appendTemplate(s.msg[:0], s.fields[:0], s.vm, env, &r.Template, true)
		if s.xvm != nil && xenv != nil {
			for i := range s.opts.Extras.List {
				x := &s.opts.Extras.List[i]
				if !x.matches(r) {
					continue
				}
				if !xbegun {
					xbegun = true
					s.xvm.BeginEvent()
				}
				s.appendExtra(x, xenv)
			}
		}
		a := &s.alert
		a.Time = ts
		a.Rule = r.Name
		a.Priority = output.Priority(r.Priority)
		a.Source = r.Source
		a.Tags = r.Tags
		a.Hostname = s.opts.Hostname
		a.Message = string(s.msg)
		a.Fields = s.fields
		s.stats.alerts.Add(1)
		if s.opts.Sink != nil {
			s.opts.Sink.Send(a)
		}
		if !s.opts.MatchAll {
			return
		}
	}
}

// appendExtra adds one append_output entry to the alert being built.
func (s *Source) appendExtra(x *Extra, xenv vm.Env) {
	if len(x.Text.Segments) > 0 {
		s.msg = append(s.msg, ' ')
		s.msg, s.fields = appendTemplate(s.msg, s.fields, s.xvm, xenv, &x.Text, true)
	}
	for j := range x.Fields {
		f := &x.Fields[j]
		if f.Bare && len(f.Template.Segments) == 1 && f.Template.Segments[0].Operand >= 0 {
			v, ok := s.xvm.Operand(xenv, int(f.Template.Segments[0].Operand))
			s.fields = append(s.fields, output.Field{Name: f.Name, Value: toOutput(v, ok)})
			continue
		}
		start := len(s.msg)
		s.msg, _ = appendTemplate(s.msg, nil, s.xvm, xenv, &f.Template, false)
		v := string(s.msg[start:])
		s.msg = s.msg[:start]
		s.fields = append(s.fields, output.Field{Name: f.Name, Value: output.String(v)})
	}
}

// Stats returns a snapshot of the counters.
func (s *Source) Stats() Stats {
	return Stats{
		Events:     s.stats.events.Load(),
		Evaluated:  s.stats.evaluated.Load(),
		Matches:    s.stats.matches.Load(),
		Alerts:     s.stats.alerts.Load(),
		EvalErrors: s.stats.evalErrors.Load(),
	}
}
