package engine

import (
	"slices"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Extras are falco.yaml's append_output entries, compiled against their
// own constant pool (the artifact's pool is fixed when it is written).
type Extras struct {
	Consts *vm.Consts
	List   []Extra
}

// Extra is one append_output entry.
type Extra struct {
	// Match: a rule matches when its source equals Source and its name
	// equals Rule (each when set) and it has every tag of Tags.
	Source, Rule string
	Tags         []string
	// Text is appended to the rule's output, after a space; empty when the
	// entry has no extra_output.
	Text vm.Template
	// Fields are added to the JSON output_fields.
	Fields []ExtraField
}

// ExtraField is one extra_fields entry: Name and the template giving its
// value. A bare field name keeps its typed value; a format gives a string.
type ExtraField struct {
	Name     string
	Template vm.Template
	Bare     bool
}

func (x *Extra) matches(r *artifact.Rule) bool {
	if x.Source != "" && x.Source != r.Source {
		return false
	}
	if x.Rule != "" && x.Rule != r.Name {
		return false
	}
	for _, t := range x.Tags {
		if !slices.Contains(r.Tags, t) {
			return false
		}
	}
	return true
}

// appendExtras adds the matching append_output entries to the alert being
// built: text to e.msg, values to e.fields.
func (e *Engine) appendExtras(r *artifact.Rule) {
	if e.xvm == nil {
		return
	}
	begun := false
	for i := range e.opts.Extras.List {
		x := &e.opts.Extras.List[i]
		if !x.matches(r) {
			continue
		}
		if !begun {
			begun = true
			e.xenv.Reset(e.env.Event())
			e.xvm.BeginEvent()
		}
		if len(x.Text.Segments) > 0 {
			e.msg = append(e.msg, ' ')
			e.renderTemplate(e.xvm, e.xenv, &x.Text, true)
		}
		for j := range x.Fields {
			f := &x.Fields[j]
			if f.Bare && len(f.Template.Segments) == 1 && f.Template.Segments[0].Operand >= 0 {
				v, ok := e.xvm.Operand(e.xenv, int(f.Template.Segments[0].Operand))
				e.fields = append(e.fields, output.Field{Name: f.Name, Value: toOutput(v, ok)})
				continue
			}
			start := len(e.msg)
			e.renderTemplate(e.xvm, e.xenv, &f.Template, false)
			s := string(e.msg[start:])
			e.msg = e.msg[:start]
			e.fields = append(e.fields, output.Field{Name: f.Name, Value: output.String(s)})
		}
	}
}
