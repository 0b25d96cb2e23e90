package engine

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/vm"
)

// counters are the atomics behind [Stats], shared by [Engine] and
// [Source].
type counters struct {
	events, evaluated, matches, alerts, evalErrors atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Events:     c.events.Load(),
		Evaluated:  c.evaluated.Load(),
		Matches:    c.matches.Load(),
		Alerts:     c.alerts.Load(),
		EvalErrors: c.evalErrors.Load(),
	}
}

// emitter builds the alert of a matched rule (its output, then the
// matching append_output entries, rendered by their own VM) and hands it
// to the sink. [Engine] and [Source] each own one; it is not safe for
// concurrent use.
type emitter struct {
	hostname string
	sink     Sink
	extras   *Extras
	xvm      *vm.VM // nil without extras
	stats    *counters

	alert  output.Alert
	msg    []byte
	fields []output.Field
}

func newEmitter(hostname string, sink Sink, extras *Extras, stats *counters) (*emitter, error) {
	em := &emitter{hostname: hostname, sink: sink, extras: extras, stats: stats}
	if extras != nil && extras.Consts != nil && len(extras.List) > 0 {
		m, err := vm.New(extras.Consts)
		if err != nil {
			return nil, fmt.Errorf("engine: append_output: %w", err)
		}
		em.xvm = m
	}
	return em, nil
}

// emit sends the alert of rule r, which matched the event at ts: r's
// output evaluated with m and env, then the append_output entries that
// match r, evaluated with xenv (nil: none). xbegin, when set, is called
// before the first entry is evaluated, to point xenv at the event.
func (em *emitter) emit(ts int64, r *artifact.Rule, m *vm.VM, env, xenv vm.Env, xbegin func()) {
	em.msg, em.fields = appendTemplate(em.msg[:0], em.fields[:0], m, env, &r.Template, true)
	if em.xvm != nil && xenv != nil {
		em.appendExtras(r, xenv, xbegin)
	}
	a := &em.alert
	a.Time = ts
	a.Rule = r.Name
	a.Priority = output.Priority(r.Priority)
	a.Source = r.Source
	a.Tags = r.Tags
	a.Hostname = em.hostname
	a.Message = string(em.msg)
	a.Fields = em.fields
	em.stats.alerts.Add(1)
	if em.sink != nil {
		em.sink.Send(a)
	}
}

// appendExtras adds the append_output entries that match r to the alert
// being built: text to em.msg, values to em.fields.
func (em *emitter) appendExtras(r *artifact.Rule, xenv vm.Env, xbegin func()) {
	begun := false
	for i := range em.extras.List {
		x := &em.extras.List[i]
		if !x.matches(r) {
			continue
		}
		if !begun {
			begun = true
			if xbegin != nil {
				xbegin()
			}
			em.xvm.BeginEvent()
		}
		if len(x.Text.Segments) > 0 {
			em.msg = append(em.msg, ' ')
			em.msg, em.fields = appendTemplate(em.msg, em.fields, em.xvm, xenv, &x.Text, true)
		}
		for j := range x.Fields {
			f := &x.Fields[j]
			if f.Bare && len(f.Template.Segments) == 1 && f.Template.Segments[0].Operand >= 0 {
				v, ok := em.xvm.Operand(xenv, int(f.Template.Segments[0].Operand))
				em.fields = append(em.fields, output.Field{Name: f.Name, Value: toOutput(v, ok)})
				continue
			}
			start := len(em.msg)
			em.msg, _ = appendTemplate(em.msg, nil, em.xvm, xenv, &f.Template, false)
			v := string(em.msg[start:])
			em.msg = em.msg[:start]
			em.fields = append(em.fields, output.Field{Name: f.Name, Value: output.String(v)})
		}
	}
}

// appendTemplate appends t's text to msg, evaluating its operands with m
// and env; with record, each value is also appended to fields.
func appendTemplate(msg []byte, fields []output.Field, m *vm.VM, env vm.Env, t *vm.Template, record bool) ([]byte, []output.Field) {
	for _, seg := range t.Segments {
		if seg.Operand < 0 {
			msg = append(msg, seg.Text...)
			continue
		}
		v, ok := m.Operand(env, int(seg.Operand))
		ov := toOutput(v, ok)
		start := len(msg)
		msg = output.AppendText(msg, ov, nil)
		if w := int(seg.Width); w > 0 {
			// Falco resizes the value to exactly the width: cut or pad.
			if len(msg)-start > w {
				msg = msg[:start+w]
			}
			for len(msg)-start < w {
				msg = append(msg, ' ')
			}
		}
		if record {
			fields = append(fields, output.Field{Name: seg.Token, Value: ov})
		}
	}
	return msg, fields
}

// toOutput converts a VM value into an output value, keeping its type for
// JSON output_fields.
func toOutput(v vm.Value, ok bool) output.Value {
	if !ok {
		return output.Missing()
	}
	switch v.Kind {
	case vm.KindString:
		return output.String(v.S)
	case vm.KindBytes:
		return output.String(string(v.B))
	case vm.KindInt:
		return output.Int(v.I)
	case vm.KindUint:
		return output.Uint(v.U)
	case vm.KindBool:
		return output.Bool(v.U != 0)
	case vm.KindAddr:
		return output.String(v.A.String())
	case vm.KindDouble:
		return output.Double(math.Float64frombits(v.U))
	case vm.KindList:
		l := make([]output.Value, len(v.L))
		for i, s := range v.L {
			l[i] = output.String(s)
		}
		return output.List(l...)
	}
	return output.Missing()
}
