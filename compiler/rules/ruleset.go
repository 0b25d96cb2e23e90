package rules

import (
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/selection"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// Source is one rules file: a name for diagnostics and its content.
type Source struct {
	Name string
	Data []byte
}

// Options select which loaded rules are enabled, like Falco's `rules:`
// configuration and its -D, -T and -t options; see [selection.Selection],
// which is shared with the loading of compiled artifacts. A nil *Options
// keeps every rule's own `enabled` flag.
type Options = selection.Selection

// Position is a position in a rules file; Line and Col are 1-based.
type Position struct {
	File string
	Line int
	Col  int
}

// Ruleset is the result of loading rule files: every list, macro and rule
// in definition order, with rules' final conditions. It is not modified
// after [Load] returns and is safe for concurrent reads.
type Ruleset struct {
	Rules  []*Rule
	Macros []*Macro
	Lists  []*List
	// RequiredEngineVersion is the highest required_engine_version seen,
	// as "x.y.z"; "0.0.0" when no file declares one.
	RequiredEngineVersion  string
	RequiredPluginVersions []PluginRequirement
}

// PluginRequirement is one entry of required_plugin_versions.
type PluginRequirement struct {
	Name         string
	Version      string
	Alternatives []PluginRequirement
}

// List is a list item after appends.
type List struct {
	Name string
	// Items are the items as written (after appends); Compiled has the
	// items that name an earlier list replaced by that list's items.
	Items    []string
	Compiled []string
	// Lists are the lists referenced by the items.
	Lists []string
	Used  bool
	Pos   Position
}

// Macro is a macro item after appends.
type Macro struct {
	Name string
	// Condition is the condition as written (after appends).
	Condition string
	// Expr is the condition parsed after list substitution, with the
	// macros it references expanded.
	Expr   syntax.Expr
	Macros []string
	Lists  []string
	Used   bool
	Pos    Position
}

// Rule is a rule after appends and overrides.
type Rule struct {
	Name     string
	Desc     string
	Output   string
	Source   string
	Priority Priority
	Tags     []string
	// Enabled is the rule's `enabled` key after the selection of [Options].
	Enabled bool
	// RawCondition is the condition as written (after appends).
	RawCondition string
	// Condition is the final condition text: the raw condition wrapped in
	// parentheses, exceptions appended, lists substituted.
	Condition string
	// Expr is Condition parsed, with macros expanded.
	Expr           syntax.Expr
	Checked        *check.Condition
	OutputTemplate *check.Template
	Exceptions     []Exception

	WarnEvttypes        bool
	SkipIfUnknownFilter bool
	Capture             bool
	CaptureDuration     int

	// Macros and Lists are the names the condition uses, in order of
	// first use (macros transitively, lists as substituted into the rule's
	// own condition text).
	Macros []string
	Lists  []string
	Pos    Position
}

// Exception is one entry of a rule's `exceptions`.
type Exception struct {
	Name string
	// FieldsIsList tells the list form (fields: [a, b]) from the scalar
	// form (fields: a). In the scalar form Fields and Comps have one
	// element and every value tuple has one element.
	FieldsIsList bool
	Fields       []string
	Comps        []string
	Values       [][]ExceptionValue
}

// ExceptionValue is one element of a value tuple: a string, or a list of
// strings (for list operators).
type ExceptionValue struct {
	Item   string
	IsList bool
	Items  []string
}
