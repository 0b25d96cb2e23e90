package prefilter

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/plan"
)

// TestFitMaskNumbering: three families of 128 clauses on the syscall
// pairs {1,2}, {2,3} and {1,3} fit the mask on every syscall (256 each),
// but cannot be numbered per syscall (the third family finds no bit free
// on both of its syscalls): fitMask must fold further until they can, and
// never give two clauses on one syscall the same bit.
func TestFitMaskNumbering(t *testing.T) {
	p := &planner{byText: map[string]int{}}
	out := &plan.Plan{}
	var cls []*clause
	for f, sys := range [][]int{{1, 2}, {2, 3}, {1, 3}} {
		for i := range 128 {
			r := f*128 + i
			out.Rules = append(out.Rules, plan.RulePlan{Name: "r"})
			cls = append(cls, &clause{sys: sys, dims: map[plan.Dim][]conj{}, rules: []int{r}})
		}
	}
	folded, bits := p.fitMask(cls, out)
	if len(folded) != len(bits) || len(folded) == len(cls) {
		t.Fatalf("%d clauses, %d bits: want fewer than %d clauses", len(folded), len(bits), len(cls))
	}
	seen := map[[2]int]bool{}
	rules := map[int]bool{}
	for i, c := range folded {
		if bits[i] < 0 || bits[i] >= plan.MaskBits {
			t.Fatalf("clause %d: bit %d", i, bits[i])
		}
		for _, s := range c.sys {
			if seen[[2]int{s, bits[i]}] {
				t.Fatalf("two clauses with bit %d on syscall %d", bits[i], s)
			}
			seen[[2]int{s, bits[i]}] = true
		}
		for _, r := range c.rules {
			rules[r] = true
		}
	}
	if len(rules) != len(cls) {
		t.Errorf("%d rules kept a clause, want %d", len(rules), len(cls))
	}
	t.Logf("%d clauses folded into %d; notes %q", len(cls), len(folded), p.notes)
}
