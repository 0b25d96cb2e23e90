package syntax

import "fmt"

// DefaultMaxDepth is the nesting limit of [Parse] when Options.MaxDepth is 0.
const DefaultMaxDepth = 1000

// Options tune [Parse]. A nil *Options means the defaults.
type Options struct {
	// MaxDepth bounds the nesting of expressions; 0 means DefaultMaxDepth.
	MaxDepth int
	// Origin is copied into every Pos of the result (see [Pos]).
	Origin int
}

// Error is a condition syntax error at a position of the condition text.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg) }

// Parse parses a condition. It returns exactly one of an expression or an
// error; on error, the error is a *Error.
func Parse(src string, opts *Options) (Expr, error) {
	return nil, &Error{Pos: Pos{Line: 1, Column: 1}, Msg: "parser not implemented yet"}
}
