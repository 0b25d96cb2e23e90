package syntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetOrigin checks that a tree parsed with origin 0 and then given
// origin 7 by SetOrigin equals, positions included, the tree Parse
// returns with Options.Origin 7: for every accepted case and every
// condition of the project's rule files. Every node type that holds a Pos
// occurs in these inputs, so a node the walker misses shows as a Pos
// with origin 0.
func TestSetOrigin(t *testing.T) {
	srcs := map[string]string{}
	for _, c := range acceptCases {
		srcs["case: "+c.in] = c.in
	}
	for name, src := range ruleConditions(t) {
		srcs[name] = src
	}
	seen := map[string]bool{}
	for name, src := range srcs {
		want, err := Parse(src, &Options{Origin: 7})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := Parse(src, &Options{Origin: 0})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cmp.Equal(got, want) {
			t.Fatalf("%s: the origin does not show in the tree: the comparison would check nothing", name)
		}
		SetOrigin(got, 7)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: SetOrigin(7) differs from Parse with Origin 7 (-want +got):\n%s", name, d)
		}
		countNodes(got, seen)
	}
	for _, kind := range []string{"And", "Or", "Not", "Ident", "Compare", "Field", "Transform", "ValRef", "Literal", "List"} {
		if !seen[kind] {
			t.Errorf("no %s node in the inputs: SetOrigin is not checked on it", kind)
		}
	}
	SetOrigin(nil, 3) // no panic
}

// countNodes records the node types of the tree rooted at n.
func countNodes(n Node, seen map[string]bool) {
	switch n := n.(type) {
	case *And:
		seen["And"] = true
		for _, t := range n.Terms {
			countNodes(t, seen)
		}
	case *Or:
		seen["Or"] = true
		for _, t := range n.Terms {
			countNodes(t, seen)
		}
	case *Not:
		seen["Not"] = true
		countNodes(n.X, seen)
	case *Ident:
		seen["Ident"] = true
	case *Compare:
		seen["Compare"] = true
		countNodes(n.Left, seen)
		if n.Right != nil {
			countNodes(n.Right, seen)
		}
	case *Field:
		seen["Field"] = true
	case *Transform:
		seen["Transform"] = true
		for _, a := range n.Args {
			countNodes(a, seen)
		}
	case *ValRef:
		seen["ValRef"] = true
		countNodes(n.Field, seen)
	case *Literal:
		seen["Literal"] = true
	case *List:
		seen["List"] = true
		for _, it := range n.Items {
			countNodes(it, seen)
		}
	}
}
