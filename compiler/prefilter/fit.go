package prefilter

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/plan"
)

// Fitting the clauses to the mask.
//
// The kernel's mask has [plan.MaskBits] bits when the clauses fit, and
// grows with them, in steps of [plan.MaskBits], up to [plan.MaskBitsMax]
// (the planner picks the width, Tables.Words; the kernel's maps are sized
// from it). Bits are numbered per syscall: two clauses that share no
// syscall may have the same bit (see [plan.Plan]). So what must fit is
// the clauses of each syscall, not all of them: the connect clauses do
// not take bits from the openat ones. The narrowest width at which every
// clause gets a bit of its own on its syscalls, without a bit that voids
// a check (see colour), is taken; past [plan.MaskBitsMax] clauses are
// folded:
//
// When a syscall has more clauses than bits, clauses of one kind (the
// same syscalls and the same constrained dimensions) are folded: a folded
// clause is true wherever one of its parts is, per dimension the union of
// the parts' alternatives. Each kind gets a share of the bits of its most
// crowded syscall, in proportion to its size, and its clauses are grouped
// so that a fold mixes as few dimensions as it can: clauses that agree on
// every dimension but one fold exactly ((A and B1) or (A and B2) is A and
// (B1 or B2)), and a clause whose other dimensions no other clause shares
// (a default rule's narrow /etc read beside thousands of generated writes)
// keeps a bit of its own when the share allows it.

// fitMask numbers the clauses, folding them only when no mask of at most
// [plan.MaskBitsMax] bits holds them: bits[i] is cls[i]'s bit.
//
// When folding, numbering may have to give a clause a bit that voids a
// dimension check (see colour): then the syscalls of such clauses get a
// smaller budget and the clauses are folded again, a few times, and the
// attempt that voids the fewest clauses is kept (folding a few more
// clauses together narrows better than a check that passes every value).
func (p *planner) fitMask(cls []*clause, out *plan.Plan) ([]*clause, []int) {
	identity := func() []int {
		bits := make([]int, len(cls))
		for i := range bits {
			bits[i] = i
		}
		return bits
	}
	if len(cls) <= plan.MaskBits {
		return cls, identity()
	}
	n := len(cls)
	for width := roundBits(maxLoad(cls, false)); width <= plan.MaskBitsMax; width += plan.MaskBits {
		if width >= n {
			p.notes = append(p.notes, fmt.Sprintf("%d clauses: a %d-bit mask", n, roundBits(n)))
			return cls, identity()
		}
		if bits, ok, _, voided := colour(cls, width); ok && voided == 0 {
			p.notes = append(p.notes, fmt.Sprintf("%d clauses on %d bits: bits numbered per syscall (at most %d on one syscall), a %d-bit mask",
				n, maxBit(bits)+1, maxLoad(cls, false), roundBits(maxBit(bits)+1)))
			return cls, bits
		}
	}
	width := plan.MaskBitsMax
	type attempt struct {
		folded                []*clause
		bits                  []int
		voided                int
		merged, shared, exact []int
	}
	var best *attempt
	budget := map[int]int{} // per syscall; absent: width
	budgetOf := func(s int) int {
		if b, ok := budget[s]; ok {
			return b
		}
		return width
	}
	global := false
	for try := 0; best == nil || best.voided > 0 && try < 6; try++ {
		a := &attempt{merged: make([]int, len(out.Rules)), shared: make([]int, len(out.Rules)), exact: make([]int, len(out.Rules))}
		a.folded = p.foldTo(cls, budgetOf, global, width, a.merged, a.shared, a.exact)
		var ok bool
		var voidedOn map[int]int
		if global {
			// The last resort: every clause its own bit, as if all
			// were on one syscall.
			a.bits, ok = make([]int, len(a.folded)), true
			for i := range a.bits {
				a.bits[i] = i
			}
		} else {
			a.bits, ok, voidedOn, a.voided = colour(a.folded, width)
		}
		if !ok {
			// A clause found no bit free on all of its syscalls: fold
			// the crowded syscalls further, or give up numbering per
			// syscall.
			if best != nil {
				break
			}
			load := map[int]int{}
			for _, c := range a.folded {
				for _, s := range c.sys {
					load[s]++
				}
			}
			lowered := false
			for s, l := range load {
				if b := budgetOf(s); 2*l > b {
					budget[s] = b - max(1, b/16)
					lowered = true
					if budget[s] < width/4 {
						global = true
					}
				}
			}
			if !lowered || try > 64 {
				global = true // nothing left to fold per syscall
			}
			continue
		}
		if best == nil || a.voided < best.voided {
			best = a
		}
		// The syscalls whose clauses had a check voided get a quarter
		// fewer bits.
		for s := range voidedOn {
			if b := budgetOf(s); b > 16 {
				budget[s] = b - max(1, b/4)
			}
		}
	}
	a := best
	mask := fmt.Sprintf("the %d-bit mask", width)
	for r := range out.Rules {
		w := &out.Rules[r].Widened
		*w = append(*w, times(a.merged[r], "two clauses merged to fit "+mask)...)
		*w = append(*w, times(a.exact[r], "clause folded with other rules' clauses that differ from it in one dimension, to fit "+mask+" (the kernel's check is unchanged)")...)
		*w = append(*w, times(a.shared[r], "clause shared with other rules to fit "+mask)...)
	}
	if len(a.folded) == n {
		p.notes = append(p.notes, fmt.Sprintf("%d clauses on %d bits: bits numbered per syscall (at most %d on one syscall)",
			n, maxBit(a.bits)+1, maxLoad(a.folded, false)))
	} else {
		p.notes = append(p.notes, fmt.Sprintf("%d clauses folded into %d to fit the %d-bit mask (at most %d on one syscall)",
			n, len(a.folded), width, maxLoad(a.folded, false)))
	}
	if a.voided > 0 {
		p.notes = append(p.notes, fmt.Sprintf("%d clauses share their bit with a clause on other syscalls that leaves one of their dimensions unchecked", a.voided))
	}
	return a.folded, a.bits
}

// sysOf returns the syscalls a clause counts against: its own, or one
// for all when global.
func sysOf(c *clause, global bool) []int {
	if global {
		return []int{0}
	}
	return c.sys
}

// maxLoad returns the largest number of clauses on one syscall.
func maxLoad(cls []*clause, global bool) int {
	load := map[int]int{}
	best := 0
	for _, c := range cls {
		for _, s := range sysOf(c, global) {
			load[s]++
			best = max(best, load[s])
		}
	}
	return best
}

// roundBits returns the mask width for n bits: a multiple of
// [plan.MaskBits], at least that.
func roundBits(n int) int {
	return max(1, (n+plan.MaskBits-1)/plan.MaskBits) * plan.MaskBits
}

func maxBit(bits []int) int {
	m := -1
	for _, b := range bits {
		m = max(m, b)
	}
	return m
}

// colour gives each clause a bit free on all of its syscalls, in clause
// order, then (if that fails) clauses on more syscalls first. It reports
// false when some clause finds no free bit, and returns, per syscall,
// the clauses whose bit voids a check (see colourIn), and their number.
//
// Of the free bits it takes the one whose other clauses cost its
// narrowing the least. A clause sets its bit in every entry of a
// dimension its syscalls consult but it does not constrain (its "open"
// dimensions); so a bit shared by a clause that constrains the comm and
// one on another syscall whose comm is consulted but unconstrained would
// leave the first one's comm check void. Such pairs are avoided when a
// bit allows it, and pairs that constrain the same dimension (each one's
// values pass the other's check) come next.
func colour(cls []*clause, width int) ([]int, bool, map[int]int, int) {
	dims := make([]plan.Dim, len(cls)) // dimSet of each clause
	consulted := make([]plan.Dim, plan.NumSyscalls)
	for i, c := range cls {
		dims[i] = dimSet(c)
		for _, s := range c.sys {
			consulted[s] |= dims[i]
		}
	}
	open := make([]plan.Dim, len(cls))
	for i, c := range cls {
		for _, s := range c.sys {
			open[i] |= consulted[s]
		}
		open[i] &^= dims[i]
	}
	order := make([]int, len(cls))
	for i := range order {
		order[i] = i
	}
	if bits, ok, voided, n := colourIn(cls, dims, open, order, width); ok {
		return bits, true, voided, n
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(cls[b].sys) - len(cls[a].sys) })
	return colourIn(cls, dims, open, order, width)
}

// colourIn numbers the clauses in the given order; voided counts, per
// syscall, the clauses whose bit leaves one of their dimension checks
// void (a clause on other syscalls with the bit does not constrain the
// dimension there).
//
// dims[i] is dimSet(cls[i]); width is a multiple of 64.
func colourIn(cls []*clause, dims, open []plan.Dim, order []int, width int) ([]int, bool, map[int]int, int) {
	voided := map[int]int{}
	n := 0
	onBit := make([][]int, width)
	used := make([]plan.Mask, plan.NumSyscalls)
	// Per bit: the dimensions its clauses constrain, and those they
	// leave open.
	constr, opened := make([]plan.Dim, width), make([]plan.Dim, width)
	out := make([]int, len(cls))
	for _, i := range order {
		var u plan.Mask
		for _, s := range cls[i].sys {
			for w := range width / 64 {
				u[w] |= used[s][w]
			}
		}
		d := dims[i]
		b, best := -1, 0
		// The free bits in increasing order; the first of the least
		// cost wins, and cost 0 ends the search.
	search:
		for w := range width / 64 {
			for free := ^u[w]; free != 0; free &= free - 1 {
				x := w*64 + bits.TrailingZeros64(free)
				cost := 4*bits.OnesCount32(uint32(d&opened[x])) + 4*bits.OnesCount32(uint32(open[i]&constr[x])) +
					bits.OnesCount32(uint32(d&constr[x]))
				if b < 0 || cost < best {
					b, best = x, cost
				}
				if cost == 0 {
					break search
				}
			}
		}
		if b < 0 {
			return nil, false, nil, 0
		}
		// Either this clause's check is void (another clause with the
		// bit leaves the dimension open) or it voids earlier ones':
		// the syscalls of the clauses whose check is void are marked.
		if d&opened[b] != 0 {
			n++
			for _, s := range cls[i].sys {
				voided[s]++
			}
		}
		if open[i]&constr[b] != 0 {
			for _, j := range onBit[b] {
				if dims[j]&open[i] != 0 {
					n++
					for _, s := range cls[j].sys {
						voided[s]++
					}
				}
			}
		}
		onBit[b] = append(onBit[b], i)
		out[i] = b
		constr[b] |= d
		opened[b] |= open[i]
		for _, s := range cls[i].sys {
			used[s][b/64] |= 1 << (b % 64)
		}
	}
	return out, true, voided, n
}

// foldTo folds clauses of one kind together until no syscall has more
// than budget clauses (or, global, until no more than budget are left).
// It counts, per rule, the folds that merged only its own clauses
// (merged), that were exact (exact) and the others (shared).
func (p *planner) foldTo(cls []*clause, budgetOf func(int) int, global bool, width int, merged, shared, exact []int) []*clause {
	budget := func(s int) int {
		if global {
			return width
		}
		return budgetOf(s)
	}
	var order []string
	kinds := map[string][]int{}
	for i, c := range cls {
		k := sysKey(c.sys) + "/" + strconv.Itoa(int(dimSet(c)))
		if _, ok := kinds[k]; !ok {
			order = append(order, k)
		}
		kinds[k] = append(kinds[k], i)
	}
	// Per syscall: clauses and kinds.
	total, nkinds := map[int]int{}, map[int]int{}
	for _, k := range order {
		for _, s := range sysOf(cls[kinds[k][0]], global) {
			total[s] += len(kinds[k])
			nkinds[s]++
		}
	}
	// Each kind's share: on each crowded syscall, 1 + its part of the
	// bits the kinds leave, in proportion to its size; the least of them.
	share := make([]int, len(order))
	for i, k := range order {
		n := len(kinds[k])
		share[i] = n
		for _, s := range sysOf(cls[kinds[k][0]], global) {
			if total[s] <= budget(s) {
				continue
			}
			t := 1
			if g := nkinds[s]; g < budget(s) {
				t += (n - 1) * (budget(s) - g) / (total[s] - g)
			}
			share[i] = min(share[i], t)
		}
	}
	// The bits rounding left: one more at a time to the largest kinds
	// whose syscalls all have room.
	load := map[int]int{}
	for i, k := range order {
		for _, s := range sysOf(cls[kinds[k][0]], global) {
			load[s] += share[i]
		}
	}
	bySize := make([]int, len(order))
	for i := range bySize {
		bySize[i] = i
	}
	slices.SortStableFunc(bySize, func(a, b int) int { return len(kinds[order[b]]) - len(kinds[order[a]]) })
	for grew := true; grew; {
		grew = false
		for _, i := range bySize {
			if share[i] >= len(kinds[order[i]]) {
				continue
			}
			sys := sysOf(cls[kinds[order[i]][0]], global)
			room := true
			for _, s := range sys {
				if load[s] >= budget(s) {
					room = false
					break
				}
			}
			if !room {
				continue
			}
			share[i]++
			for _, s := range sys {
				load[s]++
			}
			grew = true
		}
	}

	type run struct {
		idx   []int
		exact bool
	}
	var runs []run
	for i, k := range order {
		idx := kinds[k]
		if share[i] >= len(idx) {
			for _, x := range idx {
				runs = append(runs, run{idx: []int{x}, exact: true})
			}
			continue
		}
		groups, free := p.groupKind(cls, idx, share[i])
		for _, g := range splitRuns(groups, share[i]) {
			runs = append(runs, run{idx: g, exact: free <= 1})
		}
	}
	slices.SortFunc(runs, func(a, b run) int { return a.idx[0] - b.idx[0] })
	out := make([]*clause, 0, len(runs))
	for _, r := range runs {
		if len(r.idx) == 1 {
			out = append(out, cls[r.idx[0]])
			continue
		}
		parts := make([]*clause, len(r.idx))
		for i, x := range r.idx {
			parts[i] = cls[x]
		}
		f, whole := p.fold(parts)
		switch {
		case len(f.rules) == 1:
			merged[f.rules[0]]++
		case r.exact && whole:
			for _, x := range f.rules {
				exact[x]++
			}
		default:
			for _, x := range f.rules {
				shared[x]++
			}
		}
		out = append(out, f)
	}
	return p.mergeCrowded(out, budget, global, shared)
}

// groupKind groups the clauses idx of one kind so that at most t groups
// are left, each group's clauses agreeing on every dimension but the
// fewest possible: it returns the groups (clauses in order) and how many
// dimensions the clauses of a group may differ in.
func (p *planner) groupKind(cls []*clause, idx []int, t int) ([][]int, int) {
	dims := sortedDims(cls[idx[0]].dims)
	keys := make([][]string, len(idx)) // keys[i][j]: alternatives of dims[j]
	if p.altKeys == nil {
		p.altKeys = map[*clause][]string{}
	}
	for i, x := range idx {
		// The same clauses are grouped again when fitMask refolds.
		if k, ok := p.altKeys[cls[x]]; ok {
			keys[i] = k
			continue
		}
		keys[i] = make([]string, len(dims))
		for j, d := range dims {
			keys[i][j] = altsKey(cls[x].dims[d])
		}
		p.altKeys[cls[x]] = keys[i]
	}
	group := func(free uint) [][]int {
		byKey := map[string]int{}
		var out [][]int
		var b strings.Builder
		for i, x := range idx {
			b.Reset()
			for j := range dims {
				if free&(1<<j) == 0 {
					b.WriteString(keys[i][j])
					b.WriteByte(';')
				}
			}
			g, ok := byKey[b.String()]
			if !ok {
				g = len(out)
				byKey[b.String()] = g
				out = append(out, nil)
			}
			out[g] = append(out[g], x)
		}
		return out
	}
	all := uint(1)<<len(dims) - 1
	for n := 0; n <= len(dims); n++ {
		var best [][]int
		for free := uint(0); free <= all; free++ {
			if bits.OnesCount(free) != n {
				continue
			}
			if g := group(free); len(g) <= t && len(g) > len(best) {
				best = g
			}
		}
		if best != nil {
			return best, n
		}
	}
	return [][]int{idx}, len(dims) // not reached: all free is one group
}

// splitRuns cuts groups into t runs: each group at least one, the rest
// in proportion to the groups' sizes; a group's runs are consecutive
// clauses.
func splitRuns(groups [][]int, t int) [][]int {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	g := len(groups)
	per := make([]int, g)
	left := t
	for i, gr := range groups {
		per[i] = 1
		if n > g {
			per[i] += (len(gr) - 1) * (t - g) / (n - g)
		}
		left -= per[i]
	}
	bySize := make([]int, g)
	for i := range bySize {
		bySize[i] = i
	}
	slices.SortStableFunc(bySize, func(a, b int) int { return len(groups[b]) - len(groups[a]) })
	for left > 0 {
		grew := false
		for _, i := range bySize {
			if left > 0 && per[i] < len(groups[i]) {
				per[i]++
				left--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	var out [][]int
	for i, gr := range groups {
		r := per[i]
		for k := range r {
			lo, hi := k*len(gr)/r, (k+1)*len(gr)/r
			if hi > lo {
				out = append(out, gr[lo:hi])
			}
		}
	}
	return out
}

// mergeCrowded is the last resort when a syscall has more kinds than
// bits: the last two clauses on the most crowded syscall are merged (a
// clause true wherever either is), again and again.
func (p *planner) mergeCrowded(cls []*clause, budget func(int) int, global bool, shared []int) []*clause {
	for {
		load := map[int]int{}
		for _, c := range cls {
			for _, s := range sysOf(c, global) {
				load[s]++
			}
		}
		// The syscall most over its budget (the lowest id on a tie).
		worst, over := -1, 0
		for s, n := range load {
			if o := n - budget(s); o > over || o == over && o > 0 && s < worst {
				worst, over = s, o
			}
		}
		if worst < 0 {
			return cls
		}
		var on []int
		for i, c := range cls {
			if global || slices.Contains(c.sys, worst) {
				on = append(on, i)
			}
		}
		// Merge pairs from the end until the syscall fits.
		for k := len(on) - 1; k > 0 && over > 0; k -= 2 {
			i, j := on[k-1], on[k]
			m := p.merge(cls[i], cls[j])
			for _, r := range m.rules {
				shared[r]++
			}
			cls[i], cls[j] = m, nil
			over--
		}
		cls = slices.DeleteFunc(cls, func(c *clause) bool { return c == nil })
	}
}

// maxFoldAlts caps the alternatives per dimension of a folded clause:
// beyond it the dimension is dropped (widened), which bounds the cost of
// computing the tables.
const maxFoldAlts = 4096

// fold merges clauses of one kind into one, keeping per dimension every
// distinct alternative (up to maxFoldAlts). whole is false when a
// dimension was dropped for having too many.
func (p *planner) fold(parts []*clause) (*clause, bool) {
	out := &clause{dims: map[plan.Dim][]conj{}}
	for _, c := range parts {
		out.sys = unionInts(out.sys, c.sys)
		out.rules = append(out.rules, c.rules...)
	}
	slices.Sort(out.rules)
	out.rules = slices.Compact(out.rules)
	whole := true
	for _, d := range sortedDims(parts[0].dims) {
		seen := map[string]bool{}
		var alts []conj
		for _, c := range parts {
			al, ok := c.dims[d]
			if !ok {
				alts = nil // not constrained in one part: not in the fold
				break
			}
			for _, cj := range al {
				if k := conjKey(cj); !seen[k] {
					seen[k] = true
					alts = append(alts, cj)
				}
			}
		}
		if alts != nil && len(alts) <= maxFoldAlts {
			out.dims[d] = alts
		} else {
			whole = false
		}
	}
	return out, whole
}

// times renders a widening that happened n times to a rule: nothing for
// 0, the reason for 1, the reason and the count above.
func times(n int, reason string) []string {
	switch {
	case n == 0:
		return nil
	case n == 1:
		return []string{reason}
	}
	return []string{fmt.Sprintf("%s (%d times)", reason, n)}
}
