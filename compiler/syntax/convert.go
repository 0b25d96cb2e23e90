package syntax

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// This file turns participle's grammar structs into the AST and builds the
// error messages for unexpected tokens.

var identRE = regexp.MustCompile(`^` + reIdent + `$`)

func (p *parser) at(lp lexer.Position) Pos { return p.pos(lp.Offset) }

func (p *parser) orExpr(g *orExpr) (Expr, error) {
	head, err := p.andExpr(g.Head)
	if err != nil || len(g.Tail) == 0 {
		return head, err
	}
	terms := make([]Expr, 0, 1+len(g.Tail))
	terms = append(terms, head)
	for _, t := range g.Tail {
		x, err := p.andExpr(t.And)
		if err != nil {
			return nil, err
		}
		terms = append(terms, x)
	}
	return &Or{Pos: head.Position(), Terms: terms}, nil
}

func (p *parser) andExpr(g *andExpr) (Expr, error) {
	head, err := p.notExpr(g.Head)
	if err != nil || len(g.Tail) == 0 {
		return head, err
	}
	terms := make([]Expr, 0, 1+len(g.Tail))
	terms = append(terms, head)
	for _, t := range g.Tail {
		x, err := p.notExpr(t.Not)
		if err != nil {
			return nil, err
		}
		terms = append(terms, x)
	}
	return &And{Pos: head.Position(), Terms: terms}, nil
}

// notExpr applies the negations: like Falco, each `not` toggles, so an even
// number of them leaves the operand as it is.
func (p *parser) notExpr(g *notExpr) (Expr, error) {
	x, err := p.check(g.Check)
	if err != nil {
		return nil, err
	}
	if len(g.Nots)%2 == 1 {
		return &Not{Pos: p.at(g.Pos), X: x}, nil
	}
	return x, nil
}

func (p *parser) check(g *check) (Expr, error) {
	switch {
	case g.Paren != nil:
		return p.orExpr(g.Paren)
	case g.Cmp != nil:
		return p.comparison(g.Cmp)
	default:
		return &Ident{Pos: p.at(g.Pos), Name: g.Ident}, nil
	}
}

func (p *parser) comparison(g *comparison) (Expr, error) {
	c := &Compare{Pos: p.at(g.Pos)}
	var err error
	if g.Trans != nil {
		c.Left, err = p.transformer(g.Trans)
	} else {
		c.Left, err = p.field(g.Field)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case g.Exists:
		c.Op = OpExists
	case g.NumOp != "":
		c.Op = Op(g.NumOp)
		c.Right, err = p.numRHS(g.NumR)
	case g.StrOp != "":
		c.Op = Op(g.StrOp)
		if g.Mod != "" {
			c.Mod = Modifier(g.Mod)
			c.Right = p.modRHS(g.ModR)
		} else {
			c.Right, err = p.strRHS(g.StrR)
		}
	default:
		c.Op = Op(g.ListOp)
		c.Right, err = p.listRHS(g.ListR)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) numRHS(g *numRHS) (Operand, error) {
	switch {
	case g.Trans != nil:
		return p.transformer(g.Trans)
	case g.Val != nil:
		return p.valRef(g.Val)
	default:
		return &Literal{Pos: p.at(g.Pos), Value: *g.Num}, nil
	}
}

func (p *parser) strRHS(g *strRHS) (Operand, error) {
	switch {
	case g.Trans != nil:
		return p.transformer(g.Trans)
	case g.Val != nil:
		return p.valRef(g.Val)
	case g.Quoted != nil:
		return p.quoted(g.Pos, *g.Quoted), nil
	default:
		return &Literal{Pos: p.at(g.Pos), Value: *g.Bare}, nil
	}
}

func (p *parser) modRHS(g *modRHS) Operand {
	if g.List != nil {
		return p.list(g.List)
	}
	return &List{Pos: p.at(g.Pos), Name: *g.Name}
}

func (p *parser) listRHS(g *listRHS) (Operand, error) {
	switch {
	case g.List != nil:
		return p.list(g.List), nil
	case g.Trans != nil:
		return p.transformer(g.Trans)
	case g.Val != nil:
		return p.valRef(g.Val)
	default:
		if !identRE.MatchString(*g.Name) {
			return nil, p.errorf(g.Pos.Offset, "unexpected token %s, expecting a list or a list name", describe(*g.Name))
		}
		return &List{Pos: p.at(g.Pos), Name: *g.Name}, nil
	}
}

func (p *parser) list(g *listValue) *List {
	l := &List{Pos: p.at(g.Pos), Items: make([]Operand, 0, len(g.Items))}
	for _, it := range g.Items {
		if it.Quoted != nil {
			l.Items = append(l.Items, p.quoted(it.Pos, *it.Quoted))
		} else {
			l.Items = append(l.Items, &Literal{Pos: p.at(it.Pos), Value: *it.Bare})
		}
	}
	return l
}

func (p *parser) quoted(lp lexer.Position, tok string) *Literal {
	v, _ := unquote(tok) // the lexer retypes tokens with bad escapes
	return &Literal{Pos: p.at(lp), Value: v, Quoted: true}
}

func (p *parser) field(g *field) (*Field, error) {
	f := &Field{Pos: p.at(g.Pos), Name: g.Name}
	if g.Arg != nil {
		arg, err := p.fieldArg(g.Arg)
		if err != nil {
			return nil, err
		}
		f.Arg, f.HasArg = arg, true
	}
	return f, nil
}

// fieldArg returns the text of `[arg]`, which must follow the field name
// or the transformer call without a blank.
func (p *parser) fieldArg(g *fieldArg) (string, error) {
	if i := p.index(g.Pos.Offset); i > 0 {
		prev := p.toks[i-1]
		if prev.Pos.Offset+len(prev.Value) != g.Pos.Offset {
			return "", p.errorf(g.Pos.Offset, "unexpected blank before '['")
		}
	}
	if g.Quoted != nil {
		v, _ := unquote(*g.Quoted)
		return v, nil
	}
	return *g.Bare, nil
}

func (p *parser) transformer(g *fieldTransformer) (*Transform, error) {
	t := &Transform{Pos: p.at(g.Pos), Name: strings.TrimSuffix(g.Name, "("), Args: make([]Operand, 0, len(g.Args))}
	for _, a := range g.Args {
		var (
			x   Operand
			err error
		)
		switch {
		case a.Trans != nil:
			x, err = p.transformer(a.Trans)
		case a.Field != nil:
			x, err = p.field(a.Field)
		case a.Quoted != nil:
			x = p.quoted(a.Pos, *a.Quoted)
		case a.Num != nil:
			x = &Literal{Pos: p.at(a.Pos), Value: *a.Num}
		default:
			x, err = p.transformerList(a.List)
		}
		if err != nil {
			return nil, err
		}
		t.Args = append(t.Args, x)
	}
	if g.Index != nil {
		idx, err := p.fieldArg(g.Index)
		if err != nil {
			return nil, err
		}
		t.Index, t.HasIndex = idx, true
	}
	return t, nil
}

func (p *parser) transformerList(g *transformerList) (*List, error) {
	l := &List{Pos: p.at(g.Pos), Items: make([]Operand, 0, len(g.Items))}
	for _, a := range g.Items {
		var (
			x   Operand
			err error
		)
		switch {
		case a.Trans != nil:
			x, err = p.transformer(a.Trans)
		case a.Field != nil:
			x, err = p.field(a.Field)
		case a.Quoted != nil:
			x = p.quoted(a.Pos, *a.Quoted)
		default:
			x = &Literal{Pos: p.at(a.Pos), Value: *a.Num}
		}
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, x)
	}
	return l, nil
}

func (p *parser) valRef(g *valRef) (*ValRef, error) {
	f, err := p.field(g.Field)
	if err != nil {
		return nil, err
	}
	return &ValRef{Pos: p.at(g.Pos), Field: f}, nil
}

// unexpected builds the error for the unexpected token at index i.
func (p *parser) unexpected(i int) *Error {
	syms := lexDef.symbols
	t := p.toks[i]
	switch t.Type {
	case syms["Unterminated"]:
		return p.errorf(t.Pos.Offset, "unterminated quoted string")
	case syms[symBadQuote]:
		_, bad := unquote(t.Value)
		return p.errorf(t.Pos.Offset+bad, "unsupported string escape sequence")
	case syms["BadKeyword"]:
		return p.errorf(t.Pos.Offset+len(t.Value), "expected blank or '(' after '%s'", t.Value)
	}
	what := "end of input"
	if !t.EOF() {
		what = "token " + describe(t.Value)
	}
	return p.errorf(t.Pos.Offset, "unexpected %s, expecting %s", what, p.expecting(i))
}

// describe quotes a token's text for an error message.
func describe(v string) string {
	if utf8.RuneCountInString(v) > 24 {
		r := []rune(v)
		v = string(r[:24]) + "..."
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\'' || r == utf8.RuneError {
			return strconv.Quote(v)
		}
	}
	return "'" + v + "'"
}

// What may come at the start of a check, and after the end of one.
const (
	expectCheck = "a field, a transformer, a macro name, 'not' or '('"
	expectTArg  = "a field, a transformer, a quoted string, a number or a list"
)

// expecting says what the grammar accepts at token i, from the token
// before it and the parenthesis around it.
func (p *parser) expecting(i int) string {
	syms := lexDef.symbols
	ctx := p.ctx[i]
	if i == 0 {
		return expectCheck
	}
	prev := p.toks[i-1]
	switch prev.Type {
	case syms["And"], syms["Or"], syms["Not"]:
		return expectCheck
	case syms["LParen"]:
		switch ctx {
		case ctxList:
			return "a value or ')'"
		case ctxTList:
			return "a field, a transformer, a quoted string, a number or ')'"
		default:
			return expectCheck
		}
	case syms["StrOp"]:
		return "a value, a transformer or val()"
	case syms["NumOp"]:
		return "a number, a transformer or val()"
	case syms["ListOp"]:
		return "a list, a list name, a transformer or val()"
	case syms[symMod]:
		return "a list or a list name"
	case syms["TransStart"]:
		return expectTArg
	case syms["ValStart"]:
		return "a field"
	case syms["LBracket"]:
		return "a field argument"
	case syms["Comma"]:
		switch ctx {
		case ctxList:
			return "a value"
		case ctxTList:
			return "a field, a transformer, a quoted string or a number"
		}
		return expectTArg
	}
	if i >= 2 && p.toks[i-2].Type == syms["LBracket"] {
		return "']'"
	}
	switch ctx {
	case ctxList, ctxTList:
		return "',' or ')'"
	case ctxCall:
		if p.inValRef(i) {
			return "')'"
		}
		return "',' or ')'"
	}
	if !p.afterOperator(i) {
		return "an operator"
	}
	if ctx == ctxGroup {
		return fmt.Sprintf("'and', 'or' or ')' after %s", describe(prev.Value))
	}
	return fmt.Sprintf("'and' or 'or' after %s", describe(prev.Value))
}

// afterOperator reports whether an operator (or a macro name) comes between
// the start of the current check and token i: whether the check can end.
func (p *parser) afterOperator(i int) bool {
	syms := lexDef.symbols
	for j := i - 1; j >= 0; j-- {
		switch p.toks[j].Type {
		case syms["StrOp"], syms["NumOp"], syms["ListOp"], syms["Exists"], syms[symMod], syms["Ident"]:
			return true
		case syms["And"], syms["Or"], syms["Not"]:
			return false
		case syms["LParen"]:
			if p.ctx[j+1] == ctxGroup {
				return false
			}
		}
	}
	return false
}

// inValRef reports whether token i is directly inside val(...).
func (p *parser) inValRef(i int) bool {
	syms := lexDef.symbols
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch p.toks[j].Type {
		case syms["RParen"]:
			depth++
		case syms["LParen"], syms["TransStart"]:
			if depth == 0 {
				return false
			}
			depth--
		case syms["ValStart"]:
			if depth == 0 {
				return true
			}
			depth--
		}
	}
	return false
}
