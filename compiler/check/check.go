package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// Load-result codes used by the checker (Falco's names).
const (
	CodeCompileCondition  = "LOAD_ERR_COMPILE_CONDITION"
	CodeCompileOutput     = "LOAD_ERR_COMPILE_OUTPUT"
	CodeUnknownFilter     = "LOAD_UNKNOWN_FILTER"
	CodeConditionWarning  = "LOAD_COMPILE_CONDITION"
	CodeDeprecatedItem    = "LOAD_DEPRECATED_ITEM"
	CodeUnsafeNACheck     = "LOAD_UNSAFE_NA_CHECK"
	SourceSyscall         = "syscall"
	SourceK8sAudit        = "k8s_audit"
	msgNonexistentField   = "filter_check called with nonexistent field "
	msgUnknownEventType   = "unknown event type "
	msgUnexpectedIdent    = "unexpected identifier '%s'"
	msgRegexSimple        = "regex check with '%s' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'"
	msgUnsafeNA           = "comparing %s with <NA> is unsafe: a missing value is never equal to <NA>; use 'exists' to test for presence"
	msgDeprecatedField    = "field %s is deprecated"
	msgDeprecatedEvtDir   = "field evt.dir is deprecated: only exit events are delivered, so evt.dir = '<' is always true and evt.dir = '>' never"
	msgContainerInfoStrip = "%container.info is deprecated and has no effect: it was removed from the output"
)

// Issue is an error or warning found while checking, at a position of the
// text the node came from (see syntax.Pos.Origin).
type Issue struct {
	Pos     syntax.Pos
	Msg     string
	Warning bool
	// Code is the Falco load-result code, e.g. "LOAD_ERR_COMPILE_CONDITION",
	// "LOAD_UNKNOWN_FILTER" (unknown field or event type), "LOAD_COMPILE_CONDITION"
	// (a warning), "LOAD_ERR_COMPILE_OUTPUT", "LOAD_DEPRECATED_ITEM".
	//
	// An error with code LOAD_UNKNOWN_FILTER (an unknown field, in a
	// condition or an output, or an unknown event type) is reported by the
	// loader as LOAD_ERR_COMPILE_CONDITION or LOAD_ERR_COMPILE_OUTPUT, or
	// as a LOAD_UNKNOWN_FILTER warning that skips the rule when the rule has
	// skip-if-unknown-filter: true.
	Code string
}

// Options tune checking. A nil *Options means source "syscall".
type Options struct {
	Source string // event source: "syscall" (default) or "k8s_audit"
	// Origin is stored in the positions of issues and segments found by
	// [CheckOutput] (conditions carry their own origins in their AST).
	Origin int
}

// Condition is a checked condition. It is immutable and safe for
// concurrent reads.
type Condition struct {
	// Expr is the syntax tree that was checked.
	Expr syntax.Expr
	// IR is the typed condition: what code generation consumes. It is not
	// folded; see [Fold].
	IR Expr
	// EventTypes is the inferred evt.type set, sorted. nil means every event
	// type (no bound); an empty non-nil slice means none (the condition can
	// never be true). Always nil for sources other than syscall.
	EventTypes []string
	// TooManyEventTypes is true for a syscall condition whose event-type
	// set has more than [MaxEventTypes] entries (nil counts as every type):
	// the loader reports LOAD_NO_EVTTYPE for it.
	TooManyEventTypes bool
	// Fields are the distinct field names used, as written without a
	// bracket argument ("proc.aname", "evt.arg.flags"), sorted.
	Fields []string
	// Operators are the distinct comparison operators used, sorted.
	Operators []string
}

// CheckCondition checks a fully expanded condition (no macro references
// left). It returns the checked condition, or nil when there are errors.
// Warnings are returned with a non-nil condition.
func CheckCondition(e syntax.Expr, opts *Options) (*Condition, []Issue) {
	c := newChecker(opts, false)
	ir := c.expr(e)
	if c.failed {
		return nil, c.issues
	}
	cond := &Condition{
		Expr:      e,
		IR:        ir,
		Fields:    sortedKeys(c.fields),
		Operators: sortedKeys(c.ops),
	}
	if c.source == SourceSyscall {
		cond.EventTypes = inferEventTypes(ir)
		n := len(cond.EventTypes)
		if cond.EventTypes == nil {
			n = EventTypeCount()
		}
		cond.TooManyEventTypes = n > MaxEventTypes
	}
	return cond, c.issues
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checker holds the state of one CheckCondition or CheckOutput call.
type checker struct {
	source string
	origin int
	output bool // checking an output format, not a condition
	issues []Issue
	failed bool
	fields map[string]bool
	ops    map[string]bool
}

func newChecker(opts *Options, output bool) *checker {
	c := &checker{source: SourceSyscall, output: output, fields: map[string]bool{}, ops: map[string]bool{}}
	if opts != nil {
		if opts.Source != "" {
			c.source = opts.Source
		}
		c.origin = opts.Origin
	}
	return c
}

func (c *checker) errCode() string {
	if c.output {
		return CodeCompileOutput
	}
	return CodeCompileCondition
}

// errorf records an error with the default code of what is being checked.
func (c *checker) errorf(pos syntax.Pos, format string, args ...any) {
	c.issue(pos, c.errCode(), false, fmt.Sprintf(format, args...))
}

func (c *checker) issue(pos syntax.Pos, code string, warning bool, msg string) {
	if !warning {
		c.failed = true
	}
	c.issues = append(c.issues, Issue{Pos: pos, Msg: msg, Warning: warning, Code: code})
}

// expr converts a boolean expression. It returns nil after an error.
func (c *checker) expr(e syntax.Expr) Expr {
	switch n := e.(type) {
	case *syntax.And:
		if n == nil {
			break
		}
		return &And{Pos: n.Pos, Terms: c.terms(n.Pos, n.Terms)}
	case *syntax.Or:
		if n == nil {
			break
		}
		return &Or{Pos: n.Pos, Terms: c.terms(n.Pos, n.Terms)}
	case *syntax.Not:
		if n == nil {
			break
		}
		return &Not{Pos: n.Pos, X: c.expr(n.X)}
	case *syntax.Ident:
		if n == nil {
			break
		}
		c.errorf(n.Pos, msgUnexpectedIdent, n.Name)
		return nil
	case *syntax.Compare:
		if n == nil {
			break
		}
		return c.compare(n)
	}
	c.errorf(posOf(e), "invalid expression: %s", describe(e))
	return nil
}

func (c *checker) terms(pos syntax.Pos, ts []syntax.Expr) []Expr {
	if len(ts) == 0 {
		c.errorf(pos, "invalid expression: empty and/or")
	}
	out := make([]Expr, len(ts))
	for i, t := range ts {
		out[i] = c.expr(t)
	}
	return out
}

// posOf returns a node's position, or the zero position for nil.
func posOf(n syntax.Node) (p syntax.Pos) {
	defer func() {
		if recover() != nil {
			p = syntax.Pos{}
		}
	}()
	if n == nil {
		return syntax.Pos{}
	}
	return n.Position()
}

func describe(n any) string {
	if n == nil {
		return "nil"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n), "*syntax.")
}

// compare checks one comparison.
func (c *checker) compare(n *syntax.Compare) Expr {
	c.ops[string(n.Op)] = true
	left := c.operand(n.Left, false)
	if !knownOp(n.Op) {
		c.errorf(n.Pos, "unknown operator '%s'", n.Op)
		return nil
	}
	cmp := &Cmp{Pos: n.Pos, Left: left, Op: n.Op, Mod: n.Mod, Src: n}
	if n.Mod != syntax.ModNone {
		switch {
		case n.Mod != syntax.ModOneOf && n.Mod != syntax.ModAnyOf && n.Mod != syntax.ModAllOf:
			c.errorf(n.Pos, "unknown operator modifier '%s'", n.Mod)
			return nil
		case !modifiable(n.Op):
			c.errorf(n.Pos, "'%s' operator does not accept the '%s' modifier", n.Op, n.Mod)
			return nil
		}
	}
	if left == nil {
		// Still look at the right-hand side for more errors.
		c.rhsOperandErrors(n.Right)
		return nil
	}
	if n.Op == syntax.OpExists {
		if n.Right != nil {
			c.errorf(posOf(n.Right), "'exists' operator takes no value")
			return nil
		}
		return cmp
	}
	if left.List && n.Op != syntax.OpIn && n.Op != syntax.OpIntersects {
		c.errorf(n.Pos, "'%s' operator not supported for list filters", n.Op)
		return nil
	}
	if cl := classOf(left.Type); cl != classInvalid && !opAllowed(n.Op, cl) {
		c.errorf(n.Pos, "'%s' operator not supported for %s filters", n.Op, cl.word())
		return nil
	}
	switch r := n.Right.(type) {
	case *syntax.ValRef, *syntax.Transform:
		if r == nil || isNilOperand(n.Right) {
			break
		}
		return c.fieldRHS(cmp, n)
	case *syntax.Literal:
		if r == nil {
			break
		}
		if n.Mod != syntax.ModNone {
			c.errorf(r.Pos, "'%s' modifier requires a list of values", n.Mod)
			return nil
		}
		cmp.Values = c.values(cmp, []*syntax.Literal{r})
		return c.finishValues(cmp)
	case *syntax.List:
		if r == nil {
			break
		}
		if r.Name != "" {
			c.errorf(r.Pos, msgUnexpectedIdent, r.Name)
			return nil
		}
		if !listOp(n.Op) && n.Mod == syntax.ModNone {
			c.errorf(r.Pos, "'%s' operator requires a single value, not a list", n.Op)
			return nil
		}
		lits := make([]*syntax.Literal, 0, len(r.Items))
		for _, it := range r.Items {
			l, ok := it.(*syntax.Literal)
			if !ok || l == nil {
				c.errorf(posOf(it), "unexpected %s in a list of values: only constants are allowed", describe(it))
				return nil
			}
			lits = append(lits, l)
		}
		cmp.Values = c.values(cmp, lits)
		return c.finishValues(cmp)
	case *syntax.Field:
		if r == nil {
			break
		}
		c.errorf(r.Pos, "unexpected field %s on the right of '%s': use val(%s)", r.Name, n.Op, r.Name)
		return nil
	}
	if n.Right == nil || isNilOperand(n.Right) {
		c.errorf(n.Pos, "missing value after '%s'", n.Op)
		return nil
	}
	c.errorf(posOf(n.Right), "invalid right-hand side: %s", describe(n.Right))
	return nil
}

func isNilOperand(o syntax.Operand) bool {
	switch v := o.(type) {
	case nil:
		return true
	case *syntax.Field:
		return v == nil
	case *syntax.Transform:
		return v == nil
	case *syntax.ValRef:
		return v == nil
	case *syntax.Literal:
		return v == nil
	case *syntax.List:
		return v == nil
	}
	return false
}

// rhsOperandErrors reports the unknown fields on a right-hand side whose
// comparison already failed.
func (c *checker) rhsOperandErrors(r syntax.Operand) {
	switch v := r.(type) {
	case *syntax.ValRef:
		if v != nil && v.Field != nil {
			c.operand(v.Field, true)
		}
	case *syntax.Transform:
		if v != nil {
			c.operand(v, true)
		}
	}
}

// fieldRHS checks a comparison with a field on its right.
func (c *checker) fieldRHS(cmp *Cmp, n *syntax.Compare) Expr {
	var right *Operand
	switch r := n.Right.(type) {
	case *syntax.ValRef:
		if r.Field == nil {
			c.errorf(r.Pos, "val() requires a field")
			return nil
		}
		right = c.operand(r.Field, true)
		if right != nil && right.Field.Flags&catalog.FlagNoRHS != 0 {
			c.errorf(r.Field.Pos, "field %s cannot be used in val()", right.Field.Name)
			return nil
		}
	case *syntax.Transform:
		right = c.operand(r, true)
	}
	if right == nil {
		return nil
	}
	pos := posOf(n.Right)
	switch {
	case n.Mod != syntax.ModNone:
		c.errorf(pos, "'%s' modifier requires a list of values", n.Mod)
	case n.Op == syntax.OpPmatch || n.Op == syntax.OpRegex:
		c.errorf(pos, "'%s' operator not supported with a field on the right-hand side", n.Op)
	case cmp.Left.Type == catalog.TypeIPNet:
		c.errorf(pos, "IPNET filters cannot be compared with a field")
	case right.List && !listOp(n.Op):
		c.errorf(pos, "'%s' operator requires a single value, but %s is a list", n.Op, right)
	case !comparableTypes(cmp.Left.Type, right.Type):
		c.errorf(pos, "cannot compare %s (%s) with %s (%s)", cmp.Left, typeName(cmp.Left.Type), right, typeName(right.Type))
	default:
		cmp.Right = right
		return cmp
	}
	return nil
}

// values parses the right-hand-side constants of cmp.
func (c *checker) values(cmp *Cmp, lits []*syntax.Literal) []Value {
	t := cmp.Left.Type
	out := make([]Value, 0, len(lits))
	for _, l := range lits {
		v, msg := parseValue(t, cmp.Op, l.Value, l.Pos)
		if msg != "" {
			c.errorf(l.Pos, "%s", msg)
			continue
		}
		out = append(out, v)
	}
	return out
}

// finishValues runs the value checks that need the whole comparison:
// event-type names, the regex and <NA> warnings.
func (c *checker) finishValues(cmp *Cmp) Expr {
	if isEvtType(cmp) && c.source == SourceSyscall {
		switch cmp.Op {
		case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpIn, syntax.OpIntersects:
			_, idx := universe()
			for _, v := range cmp.Values {
				if _, ok := idx[v.Text]; !ok {
					c.issue(v.Pos, CodeUnknownFilter, false, msgUnknownEventType+v.Text)
				}
			}
		}
	}
	if cmp.Op == syntax.OpRegex {
		for _, v := range cmp.Values {
			if plainRegex(v.Text) {
				c.issue(v.Pos, CodeConditionWarning, true, fmt.Sprintf(msgRegexSimple, v.Text))
			}
		}
	}
	if name := auditField(cmp.Left); name != "" {
		for _, v := range cmp.Values {
			if v.Text == "<NA>" {
				c.issue(v.Pos, CodeUnsafeNACheck, true, fmt.Sprintf(msgUnsafeNA, name))
			}
		}
	}
	if c.failed {
		return nil
	}
	return cmp
}

// auditField returns the first ka.* or jevt.* field read by o, or "".
func auditField(o *Operand) string {
	if o == nil {
		return ""
	}
	if o.Kind == OperandField && (strings.HasPrefix(o.Name, "ka.") || strings.HasPrefix(o.Name, "jevt.")) {
		return o.Name
	}
	for _, a := range o.Args {
		if n := auditField(a); n != "" {
			return n
		}
	}
	for _, a := range o.Items {
		if n := auditField(a); n != "" {
			return n
		}
	}
	return ""
}

// operand resolves a field or a transformer (the left side of a check, a
// val() field, a transformer on the right). It returns nil after an error.
func (c *checker) operand(o syntax.Operand, rhs bool) *Operand {
	switch n := o.(type) {
	case *syntax.Field:
		if n != nil {
			return c.field(n)
		}
	case *syntax.Transform:
		if n != nil {
			return c.transform(n, 0)
		}
	case *syntax.Literal:
		if n != nil {
			c.errorf(n.Pos, "unexpected value '%s': a comparison starts with a field", n.Value)
			return nil
		}
	case *syntax.ValRef:
		if n != nil {
			c.errorf(n.Pos, "val() is only allowed on the right-hand side of a comparison")
			return nil
		}
	case *syntax.List:
		if n != nil {
			c.errorf(n.Pos, "unexpected list: a comparison starts with a field")
			return nil
		}
	}
	c.errorf(posOf(o), "missing field")
	return nil
}

// genericEvtFields are the evt.* fields every event source provides.
var genericEvtFields = map[string]bool{
	"evt.num": true, "evt.time": true, "evt.time.s": true, "evt.time.iso8601": true,
	"evt.datetime": true, "evt.datetime.s": true, "evt.rawtime": true, "evt.rawtime.s": true,
	"evt.rawtime.ns": true, "evt.reltime": true, "evt.reltime.s": true, "evt.reltime.ns": true,
	"evt.pluginname": true, "evt.plugininfo": true, "evt.source": true, "evt.is_async": true,
	"evt.asynctype": true, "evt.hostname": true,
}

// fieldSource reports whether f may be used with the checker's source.
func (c *checker) fieldSource(f *catalog.Field) bool {
	if genericEvtFields[f.Name] {
		return true
	}
	src := f.Source
	if src == "" {
		src = SourceSyscall
	}
	return src == c.source
}

func writtenName(n *syntax.Field) string {
	if n.HasArg {
		return n.Name + "[" + n.Arg + "]"
	}
	return n.Name
}

// field resolves a field reference against the catalog.
func (c *checker) field(n *syntax.Field) *Operand {
	f, dotArg, hasDot, ok := catalog.Lookup(n.Name)
	if !ok || f == nil || !c.fieldSource(f) {
		c.issue(n.Pos, CodeUnknownFilter, false, msgNonexistentField+writtenName(n))
		return nil
	}
	c.fields[n.Name] = true
	op := &Operand{Kind: OperandField, Pos: n.Pos, Field: f, Name: n.Name, Index: -1, Type: f.Type,
		List: f.Flags&catalog.FlagList != 0}
	switch {
	case hasDot && n.HasArg:
		c.errorf(n.Pos, "field %s has two arguments: '%s' and '[%s]'", f.Name, dotArg, n.Arg)
		return nil
	case hasDot:
		op.Arg, op.HasArg = dotArg, true
	case n.HasArg:
		op.Arg, op.HasArg = n.Arg, true
	}
	if !c.fieldArg(op, n) {
		return nil
	}
	if op.Type == catalog.TypeDyn {
		op.Type = dynType(op)
	}
	if c.output && f.Flags&catalog.FlagFilterOnly != 0 {
		c.errorf(n.Pos, "field %s cannot be used in an output", f.Name)
		return nil
	}
	if !c.output && f.Flags&catalog.FlagPrintOnly != 0 {
		c.errorf(n.Pos, "field %s cannot be used in a condition", f.Name)
		return nil
	}
	switch {
	case f.Name == "evt.dir":
		c.issue(n.Pos, CodeDeprecatedItem, true, msgDeprecatedEvtDir)
	case f.Flags&catalog.FlagDeprecated != 0 || strings.HasPrefix(f.Name, "evt.latency") || f.Name == "evt.wait_latency":
		c.issue(n.Pos, CodeDeprecatedItem, true, fmt.Sprintf(msgDeprecatedField, f.Name))
	}
	return op
}

// fieldArg checks the argument of a field operand against its ArgKind and
// sets Index.
func (c *checker) fieldArg(op *Operand, n *syntax.Field) bool {
	f := op.Field
	switch f.Arg {
	case catalog.ArgNone:
		if op.HasArg {
			c.errorf(n.Pos, "field %s does not take an argument", f.Name)
			return false
		}
		return true
	case catalog.ArgIndexRequired, catalog.ArgKeyRequired, catalog.ArgIndexOrKeyRequired:
		if !op.HasArg {
			c.errorf(n.Pos, "field %s requires an argument", f.Name)
			return false
		}
	}
	if !op.HasArg {
		return true
	}
	if op.Arg == "" {
		c.errorf(n.Pos, "field %s: empty argument", f.Name)
		return false
	}
	i, isIndex := parseIndex(op.Arg)
	switch f.Arg {
	case catalog.ArgIndexOptional, catalog.ArgIndexRequired:
		if !isIndex {
			c.errorf(n.Pos, "field %s requires a numeric index, got '%s'", f.Name, op.Arg)
			return false
		}
		op.Index = i
	case catalog.ArgIndexOrKeyRequired:
		if isIndex {
			op.Index = i
		}
	}
	return true
}

// parseIndex parses a non-negative decimal index.
func parseIndex(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}
