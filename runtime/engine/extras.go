package engine

import (
	"slices"

	"github.com/falcoc/falcoc/compiler/artifact"
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
