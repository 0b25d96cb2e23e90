package syntax

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// DefaultMaxDepth is the nesting limit of [Parse] when Options.MaxDepth is 0.
const DefaultMaxDepth = 1000

// maxDepthCap bounds Options.MaxDepth whatever the caller asks, so that no
// input can exhaust the goroutine stack.
const maxDepthCap = 20000

// Options tune [Parse]. A nil *Options means the defaults. Parse does not
// modify or keep the Options.
type Options struct {
	// MaxDepth bounds the nesting of parentheses (groups, not(...), lists
	// and transformer calls); 0 means DefaultMaxDepth. Values above 20000
	// are treated as 20000.
	MaxDepth int
	// Origin is copied into every Pos of the result (see [Pos]).
	Origin int
}

// Error is a condition syntax error at a position of the condition text.
// Msg is the bare message; Error() prefixes it with "line:column: ".
// An Error is a plain value, safe to share once returned.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg) }

// Caret returns the line of src that holds the error and, under it, a line
// with a caret under the error's column:
//
//	proc.name = a b
//	              ^
//
// The caret line has one blank per character before the column (tabs are
// kept), so that the caret lines up in a terminal. The result has no
// trailing newline.
func (e *Error) Caret(src string) string {
	off := e.Pos.Offset
	if off < 0 {
		off = 0
	}
	if off > len(src) {
		off = len(src)
	}
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += off
	}
	line := strings.TrimSuffix(src[start:end], "\r")
	var caret strings.Builder
	for _, r := range src[start:off] {
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	caret.WriteByte('^')
	return line + "\n" + caret.String()
}

// Parse parses a condition. It returns exactly one of an expression or an
// error; on error, the error is a *Error.
//
// Parse is safe for concurrent use.
func Parse(src string, opts *Options) (Expr, error) {
	p := &parser{src: src, maxDepth: DefaultMaxDepth}
	if opts != nil {
		p.origin = opts.Origin
		if opts.MaxDepth > 0 {
			p.maxDepth = opts.MaxDepth
		}
	}
	if p.maxDepth > maxDepthCap {
		p.maxDepth = maxDepthCap
	}
	e, err := p.parse()
	if err != nil {
		return nil, err
	}
	return e, nil
}

// parser holds the state of one Parse call.
type parser struct {
	src      string
	origin   int
	maxDepth int
	lines    []int // byte offsets of line starts
	toks     []lexer.Token
	ctx      []context // the innermost parenthesis around each token
}

// context is the kind of the innermost open parenthesis.
type context uint8

const (
	ctxTop   context = iota // not inside any parenthesis
	ctxGroup                // ( Expr )
	ctxCall                 // a transformer call or val(
	ctxList                 // a value list after an operator or modifier
	ctxTList                // a list inside transformer arguments
)

func (p *parser) parse() (Expr, error) {
	p.lines = append(p.lines, 0)
	for i := 0; i < len(p.src); i++ {
		if p.src[i] == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	if p.src == "" {
		return nil, p.errorf(0, "filter input string is empty")
	}
	if err := p.lex(); err != nil {
		return nil, err
	}
	plex, err := lexer.Upgrade(&sliceLexer{toks: p.toks})
	if err != nil {
		return nil, p.errorf(0, "%v", err)
	}
	g, err := grammar.ParseFromLexer(plex)
	if err != nil {
		return nil, p.convertError(err)
	}
	return p.orExpr(g)
}

// sliceLexer replays lexed tokens.
type sliceLexer struct {
	toks []lexer.Token
	i    int
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	t := l.toks[l.i]
	if l.i < len(l.toks)-1 {
		l.i++
	}
	return t, nil
}

// lex runs the lexer to the end, checks the nesting depth and records the
// parenthesis context of every token. The last token is EOF.
func (p *parser) lex() error {
	l, err := lexDef.LexString("", p.src)
	if err != nil {
		return p.errorf(0, "%v", err)
	}
	syms := lexDef.symbols
	stack := []context{}
	prev := lexer.TokenType(0)
	for {
		t, err := l.Next()
		if err != nil {
			var lerr *lexer.Error
			if errors.As(err, &lerr) {
				return p.errorf(lerr.Pos.Offset, "%s", lerr.Msg)
			}
			return p.errorf(len(p.src), "%v", err)
		}
		cur := ctxTop
		if len(stack) > 0 {
			cur = stack[len(stack)-1]
		}
		p.toks = append(p.toks, t)
		p.ctx = append(p.ctx, cur)
		if t.EOF() {
			return nil
		}
		var open context
		switch t.Type {
		case syms["TransStart"], syms["ValStart"]:
			open = ctxCall
		case syms["LParen"]:
			switch {
			case prev == syms["ListOp"] || prev == syms[symMod]:
				open = ctxList
			case cur == ctxCall || cur == ctxTList:
				open = ctxTList
			default:
				open = ctxGroup
			}
		case syms["RParen"]:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
		if open != ctxTop {
			stack = append(stack, open)
			if len(stack) > p.maxDepth {
				return p.errorf(t.Pos.Offset, "exceeded max depth limit of %d", p.maxDepth)
			}
		}
		prev = t.Type
	}
}

// index returns the index of the token at byte offset off.
func (p *parser) index(off int) int {
	i := sort.Search(len(p.toks), func(i int) bool { return p.toks[i].Pos.Offset >= off })
	if i >= len(p.toks) {
		return len(p.toks) - 1
	}
	return i
}

// pos converts a byte offset to a Pos.
func (p *parser) pos(off int) Pos {
	line := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	return Pos{Offset: off, Line: line + 1, Column: off - p.lines[line] + 1, Origin: p.origin}
}

func (p *parser) errorf(off int, format string, args ...any) *Error {
	return &Error{Pos: p.pos(off), Msg: fmt.Sprintf(format, args...)}
}

// convertError turns a participle error into a positioned *Error.
func (p *parser) convertError(err error) *Error {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		return p.unexpected(p.index(ute.Unexpected.Pos.Offset))
	}
	var perr participle.Error
	if errors.As(err, &perr) {
		return p.errorf(perr.Position().Offset, "%s", perr.Message())
	}
	return p.errorf(0, "%v", err)
}
