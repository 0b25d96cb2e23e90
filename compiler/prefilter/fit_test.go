package prefilter

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/plan"
)

// TestFitMaskNumbering: three families of half the widest mask's clauses
// on the syscall pairs {1,2}, {2,3} and {1,3} fit the widest mask on
// every syscall, but cannot be numbered per syscall (the third family
// finds no bit free on both of its syscalls) and are more than the widest
// mask holds: fitMask must fold until they can be numbered, and never
// give two clauses on one syscall the same bit.
func TestFitMaskNumbering(t *testing.T) {
	p := &planner{byText: map[string]int{}}
	out := &plan.Plan{}
	var cls []*clause
	const half = plan.MaskBitsMax / 2
	for f, sys := range [][]int{{1, 2}, {2, 3}, {1, 3}} {
		for i := range half {
			r := f*half + i
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
		if bits[i] < 0 || bits[i] >= plan.MaskBitsMax {
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

// TestFitMaskWidens: clauses that do not fit 256 bits get a wider mask,
// not folds: 300 clauses on one syscall each keep a bit of their own (a
// 512-bit mask), and 300 more on another syscall share those bits (bits
// are numbered per syscall) rather than widening further.
func TestFitMaskWidens(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sys       [][]int
		wantWidth int
	}{
		{"one syscall", [][]int{{1}}, 512},
		{"two syscalls", [][]int{{1}, {2}}, 512},
		{"shared syscall", [][]int{{1}, {1, 2}}, 768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &planner{byText: map[string]int{}}
			out := &plan.Plan{}
			var cls []*clause
			for _, sys := range tc.sys {
				for range 300 {
					out.Rules = append(out.Rules, plan.RulePlan{Name: "r"})
					cls = append(cls, &clause{sys: sys, dims: map[plan.Dim][]conj{}, rules: []int{len(out.Rules) - 1}})
				}
			}
			folded, bits := p.fitMask(cls, out)
			if len(folded) != len(cls) {
				t.Fatalf("%d clauses folded into %d, want none folded (notes %q)", len(cls), len(folded), p.notes)
			}
			if w := roundBits(maxBit(bits) + 1); w != tc.wantWidth {
				t.Errorf("a %d-bit mask, want %d (notes %q)", w, tc.wantWidth, p.notes)
			}
			seen := map[[2]int]bool{}
			for i, c := range folded {
				for _, s := range c.sys {
					if seen[[2]int{s, bits[i]}] {
						t.Fatalf("two clauses with bit %d on syscall %d", bits[i], s)
					}
					seen[[2]int{s, bits[i]}] = true
				}
			}
		})
	}
}
