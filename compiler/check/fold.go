package check

import "github.com/falcoc/falcoc/compiler/syntax"

// Fold returns e with constants folded. It never modifies e: folded nodes
// are new, unchanged subtrees are shared.
//
//   - evt.num = 0 becomes false; evt.num > 0 and evt.num >= 0 become true;
//   - evt.dir = '<' becomes true and evt.dir = '>' false (only exit events
//     are delivered), and the reverse for !=;
//   - and/or drop neutral constants and collapse on absorbing ones
//     (false in an and, true in an or); one remaining term replaces the
//     node, and no terms leave the neutral constant;
//   - not of a constant is the other constant, and not not x is x.
func Fold(e Expr) Expr {
	switch n := e.(type) {
	case *And:
		return foldTerms(n, n.Pos, n.Terms, true)
	case *Or:
		return foldTerms(n, n.Pos, n.Terms, false)
	case *Not:
		x := Fold(n.X)
		switch v := x.(type) {
		case *Const:
			return &Const{Pos: n.Pos, Value: !v.Value}
		case *Not:
			return v.X
		}
		if x == n.X {
			return n
		}
		return &Not{Pos: n.Pos, X: x}
	case *Cmp:
		if v, ok := evtNumConst(n); ok {
			return &Const{Pos: n.Pos, Value: v}
		}
		if v, ok := evtDirConst(n); ok {
			return &Const{Pos: n.Pos, Value: v}
		}
	}
	return e
}

// foldTerms folds an and (isAnd) or an or.
func foldTerms(orig Expr, pos syntax.Pos, terms []Expr, isAnd bool) Expr {
	out := make([]Expr, 0, len(terms))
	changed := false
	for _, t := range terms {
		f := Fold(t)
		if f != t {
			changed = true
		}
		if k, ok := f.(*Const); ok {
			if k.Value != isAnd { // false in an and, true in an or
				return &Const{Pos: pos, Value: k.Value}
			}
			changed = true
			continue
		}
		out = append(out, f)
	}
	switch {
	case len(out) == 0:
		return &Const{Pos: pos, Value: isAnd}
	case len(out) == 1:
		return out[0]
	case !changed:
		return orig
	case isAnd:
		return &And{Pos: pos, Terms: out}
	}
	return &Or{Pos: pos, Terms: out}
}

// evtDirConst folds evt.dir comparisons: only exit events ('<') exist.
func evtDirConst(c *Cmp) (value, ok bool) {
	l := c.Left
	if l == nil || l.Kind != OperandField || l.Field == nil || l.Field.Name != "evt.dir" || c.Right != nil ||
		c.Mod != syntax.ModNone || len(c.Values) != 1 {
		return false, false
	}
	var isExit bool
	switch c.Values[0].Text {
	case "<":
		isExit = true
	case ">":
	default:
		return false, false
	}
	switch c.Op {
	case syntax.OpEq, syntax.OpEqEq:
		return isExit, true
	case syntax.OpNe:
		return !isExit, true
	}
	return false, false
}
