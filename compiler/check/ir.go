package check

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// Expr is a node of the typed condition IR: [*And], [*Or], [*Not], [*Cmp]
// or [*Const]. The IR is immutable once returned by [CheckCondition] and
// safe for concurrent reads.
type Expr interface {
	Position() syntax.Pos
	irExpr()
}

// And is true when every term is true. Terms are evaluated left to right
// and evaluation stops at the first false term. It has at least one term.
type And struct {
	Pos   syntax.Pos
	Terms []Expr
}

// Or is true when some term is true, evaluated left to right with
// short-circuit. It has at least one term.
type Or struct {
	Pos   syntax.Pos
	Terms []Expr
}

// Not negates X.
type Not struct {
	Pos syntax.Pos
	X   Expr
}

// Const is a constant truth value, produced by [Fold].
type Const struct {
	Pos   syntax.Pos
	Value bool
}

// Cmp is one comparison: Left Op [Mod] RHS.
//
// The right-hand side is either constants or a field:
//   - Op is exists: Values and Right are both empty.
//   - Right != nil: the comparison is against another field's value
//     (`val(f)` or a transformer); Values is nil.
//   - otherwise Values holds the constants, parsed by Left.Type (see
//     [Value]): exactly one for the scalar operators, any number (possibly
//     zero) for in, intersects, pmatch and for a modifier (oneof, anyof,
//     allof).
//
// As in Falco, a comparison whose left field has no value for the event is
// false, whatever the operator (`!=` included).
type Cmp struct {
	Pos    syntax.Pos
	Left   *Operand
	Op     syntax.Op
	Mod    syntax.Modifier
	Values []Value
	Right  *Operand
	Src    *syntax.Compare
}

func (n *And) Position() syntax.Pos   { return n.Pos }
func (n *Or) Position() syntax.Pos    { return n.Pos }
func (n *Not) Position() syntax.Pos   { return n.Pos }
func (n *Const) Position() syntax.Pos { return n.Pos }
func (n *Cmp) Position() syntax.Pos   { return n.Pos }

func (*And) irExpr()   {}
func (*Or) irExpr()    {}
func (*Not) irExpr()   {}
func (*Const) irExpr() {}
func (*Cmp) irExpr()   {}

// OperandKind says what an [Operand] is.
type OperandKind uint8

// Operand kinds.
const (
	// OperandField reads a field: Field, Name, Arg, HasArg and Index are set.
	OperandField OperandKind = iota
	// OperandTransform applies Transform to Args.
	OperandTransform
	// OperandConst is a constant transformer argument: Const holds it
	// (Const.Text always; Const.Int/Uint when it is a number).
	OperandConst
	// OperandList is a parenthesised list of transformer arguments: Items.
	OperandList
)

// Operand is a value source: a field, a transformer applied to operands, or
// (inside transformer arguments only) a constant or a list.
type Operand struct {
	Kind OperandKind
	Pos  syntax.Pos

	// Field operands.
	Field *catalog.Field // the catalog entry
	// Name is the field name as written, without a bracket argument:
	// "proc.aname", "evt.arg.flags".
	Name   string
	Arg    string // the argument, from `[arg]` or from a dotted suffix
	HasArg bool
	// Index is the argument parsed as a non-negative integer when the field
	// takes an index (proc.aname[2], evt.arg[0]); -1 otherwise.
	Index int

	// Transformer operands.
	Transform string     // tolower, toupper, b64, basename, len, join, concat, getopt
	Args      []*Operand // the arguments, in order
	// TransformArg is getopt's optional `[c]` argument.
	TransformArg    string
	HasTransformArg bool

	// Constant operands.
	Const Value
	// List operands.
	Items []*Operand

	// Type is the type of the operand's value (after transformation). For a
	// constant it is TypeString, or TypeInt64 for a number.
	Type catalog.Type
	// List is true when the operand yields a list of values of Type (list
	// fields such as fd.types, and transformers over them).
	List bool
}

// String renders the operand as it would be written: "proc.aname[2]",
// "evt.arg.flags", "toupper(basename(proc.exepath))", `join(",", proc.args)`.
func (o *Operand) String() string {
	if o == nil {
		return ""
	}
	var b strings.Builder
	o.write(&b)
	return b.String()
}

func (o *Operand) write(b *strings.Builder) {
	switch o.Kind {
	case OperandField:
		b.WriteString(o.Name)
		if o.HasArg && o.Name == fieldName(o) {
			b.WriteByte('[')
			b.WriteString(o.Arg)
			b.WriteByte(']')
		}
	case OperandTransform:
		b.WriteString(o.Transform)
		b.WriteByte('(')
		for i, a := range o.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
		if o.HasTransformArg {
			b.WriteByte('[')
			b.WriteString(o.TransformArg)
			b.WriteByte(']')
		}
	case OperandConst:
		if o.Type == catalog.TypeInt64 {
			b.WriteString(o.Const.Text)
		} else {
			b.WriteString(strconv.Quote(o.Const.Text))
		}
	case OperandList:
		b.WriteByte('(')
		for i, a := range o.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}

// fieldName is the catalog name of a field operand, used to tell a bracket
// argument (written after Name) from a dotted one (part of Name).
func fieldName(o *Operand) string {
	if o.Field == nil {
		return o.Name
	}
	return o.Field.Name
}

// Value is one right-hand-side constant, parsed according to the type of
// the comparison's left operand. Text is always the value as written (after
// unescaping); the other fields are set by type:
//
//	INT8..INT64                      Int
//	UINT8..UINT64, PORT, ABSTIME,
//	RELTIME                          Uint
//	DOUBLE                           Float
//	BOOL                             Bool
//	IPADDR                           Addr
//	IPNET                            Net (a plain address becomes /32 or /128)
//	BYTEBUF                          Bytes (hex-decoded for bcontains and
//	                                 bstartswith, the raw text otherwise)
//	CHARBUF, FSPATH                  only Text
//	DYNAMIC                          Text; Int and IsInt when it is a number
//
// For the regex operator Regex holds the pattern anchored at both ends, in
// Go (RE2) syntax, ready for regexp.MustCompile: it is known to compile.
type Value struct {
	Pos   syntax.Pos
	Text  string
	Int   int64
	IsInt bool
	Uint  uint64
	Float float64
	Bool  bool
	Addr  netip.Addr
	Net   netip.Prefix
	Bytes []byte
	Regex string
}

// Format renders an IR expression as text for debugging and golden tests:
// `(proc.name = bash and not evt.type in (open, openat))`. Values are
// printed as written; a field comparison prints `val(...)` for a field on
// the right.
func Format(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e)
	return b.String()
}

func formatExpr(b *strings.Builder, e Expr) {
	switch n := e.(type) {
	case *And:
		formatTerms(b, n.Terms, " and ")
	case *Or:
		formatTerms(b, n.Terms, " or ")
	case *Not:
		b.WriteString("not ")
		formatExpr(b, n.X)
	case *Const:
		b.WriteString(strconv.FormatBool(n.Value))
	case *Cmp:
		n.Left.write(b)
		b.WriteByte(' ')
		b.WriteString(string(n.Op))
		if n.Mod != syntax.ModNone {
			b.WriteByte(' ')
			b.WriteString(string(n.Mod))
		}
		switch {
		case n.Op == syntax.OpExists:
		case n.Right != nil:
			b.WriteByte(' ')
			if n.Right.Kind == OperandField {
				b.WriteString("val(")
				n.Right.write(b)
				b.WriteByte(')')
			} else {
				n.Right.write(b)
			}
		case len(n.Values) == 1 && !listOp(n.Op) && n.Mod == syntax.ModNone:
			b.WriteByte(' ')
			b.WriteString(quoteValue(n.Values[0].Text))
		default:
			b.WriteString(" (")
			for i, v := range n.Values {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(quoteValue(v.Text))
			}
			b.WriteByte(')')
		}
	default:
		b.WriteString("<nil>")
	}
}

func formatTerms(b *strings.Builder, ts []Expr, sep string) {
	b.WriteByte('(')
	for i, t := range ts {
		if i > 0 {
			b.WriteString(sep)
		}
		formatExpr(b, t)
	}
	b.WriteByte(')')
}

// quoteValue quotes a value that would not read back as one bare word.
func quoteValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\b(),=\"'") {
		return strconv.Quote(s)
	}
	return s
}
