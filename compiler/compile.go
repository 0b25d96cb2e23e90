// Package compiler is the one driver from rule files to an artifact: load
// (compiler/rules), check (compiler/check, run by the loader), fold the
// constants of every condition once, generate bytecode (compiler/codegen)
// and plan the kernel prefilter (compiler/prefilter) from the same folded
// conditions, then encode and decode the result with the artifact codec
// (compiler/artifact), so that what a caller runs is byte for byte what a
// .fbc file holds. Every caller (falcoc compile, falco-run, the golden
// tests, the benchmarks) compiles through [Compile].
//
// Compile is safe for concurrent use; it keeps no state.
package compiler

import (
	"bytes"
	"fmt"
	"runtime"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/selection"
)

// Options tune [Compile]; a nil *Options means the defaults.
type Options struct {
	// Selection enables and disables rules (-D, -T, -t, falco.yaml's
	// rules:); nil keeps every rule's own flag.
	Selection *selection.Selection
	// Prefilter tunes the kernel prefilter planner; nil: the defaults.
	Prefilter *prefilter.Options
	// Ruleset, when set, is called with the loaded rule set before it is
	// compiled (for a caller that also lists the rules).
	Ruleset func(*rules.Ruleset)
	// Progress, when set, is called as each stage ends, with what it did
	// ("loaded 10000 rules", ...): a long compile can show it.
	Progress func(stage string)
	// Encoded, when set, receives the artifact's encoding: the bytes
	// artifact.Write gives for the artifact returned (Compile encodes it
	// anyway), so that a caller writing a .fbc need not encode it again.
	Encoded *[]byte
}

// Compile loads files in order and compiles them into an artifact with its
// kernel prefilter plan. The diagnostics are the loader's (warnings do not
// stop compiling); when they hold an error, or compiling fails, the
// artifact is nil and the list holds an error. The artifact returned has
// been through [artifact.Write] and [artifact.Read]: validated, its pool
// prepared, and safe for concurrent reads.
func Compile(files []rules.Source, opts *Options) (*artifact.Artifact, diag.List) {
	if opts == nil {
		opts = &Options{}
	}
	rs, ds := rules.Load(files, opts.Selection)
	list := diag.List(ds)
	if rs == nil || list.HasErrors() {
		return nil, list
	}
	if opts.Ruleset != nil {
		opts.Ruleset(rs)
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	progress("loaded and checked %d rules", len(rs.Rules))
	fail := func(err error) (*artifact.Artifact, diag.List) {
		return nil, append(list, diag.Diagnostic{File: sourceNames(files), Message: err.Error()})
	}
	// Fold every condition once; codegen and the planner both read the
	// folded form.
	folded := make([]check.Expr, len(rs.Rules))
	for i, r := range rs.Rules {
		if r != nil && r.Checked != nil && r.Checked.IR != nil {
			folded[i] = check.Fold(r.Checked.IR)
		}
	}
	// Code generation and the planner only read the ruleset and the
	// folded conditions: with a second CPU the planner runs beside code
	// generation. Errors and progress come in the same order either way.
	var pl *plan.Plan
	var plErr error
	var plPanic any
	planned := make(chan struct{})
	planNow := func() {
		defer close(planned)
		defer func() { plPanic = recover() }()
		pl, plErr = prefilter.BuildFolded(rs, folded, opts.Prefilter)
	}
	if runtime.GOMAXPROCS(0) > 1 {
		go planNow()
	}
	a, err := codegen.Build(rs, folded)
	if err != nil {
		return fail(err)
	}
	progress("generated the bytecode")
	if runtime.GOMAXPROCS(0) <= 1 {
		planNow()
	}
	<-planned
	if plPanic != nil {
		panic(plPanic) // in the caller's goroutine, as without the second CPU
	}
	if a.Plan, err = pl, plErr; err != nil {
		return fail(fmt.Errorf("plan the kernel prefilter: %w", err))
	}
	progress("planned the kernel prefilter (%d clauses)", len(a.Plan.Clauses))
	var buf bytes.Buffer
	if err := artifact.Write(&buf, a); err != nil {
		return fail(err)
	}
	if a, err = artifact.Read(buf.Bytes()); err != nil {
		return fail(err)
	}
	if opts.Encoded != nil {
		*opts.Encoded = buf.Bytes()
	}
	return a, list
}

func sourceNames(files []rules.Source) string {
	if len(files) == 1 {
		return files[0].Name
	}
	return "<rules>"
}
