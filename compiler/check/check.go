// Package check resolves and types conditions and output formats against the
// field catalog, and infers each condition's event-type set.
package check

import "github.com/falcoc/falcoc/compiler/syntax"

// Issue is an error or warning found while checking, at a position of the
// text the node came from (see syntax.Pos.Origin).
type Issue struct {
	Pos     syntax.Pos
	Msg     string
	Warning bool
	// Code is the Falco load-result code, e.g. "LOAD_ERR_COMPILE_CONDITION",
	// "LOAD_UNKNOWN_FILTER" (unknown field or event type), "LOAD_COMPILE_CONDITION"
	// (a warning), "LOAD_ERR_COMPILE_OUTPUT", "LOAD_DEPRECATED_ITEM".
	Code string
}

// Options tune checking. A nil *Options means source "syscall".
type Options struct {
	Source string // event source: "syscall" (default) or "k8s_audit"
}

// Condition is a checked condition. (Contract stub: being implemented.)
type Condition struct {
	Expr syntax.Expr
	// EventTypes is the inferred evt.type set, sorted; nil means every event type.
	EventTypes []string
}

// Template is a checked output format. (Contract stub: being implemented.)
type Template struct {
	Format string
}

// CheckCondition checks a fully expanded condition (no macro references
// left). It returns the checked condition, or nil when there are errors.
func CheckCondition(e syntax.Expr, opts *Options) (*Condition, []Issue) {
	return &Condition{Expr: e}, nil
}

// CheckOutput checks an output format string such as
// "%proc.name opened %fd.name (%toupper(user.name))".
func CheckOutput(format string, opts *Options) (*Template, []Issue) {
	return &Template{Format: format}, nil
}
