package syntax

// Pos is a position in a condition's text. Offset is in bytes from the
// start; Line and Column are 1-based (Column counts bytes).
//
// Origin identifies the text the node was parsed from (Options.Origin):
// the rules loader gives each macro and rule condition its own origin so
// that a node copied into another condition by macro expansion can still
// be traced back to its file, line and column.
type Pos struct {
	Offset int
	Line   int
	Column int
	Origin int
}

// Node is implemented by every AST node.
type Node interface {
	Position() Pos
}

// Expr is a boolean expression: [*And], [*Or], [*Not], [*Ident] or [*Compare].
type Expr interface {
	Node
	exprNode()
}

// Operand is a value position in a comparison or a transformer argument:
// [*Field], [*Transform], [*ValRef], [*Literal] or [*List].
type Operand interface {
	Node
	operandNode()
}

// And is an n-ary conjunction (at least two terms), evaluated left to right.
type And struct {
	Pos   Pos
	Terms []Expr
}

// Or is an n-ary disjunction (at least two terms), evaluated left to right.
type Or struct {
	Pos   Pos
	Terms []Expr
}

// Not negates X.
type Not struct {
	Pos Pos
	X   Expr
}

// Ident is a bare identifier used as a whole check: a macro reference.
type Ident struct {
	Pos  Pos
	Name string
}

// Op is a comparison operator, spelled as in the condition language.
type Op string

// The comparison operators.
const (
	OpEq          Op = "="
	OpEqEq        Op = "=="
	OpNe          Op = "!="
	OpLt          Op = "<"
	OpLe          Op = "<="
	OpGt          Op = ">"
	OpGe          Op = ">="
	OpContains    Op = "contains"
	OpIContains   Op = "icontains"
	OpBContains   Op = "bcontains"
	OpStartsWith  Op = "startswith"
	OpBStartsWith Op = "bstartswith"
	OpEndsWith    Op = "endswith"
	OpGlob        Op = "glob"
	OpIGlob       Op = "iglob"
	OpRegex       Op = "regex"
	OpIn          Op = "in"
	OpIntersects  Op = "intersects"
	OpPmatch      Op = "pmatch"
	OpExists      Op = "exists"
)

// Modifier is an operator modifier (Falco 0.44): none, oneof, anyof, allof.
type Modifier string

// The operator modifiers.
const (
	ModNone  Modifier = ""
	ModOneOf Modifier = "oneof"
	ModAnyOf Modifier = "anyof"
	ModAllOf Modifier = "allof"
)

// Compare is one check: Left Op [Mod] Right. Right is nil for `exists`.
// Left is a [*Field] or a [*Transform]. Right is a [*Literal], a [*List]
// (for list operators and modifiers), a [*ValRef] or a [*Transform].
type Compare struct {
	Pos   Pos
	Left  Operand
	Op    Op
	Mod   Modifier
	Right Operand
}

// Field is a field reference, `name` or `name[arg]`. For dotted argument
// forms such as `evt.arg.flags` the parser keeps the whole name; splitting
// it into field and argument is the catalog's job.
type Field struct {
	Pos    Pos
	Name   string
	Arg    string
	HasArg bool
}

// Transform is a field transformer call such as `tolower(proc.name)` or
// `getopt(proc.args, "a:")[a]`.
type Transform struct {
	Pos      Pos
	Name     string // tolower, toupper, b64, basename, len, join, concat, getopt
	Args     []Operand
	Index    string // the optional `[arg]` after the call
	HasIndex bool
}

// ValRef is `val(field)` on the right-hand side: compare with another field.
type ValRef struct {
	Pos   Pos
	Field *Field
}

// Literal is a quoted or bare string or a number, with escapes resolved.
type Literal struct {
	Pos    Pos
	Value  string
	Quoted bool
}

// List is a parenthesised list of values: `(a, "b c", 3)`. Inside
// transformer arguments items may also be fields or transformers.
// A bare identifier used as a list (`in my_list`) is a List with Name set
// and no Items; the rules loader normally substitutes lists before parsing.
type List struct {
	Pos   Pos
	Items []Operand
	Name  string
}

func (n *And) Position() Pos       { return n.Pos }
func (n *Or) Position() Pos        { return n.Pos }
func (n *Not) Position() Pos       { return n.Pos }
func (n *Ident) Position() Pos     { return n.Pos }
func (n *Compare) Position() Pos   { return n.Pos }
func (n *Field) Position() Pos     { return n.Pos }
func (n *Transform) Position() Pos { return n.Pos }
func (n *ValRef) Position() Pos    { return n.Pos }
func (n *Literal) Position() Pos   { return n.Pos }
func (n *List) Position() Pos      { return n.Pos }

func (*And) exprNode()     {}
func (*Or) exprNode()      {}
func (*Not) exprNode()     {}
func (*Ident) exprNode()   {}
func (*Compare) exprNode() {}

func (*Field) operandNode()     {}
func (*Transform) operandNode() {}
func (*ValRef) operandNode()    {}
func (*Literal) operandNode()   {}
func (*List) operandNode()      {}
