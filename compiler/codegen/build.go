package codegen

import (
	"fmt"
	"slices"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/rules"
)

// CompilerVersion is the falcoc version written into artifacts.
const CompilerVersion = "falcoc 0.1.0-dev"

// Build compiles every rule of a loaded ruleset that has a checked
// condition (rules skipped by skip-if-unknown-filter have none) into an
// artifact: one program per rule over a shared pool, the output templates,
// and the syscall set of the enabled syscall rules. The result is
// validated and deterministic for a given ruleset. The plan section is
// left empty (compiler.Compile fills it).
//
// folded holds, per rule of rs, its condition constant-folded
// ([check.Fold]), as the compile driver computes it once for codegen and
// the planner; nil folds here.
func Build(rs *rules.Ruleset, folded []check.Expr) (*artifact.Artifact, error) {
	if rs == nil {
		return nil, fmt.Errorf("build artifact: no ruleset")
	}
	if folded == nil {
		folded = make([]check.Expr, len(rs.Rules))
		for i, r := range rs.Rules {
			if r != nil && r.Checked != nil && r.Checked.IR != nil {
				folded[i] = check.Fold(r.Checked.IR)
			}
		}
	}
	if len(folded) != len(rs.Rules) {
		return nil, fmt.Errorf("build artifact: %d folded conditions for %d rules", len(folded), len(rs.Rules))
	}
	g := New()
	a := &artifact.Artifact{
		CompilerVersion: CompilerVersion,
		EngineVersion:   artifact.EngineVersion,
		Consts:          g.Consts(),
	}
	syscalls := map[string]bool{}
	for i, r := range rs.Rules {
		if r == nil || r.Checked == nil || r.Checked.IR == nil {
			continue
		}
		p, err := g.FoldedCondition(folded[i])
		if err != nil {
			return nil, fmt.Errorf("build artifact: rule %q: %w", r.Name, err)
		}
		tmpl, err := g.Output(r.OutputTemplate)
		if err != nil {
			return nil, fmt.Errorf("build artifact: rule %q: %w", r.Name, err)
		}
		var tags []string
		if len(r.Tags) > 0 {
			tags = slices.Clone(r.Tags)
			slices.Sort(tags)
			tags = slices.Compact(tags)
		}
		var evts []string
		if r.Checked.EventTypes != nil {
			evts = slices.Clone(r.Checked.EventTypes)
			slices.Sort(evts)
		}
		a.Rules = append(a.Rules, artifact.Rule{
			Name:       r.Name,
			Desc:       r.Desc,
			Priority:   int(r.Priority),
			Source:     r.Source,
			Tags:       tags,
			Enabled:    r.Enabled,
			Output:     r.Output,
			Template:   tmpl,
			Condition:  r.RawCondition,
			Compiled:   check.Format(folded[i]),
			EventTypes: evts,
			Program:    p,
			File:       r.Pos.File,
			Line:       r.Pos.Line,
		})
		if r.Enabled && (r.Source == "" || r.Source == check.SourceSyscall) {
			addSyscalls(syscalls, r.Checked.EventTypes)
		}
	}
	for s := range syscalls {
		a.Syscalls = append(a.Syscalls, s)
	}
	slices.Sort(a.Syscalls)
	if err := a.Consts.Prepare(); err != nil {
		return nil, fmt.Errorf("build artifact: %w", err)
	}
	for _, r := range a.Rules {
		if err := r.Program.Validate(); err != nil {
			return nil, fmt.Errorf("build artifact: rule %q: %w", r.Name, err)
		}
	}
	return a, nil
}

// addSyscalls adds the syscall events among evts (nil: every event type)
// to set.
func addSyscalls(set map[string]bool, evts []string) {
	if evts == nil {
		for _, e := range catalog.Events() {
			if e.Syscall {
				set[e.Name] = true
			}
		}
		return
	}
	for _, n := range evts {
		if e, ok := catalog.EventByName(n); ok && e.Syscall {
			set[e.Name] = true
		}
	}
}
