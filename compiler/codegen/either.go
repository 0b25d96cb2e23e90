package codegen

import (
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
)

// eitherFields are the fields that, in a condition, match when either end
// of the connection matches (Falco's fd.ip, fd.net and fd.port): a
// comparison on one is compiled as the same comparison on the client end
// or on the server end.
var eitherFields = map[string][2]string{
	"fd.ip":   {"fd.cip", "fd.sip"},
	"fd.net":  {"fd.cnet", "fd.snet"},
	"fd.port": {"fd.cport", "fd.sport"},
}

// expandEither rewrites comparisons whose left side is an either-end field
// into an Or of the two ends. Other nodes are returned unchanged (shared,
// never modified).
func expandEither(e check.Expr) check.Expr {
	switch n := e.(type) {
	case *check.And:
		return &check.And{Pos: n.Pos, Terms: expandTerms(n.Terms)}
	case *check.Or:
		return &check.Or{Pos: n.Pos, Terms: expandTerms(n.Terms)}
	case *check.Not:
		return &check.Not{Pos: n.Pos, X: expandEither(n.X)}
	case *check.Cmp:
		l := n.Left
		if l == nil || l.Kind != check.OperandField || l.Field == nil {
			return n
		}
		ends, ok := eitherFields[l.Field.Name]
		if !ok {
			return n
		}
		or := &check.Or{Pos: n.Pos}
		for _, name := range ends {
			f, _, _, ok := catalog.Lookup(name)
			if !ok {
				return n
			}
			lo := *l
			lo.Field, lo.Name = f, name
			c := *n
			c.Left = &lo
			or.Terms = append(or.Terms, &c)
		}
		return or
	}
	return e
}

func expandTerms(ts []check.Expr) []check.Expr {
	out := make([]check.Expr, len(ts))
	for i, t := range ts {
		out[i] = expandEither(t)
	}
	return out
}
