package check

import (
	"math/bits"
	"slices"
	"sync"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// MaxEventTypes is the size above which a rule's event-type set earns
// Falco's LOAD_NO_EVTTYPE warning (see [Condition.TooManyEventTypes]).
const MaxEventTypes = 100

// universe is the sorted list of every event type name of the catalog.
var universe = sync.OnceValues(func() ([]string, map[string]int) {
	seen := map[string]bool{}
	var names []string
	for _, e := range catalog.Events() {
		if !seen[e.Name] {
			seen[e.Name] = true
			names = append(names, e.Name)
		}
	}
	slices.Sort(names)
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	return names, idx
})

// EventTypeCount returns the number of distinct event types (evt.type
// values) the catalog knows: the size of the set of a condition that does
// not constrain evt.type.
func EventTypeCount() int {
	n, _ := universe()
	return len(n)
}

// evtSet is a set of event types, a bit per universe index.
type evtSet []uint64

func newSet() evtSet {
	n, _ := universe()
	return make(evtSet, (len(n)+63)/64)
}

func fullSet() evtSet {
	s := newSet()
	n, _ := universe()
	for i := range n {
		s[i/64] |= 1 << (i % 64)
	}
	return s
}

func (s evtSet) and(o evtSet) {
	for i := range s {
		s[i] &= o[i]
	}
}

func (s evtSet) or(o evtSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

func (s evtSet) complement() {
	f := fullSet()
	for i := range s {
		s[i] = ^s[i] & f[i]
	}
}

func (s evtSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s evtSet) names() []string {
	all, _ := universe()
	out := []string{}
	for i, n := range all {
		if s[i/64]&(1<<(i%64)) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// inferEventTypes computes the event types for which e can be true, with
// Falco's algorithm (§3.3): and intersects, or unites, not is pushed to the
// leaves by De Morgan, an evt.type comparison with = == != in gives an
// explicit set (complemented when negated), evt.num = 0 is never true,
// evt.num > 0 and evt.num >= 0 are always true, and every other comparison
// may be true for every event type. It returns nil for "every type" and an
// empty, non-nil slice for "none".
func inferEventTypes(e Expr) []string {
	s := infer(e, false)
	if n := s.count(); n == EventTypeCount() {
		return nil
	}
	return s.names()
}

func infer(e Expr, neg bool) evtSet {
	switch n := e.(type) {
	case *And:
		return inferTerms(n.Terms, neg, !neg)
	case *Or:
		return inferTerms(n.Terms, neg, neg)
	case *Not:
		return infer(n.X, !neg)
	case *Const:
		if n.Value != neg {
			return fullSet()
		}
		return newSet()
	case *Cmp:
		if set, ok := evtTypeSet(n); ok {
			if neg {
				set.complement()
			}
			return set
		}
		if v, ok := evtNumConst(n); ok {
			if v != neg {
				return fullSet()
			}
			return newSet()
		}
	}
	return fullSet()
}

// inferTerms combines the terms' sets by intersection (intersect true) or
// union.
func inferTerms(terms []Expr, neg, intersect bool) evtSet {
	var acc evtSet
	for _, t := range terms {
		s := infer(t, neg)
		switch {
		case acc == nil:
			acc = s
		case intersect:
			acc.and(s)
		default:
			acc.or(s)
		}
	}
	if acc == nil {
		return fullSet()
	}
	return acc
}

// isEvtType reports whether c compares the plain evt.type field.
func isEvtType(c *Cmp) bool {
	l := c.Left
	return l != nil && l.Kind == OperandField && l.Field != nil && l.Field.Name == "evt.type" && !l.HasArg && c.Right == nil
}

// evtTypeSet returns the set of event types for which c is true, when c is
// an evt.type comparison the inference understands.
func evtTypeSet(c *Cmp) (evtSet, bool) {
	if !isEvtType(c) {
		return nil, false
	}
	var negate bool
	switch {
	case c.Mod == syntax.ModNone && (c.Op == syntax.OpEq || c.Op == syntax.OpEqEq || c.Op == syntax.OpIn):
	case c.Mod == syntax.ModNone && c.Op == syntax.OpNe:
		negate = true
	case c.Mod == syntax.ModAnyOf && (c.Op == syntax.OpEq || c.Op == syntax.OpEqEq):
	case c.Mod == syntax.ModAllOf && c.Op == syntax.OpNe:
		negate = true
	default:
		return nil, false
	}
	_, idx := universe()
	s := newSet()
	for _, v := range c.Values {
		if i, ok := idx[v.Text]; ok {
			s[i/64] |= 1 << (i % 64)
		}
	}
	if negate {
		s.complement()
	}
	return s, true
}

// evtNumConst returns the constant value of the evt.num comparisons with a
// known outcome: evt.num = 0 is false (event numbers start at 1), and
// evt.num > 0 and evt.num >= 0 are true.
func evtNumConst(c *Cmp) (value, ok bool) {
	l := c.Left
	if l == nil || l.Kind != OperandField || l.Field == nil || l.Field.Name != "evt.num" || c.Right != nil ||
		c.Mod != syntax.ModNone || len(c.Values) != 1 || c.Values[0].Uint != 0 {
		return false, false
	}
	switch c.Op {
	case syntax.OpEq, syntax.OpEqEq:
		return false, true
	case syntax.OpGt, syntax.OpGe:
		return true, true
	}
	return false, false
}
