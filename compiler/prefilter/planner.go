package prefilter

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// ErrPlan is wrapped by the errors of [Build] and [BuildRules].
var ErrPlan = errors.New("plan prefilter")

// DefaultMaxClausesPerRule is the clause budget of one rule when
// [Options.MaxClausesPerRule] is zero.
const DefaultMaxClausesPerRule = 8

// Internal limits: intermediate clause sets and alternatives per dimension
// above these are merged (widened) on the spot.
const (
	maxWork = 64
	maxAlts = 16
)

// RuleInput is one rule to plan.
type RuleInput struct {
	Name string
	// IR is the rule's condition, constant-folded ([check.Fold]): the
	// planner does not fold.
	IR check.Expr
	// EventTypes is the rule's inferred evt.type set as in
	// [check.Condition]: nil means every event type.
	EventTypes []string
}

// Options tune the planner; a nil *Options means the defaults.
type Options struct {
	// MaxClausesPerRule caps the clauses of one rule (default
	// [DefaultMaxClausesPerRule]); a rule needing more is widened.
	MaxClausesPerRule int
	// Syscalls is the set of syscall ids an unbounded rule is gated on;
	// nil means every syscall of the catalog.
	Syscalls []int
}

// Build plans the enabled syscall rules of a loaded rule set (rules
// without a checked condition are skipped), folding their conditions.
func Build(rs *rules.Ruleset, opts *Options) (*plan.Plan, error) {
	if rs == nil {
		return nil, fmt.Errorf("%w: no rule set", ErrPlan)
	}
	folded := make([]check.Expr, len(rs.Rules))
	for i, r := range rs.Rules {
		if r != nil && r.Checked != nil && r.Checked.IR != nil {
			folded[i] = check.Fold(r.Checked.IR)
		}
	}
	return BuildFolded(rs, folded, opts)
}

// BuildFolded is [Build] with the rules' conditions already folded:
// folded[i] is rs.Rules[i]'s condition after [check.Fold] (the compile
// driver folds once for codegen and the planner).
func BuildFolded(rs *rules.Ruleset, folded []check.Expr, opts *Options) (*plan.Plan, error) {
	if rs == nil {
		return nil, fmt.Errorf("%w: no rule set", ErrPlan)
	}
	if len(folded) != len(rs.Rules) {
		return nil, fmt.Errorf("%w: %d folded conditions for %d rules", ErrPlan, len(folded), len(rs.Rules))
	}
	var in []RuleInput
	for i, r := range rs.Rules {
		if r == nil || !r.Enabled || r.Checked == nil || folded[i] == nil {
			continue
		}
		if r.Source != "" && r.Source != check.SourceSyscall {
			continue
		}
		in = append(in, RuleInput{Name: r.Name, IR: folded[i], EventTypes: r.Checked.EventTypes})
	}
	return BuildRules(in, opts)
}

// conj is a conjunction of atoms (ids into planner.atoms), sorted.
type conj []int

// clause is a kernel clause being planned.
type clause struct {
	sys   []int
	dims  map[plan.Dim][]conj // absent: not constrained
	rules []int
}

type planner struct {
	atoms  []*atom
	byText map[string]int
	notes  []string
	// memo is maskIn's per-region memory of canBeTrue, by atom.
	memo []uint8
	// bits are the final clauses' mask bits (fitMask), for the tables;
	// consulted, when bits are shared, the dimensions each clause's
	// syscalls look up.
	bits      []int
	consulted []plan.Dim
	// index is maskIn's index of the final clauses by exact value.
	index map[plan.Dim]*exactIndex
	// altKeys caches groupKind's per-dimension keys of a clause.
	altKeys map[*clause][]string
}

// BuildRules plans the given rules, in order.
func BuildRules(in []RuleInput, opts *Options) (*plan.Plan, error) {
	if opts == nil {
		opts = &Options{}
	}
	maxPerRule := opts.MaxClausesPerRule
	if maxPerRule <= 0 {
		maxPerRule = DefaultMaxClausesPerRule
	}
	universe := opts.Syscalls
	if universe == nil {
		universe = allSyscalls()
	}
	for _, s := range universe {
		if s < 0 || s >= plan.NumSyscalls {
			return nil, fmt.Errorf("%w: syscall id %d out of range", ErrPlan, s)
		}
	}
	p := &planner{byText: map[string]int{}}
	out := &plan.Plan{}
	var all []*clause
	for ri, r := range in {
		if r.IR == nil {
			return nil, fmt.Errorf("%w: rule %q: no condition", ErrPlan, r.Name)
		}
		rp := plan.RulePlan{Name: r.Name, Unbounded: r.EventTypes == nil}
		sys := universe
		if r.EventTypes != nil {
			sys = syscallIDs(r.EventTypes)
		}
		rp.Syscalls = slices.Clone(sys)
		ir := r.IR
		residual := map[string]bool{}
		var cls []*clause
		byKey := map[string]*clause{}
		for _, s := range sys {
			name, _ := catalog.SyscallName(s)
			p.residual(ir, false, s, name, residual)
			for _, c := range p.dnfGroups(ir, s, name) {
				k := p.dimsKey(c)
				if prev, ok := byKey[k]; ok {
					prev.sys = append(prev.sys, s)
					continue
				}
				c.sys = []int{s}
				c.rules = []int{ri}
				byKey[k] = c
				cls = append(cls, c)
			}
		}
		cls = p.mergeExact(cls)
		sort.SliceStable(cls, func(i, j int) bool { return p.dimsKey(cls[i]) < p.dimsKey(cls[j]) })
		if n := len(cls); n > maxPerRule {
			cls = p.capClauses(cls, maxPerRule)
			rp.Widened = append(rp.Widened, fmt.Sprintf("%d clauses merged into %d (limit %d per rule)", n, len(cls), maxPerRule))
		}
		rp.Residual = sortedStrings(residual)
		out.Rules = append(out.Rules, rp)
		all = append(all, cls...)
	}

	// Clauses identical in every respect are shared by their rules.
	var shared []*clause
	byFull := map[string]*clause{}
	for _, c := range all {
		k := sysKey(c.sys) + "/" + p.dimsKey(c)
		if prev, ok := byFull[k]; ok {
			prev.rules = unionInts(prev.rules, c.rules)
			continue
		}
		byFull[k] = c
		shared = append(shared, c)
	}

	keys := p.keys(shared)
	shared = p.pruneDead(shared, keys)
	p.dropTrivial(shared, keys)
	shared, bits := p.fitMask(shared, out)
	var err error
	keys, shared, err = p.fitTables(shared)
	if err != nil {
		return nil, err
	}

	// Clauses in order (rule order, then key); bits from fitMask.
	out.Clauses = make([]plan.Clause, len(shared))
	for i, c := range shared {
		out.Clauses[i] = plan.Clause{Bit: bits[i], Rules: slices.Clone(c.rules), Syscalls: slices.Clone(c.sys), Text: p.clauseText(c)}
		for _, r := range c.rules {
			out.Rules[r].Clauses = append(out.Rules[r].Clauses, i)
			out.Rules[r].Kernel = append(out.Rules[r].Kernel, plan.KernelLine(i, &out.Clauses[i]))
		}
	}
	out.Tables = p.tables(shared, bits, keys, in, universe)
	out.Notes = p.notes
	return out, nil
}

func allSyscalls() []int {
	seen := map[int]bool{}
	var out []int
	for _, e := range catalog.Events() {
		if !e.Syscall {
			continue
		}
		if id, ok := catalog.SyscallID(e.Name); ok && id < plan.NumSyscalls && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Ints(out)
	return out
}

func syscallIDs(names []string) []int {
	seen := map[int]bool{}
	var out []int
	for _, n := range names {
		if id, ok := catalog.SyscallID(n); ok && id < plan.NumSyscalls && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Ints(out)
	return out
}

func (p *planner) intern(a *atom) int {
	// The kind is part of the key: one comparison's text can be an atom
	// of two kinds (fd.typechar on connect and on sendto).
	key := strconv.Itoa(int(a.kind)) + "|" + a.text
	if id, ok := p.byText[key]; ok {
		return id
	}
	p.atoms = append(p.atoms, a)
	p.byText[key] = len(p.atoms) - 1
	return len(p.atoms) - 1
}

func trueSet() []*clause { return []*clause{{dims: map[plan.Dim][]conj{}}} }

// dnf returns the clauses of e (negated when neg) on syscall sys: nil for
// false, a clause without dimensions for true. Every step over-approximates.
func (p *planner) dnf(e check.Expr, neg bool, sys int, name string, env presence) []*clause {
	switch n := e.(type) {
	case *check.And:
		if neg {
			return p.or(n.Terms, neg, sys, name, env)
		}
		return p.and(n.Terms, neg, sys, name, env)
	case *check.Or:
		if neg {
			return p.and(n.Terms, neg, sys, name, env)
		}
		return p.or(n.Terms, neg, sys, name, env)
	case *check.Not:
		return p.dnf(n.X, !neg, sys, name, env)
	case *check.Const:
		if n.Value != neg {
			return trueSet()
		}
		return nil
	case *check.Cmp:
		g, whole := groupOf(n, sys)
		if env.missing&g != 0 { // every comparison on a missing field is false
			if neg {
				return trueSet()
			}
			return nil
		}
		if !neg {
			if cl := p.globClause(n, sys); cl != nil {
				return cl
			}
		}
		out, a := classify(n, sys, name)
		switch out {
		case outTrue, outFalse:
			if (out == outTrue) != neg {
				return trueSet()
			}
			return nil
		case outAtom:
			if neg {
				if env.present&g == 0 || !whole {
					// The field may be missing: not <cmp> can be true
					// anywhere.
					return trueSet()
				}
				id := p.intern(a.negated())
				return []*clause{{dims: map[plan.Dim][]conj{a.kind.dim(): {{id}}}}}
			}
			id := p.intern(a)
			return []*clause{{dims: map[plan.Dim][]conj{a.kind.dim(): {{id}}}}}
		}
	}
	return trueSet()
}

// globClause returns, for `fd.name glob G` on the open family, the
// clause of what G implies: the path starts with G's literal start (the
// path dimension) and ends with its literal end (the suffix dimension).
// It is nil when G implies neither. Only the positive comparison is
// widened so; `not fd.name glob G` stays opaque.
func (p *planner) globClause(c *check.Cmp, sys int) []*clause {
	l := c.Left
	if !plan.IsOpenFamily(sys) || l == nil || l.Kind != check.OperandField || l.Field == nil || l.HasArg ||
		l.Field.Name != "fd.name" || c.Op != syntax.OpGlob || len(c.Values) != 1 || c.Mod != syntax.ModNone || c.Right != nil {
		return nil
	}
	g := c.Values[0].Text
	prefix, suffix, exact := globLiterals(g)
	dims := map[plan.Dim][]conj{}
	if exact {
		prefix, suffix = "", ""
		if cleanAbs(g) {
			dims[plan.DimPath] = []conj{{p.intern(&atom{kind: akFdName, op: syntax.OpEq, strs: []string{g}, text: "fd.name = " + g + " (glob)"})}}
		}
	}
	if strings.HasPrefix(prefix, "/") && len(prefix) <= plan.PathMax && strings.IndexByte(prefix, 0) < 0 {
		dims[plan.DimPath] = []conj{{p.intern(&atom{kind: akFdName, op: syntax.OpStartsWith, strs: []string{prefix},
			text: "fd.name startswith " + prefix + " (from glob " + g + ")"})}}
	}
	if suffixValue(suffix) {
		dims[plan.DimSuffix] = []conj{{p.intern(&atom{kind: akSuffix, op: syntax.OpEndsWith, strs: []string{suffix},
			text: "fd.name endswith " + suffix + " (from glob " + g + ")"})}}
	}
	if len(dims) == 0 {
		return nil
	}
	return []*clause{{dims: dims}}
}

// dnfGroups returns the clauses of e on syscall sys: for every field
// group e reads, the clauses with the group missing (each comparison on
// it false) or-ed with those with the group present (see groupOf), less
// the clauses that imply another one.
func (p *planner) dnfGroups(e check.Expr, sys int, name string) []*clause {
	used := groupsUsed(e, sys)
	var out []*clause
	seen := map[string]bool{}
	for sub := used; ; sub = (sub - 1) & used { // every subset of used
		for _, c := range p.dnf(e, false, sys, name, presence{missing: sub, present: used &^ sub}) {
			if k := p.dimsKey(c); !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
		if sub == 0 {
			break
		}
	}
	p.dropImpliedNegs(out)
	return dropImplied(out)
}

// dropImpliedNegs removes from the conjunctions of cls the negated atoms
// the conjunction's other atoms already imply in every region (proc.name
// in (sh, bash) and not proc.name in (N/A)), so that such clauses read and
// share as the plain ones. Dropping an atom from a conjunction only widens
// it: sound whatever the regions.
func (p *planner) dropImpliedNegs(cls []*clause) {
	k := p.keys(cls)
	for _, c := range cls {
		for d, alts := range c.dims {
			if d == plan.DimSock || d == plan.DimExe {
				continue
			}
			var out []conj
			for _, cj := range alts {
				out = append(out, p.simplifyConj(cj, d, k))
			}
			c.dims[d] = out
		}
	}
}

func (p *planner) simplifyConj(cj conj, d plan.Dim, k *keySet) conj {
	for i := 0; i < len(cj); i++ {
		if !p.atoms[cj[i]].neg || len(cj) == 1 {
			continue
		}
		rest := append(slices.Clone(cj[:i]), cj[i+1:]...)
		implied := true
		for _, r := range regionsOf(d, k) {
			all := true
			for _, id := range rest {
				if !p.atoms[id].canBeTrue(r, k) {
					all = false
					break
				}
			}
			if all && !p.atoms[cj[i]].canBeTrue(r, k) {
				implied = false
				break
			}
		}
		if implied {
			cj = rest
			i--
		}
	}
	return cj
}

// dropImplied removes the clauses that imply another clause of cls (b
// implies a when, in every dimension a constrains, b does too, and each
// alternative of b's has all the atoms of one of a's): the OR is the same.
func dropImplied(cls []*clause) []*clause {
	var out []*clause
	for i, b := range cls {
		implied := false
		for j, a := range cls {
			if i == j || !impliesClause(b, a) {
				continue
			}
			// Of two equivalent clauses, keep the first.
			if !impliesClause(a, b) || j < i {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, b)
		}
	}
	return out
}

// impliesClause reports whether b implies a (see dropImplied).
func impliesClause(b, a *clause) bool {
	for d, aAlts := range a.dims {
		bAlts, ok := b.dims[d]
		if !ok {
			return false
		}
		for _, cb := range bAlts {
			found := false
			for _, ca := range aAlts {
				if subsetConj(ca, cb) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// subsetConj reports whether every atom of a is in b (both sorted).
func subsetConj(a, b conj) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && a[i] == x {
			i++
		}
	}
	return i == len(a)
}

func (p *planner) or(terms []check.Expr, neg bool, sys int, name string, env presence) []*clause {
	var acc []*clause
	for _, t := range terms {
		s := p.dnf(t, neg, sys, name, env)
		for _, c := range s {
			if len(c.dims) == 0 {
				return trueSet()
			}
		}
		acc = append(acc, s...)
		if len(acc) > maxWork {
			acc = []*clause{p.mergeAll(acc)}
		}
	}
	return acc
}

func (p *planner) and(terms []check.Expr, neg bool, sys int, name string, env presence) []*clause {
	acc := trueSet()
	for _, t := range terms {
		s := p.dnf(t, neg, sys, name, env)
		if len(s) == 0 {
			return nil
		}
		if len(acc)*len(s) > maxWork {
			acc = []*clause{p.mergeAll(acc)}
			if len(s) > 1 && len(s)*len(acc) > maxWork {
				s = []*clause{p.mergeAll(s)}
			}
		}
		var next []*clause
		for _, a := range acc {
			for _, b := range s {
				next = append(next, p.conjoin(a, b))
			}
		}
		acc = next
	}
	return acc
}

// conjoin returns a and b.
func (p *planner) conjoin(a, b *clause) *clause {
	out := &clause{dims: map[plan.Dim][]conj{}}
	for d, alts := range a.dims {
		out.dims[d] = alts
	}
	for d, bl := range b.dims {
		al, ok := out.dims[d]
		if !ok {
			out.dims[d] = bl
			continue
		}
		var cross []conj
		seen := map[string]bool{}
		for _, x := range al {
			for _, y := range bl {
				c := mergeConj(x, y)
				if k := conjKey(c); !seen[k] {
					seen[k] = true
					cross = append(cross, c)
				}
			}
		}
		if len(cross) > maxAlts {
			delete(out.dims, d) // widen: the dimension is no longer checked
			continue
		}
		out.dims[d] = cross
	}
	return out
}

// merge returns a clause true wherever a or b is (widening).
func (p *planner) merge(a, b *clause) *clause {
	out := p.mergeBody(a, b)
	out.rules = unionInts(a.rules, b.rules)
	return out
}

// mergeBody is [planner.merge] without the rules (left nil).
func (p *planner) mergeBody(a, b *clause) *clause {
	out := &clause{dims: map[plan.Dim][]conj{}, sys: unionInts(a.sys, b.sys)}
	for d, al := range a.dims {
		bl, ok := b.dims[d]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		var alts []conj
		for _, c := range append(slices.Clone(al), bl...) {
			if k := conjKey(c); !seen[k] {
				seen[k] = true
				alts = append(alts, c)
			}
		}
		if len(alts) > maxAlts {
			continue
		}
		out.dims[d] = alts
	}
	return out
}

func (p *planner) mergeAll(cs []*clause) *clause {
	acc := cs[0]
	for _, c := range cs[1:] {
		acc = p.merge(acc, c)
	}
	return acc
}

// mergeExact merges clauses on the same syscalls whose constraints differ
// in one dimension only: (A and B1) or (A and B2) is A and (B1 or B2), so
// nothing is widened unless the alternatives exceed maxAlts.
func (p *planner) mergeExact(cls []*clause) []*clause {
	for {
		merged := false
	search:
		for i := range cls {
			for j := i + 1; j < len(cls); j++ {
				d, ok := p.differIn(cls[i], cls[j])
				if !ok {
					continue
				}
				alts := append(slices.Clone(cls[i].dims[d]), cls[j].dims[d]...)
				if len(alts) > maxAlts {
					continue
				}
				m := &clause{dims: map[plan.Dim][]conj{}, sys: cls[i].sys, rules: unionInts(cls[i].rules, cls[j].rules)}
				for x, v := range cls[i].dims {
					m.dims[x] = v
				}
				m.dims[d] = alts
				cls[i] = m
				cls = append(cls[:j], cls[j+1:]...)
				merged = true
				break search
			}
		}
		if !merged {
			return cls
		}
	}
}

// differIn reports the one dimension a and b differ in, when they are on
// the same syscalls, constrain the same dimensions and agree on all others.
func (p *planner) differIn(a, b *clause) (plan.Dim, bool) {
	if sysKey(a.sys) != sysKey(b.sys) || dimSet(a) != dimSet(b) {
		return 0, false
	}
	var diff plan.Dim
	n := 0
	for d, al := range a.dims {
		if altsKey(al) != altsKey(b.dims[d]) {
			diff = d
			n++
		}
	}
	return diff, n == 1
}

func altsKey(alts []conj) string {
	keys := make([]string, len(alts))
	for i, cj := range alts {
		keys[i] = conjKey(cj)
	}
	sort.Strings(keys)
	return strings.Join(keys, "|")
}

// capClauses merges a rule's clauses until at most n are left, merging
// clauses that constrain the same dimensions first.
func (p *planner) capClauses(cls []*clause, n int) []*clause {
	for len(cls) > n {
		i, j := len(cls)-2, len(cls)-1
	search:
		for x := range cls {
			for y := x + 1; y < len(cls); y++ {
				if dimSet(cls[x]) == dimSet(cls[y]) {
					i, j = x, y
					break search
				}
			}
		}
		m := p.merge(cls[i], cls[j])
		cls = append(cls[:j], cls[j+1:]...)
		cls[i] = m
	}
	return cls
}

// maxTableWork bounds the atom checks computing one dimension's table
// may take (tableWork): about a second.
const maxTableWork = 30_000_000

// tableWork estimates the atom checks maskIn makes for dimension d: every
// region times the atoms of the clauses the exact-value index does not
// bound, plus the non-exact regions times the atoms of the others.
func (p *planner) tableWork(cls []*clause, k *keySet, d plan.Dim) int {
	saved := p.index
	p.index = nil
	x := p.exactIndex(cls, d)
	p.index = saved
	regions := regionsOf(d, k)
	exact := 0
	for _, r := range regions {
		if x != nil && x.covers(r) {
			exact++
		}
	}
	atoms := func(c *clause) int {
		n := 0
		for _, cj := range c.dims[d] {
			n += len(cj)
		}
		return n
	}
	rest, all := 0, 0
	for _, c := range cls {
		all += atoms(c)
	}
	if x == nil {
		return len(regions) * all
	}
	for _, i := range x.rest {
		rest += atoms(cls[i])
	}
	return len(regions)*rest + (len(regions)-exact)*(all-rest)
}

// fitTables drops dimensions whose tables would exceed
// [plan.TableCeiling] (sound: the dimension is then unconstrained). The
// kernel's maps are sized from the tables at load.
func (p *planner) fitTables(cls []*clause) (*keySet, []*clause, error) {
	for range 4 {
		k := p.keys(cls)
		need := plan.Capacity{Comm: len(k.comm), UID: len(k.uid), Arg0: len(k.arg0Keys()),
			Path: len(k.pathEntries()) + len(k.prefix), Sock: k.sockEntries(), Exe: len(k.exe), Suffix: len(k.suffix)}
		drop := plan.MaxCapacity.Over(need)
		var slow plan.Dim
		for _, d := range []plan.Dim{plan.DimComm, plan.DimUID, plan.DimPath, plan.DimSuffix, plan.DimExe, plan.DimSock} {
			if drop&d == 0 && p.tableWork(cls, k, d) > maxTableWork {
				slow |= d
			}
		}
		if slow != 0 {
			p.notes = append(p.notes, fmt.Sprintf("dimension %s dropped: its table would take more than %d checks to compute (distinct values times the comparisons that no exact value bounds)", slow, maxTableWork))
			for _, c := range cls {
				for d := range c.dims {
					if d&slow != 0 {
						delete(c.dims, d)
					}
				}
			}
			continue
		}
		if drop == 0 {
			return k, cls, nil
		}
		p.notes = append(p.notes, fmt.Sprintf("dimension %s dropped: more than %d table entries", drop, plan.TableCeiling))
		for _, c := range cls {
			for d := range c.dims {
				if d&drop != 0 {
					delete(c.dims, d)
				}
			}
		}
	}
	return nil, nil, fmt.Errorf("%w: tables do not fit", ErrPlan)
}

// keys collects the table keys of the clauses' atoms.
func (p *planner) keys(cls []*clause) *keySet {
	k := newKeySet()
	for _, c := range cls {
		for _, alts := range c.dims {
			for _, cj := range alts {
				for _, id := range cj {
					p.atoms[id].addKeys(k)
				}
			}
		}
	}
	return k
}

// possible reports whether a clause can be true in region r of dimension d.
func (p *planner) possible(c *clause, d plan.Dim, r region, k *keySet) bool {
	return p.possibleMemo(c, d, r, k, nil)
}

// possibleMemo is [planner.possible] remembering, in memo (indexed by
// atom, for this one region; nil: none), what canBeTrue said: 0 not asked,
// 1 true, 2 false.
func (p *planner) possibleMemo(c *clause, d plan.Dim, r region, k *keySet, memo []uint8) bool {
	alts, ok := c.dims[d]
	if !ok {
		return true
	}
	for _, cj := range alts {
		if (d == plan.DimSock || d == plan.DimExe) && p.needsResult(cj) && !p.hasResult(cj) {
			return true // the call may have failed: userspace values are stale
		}
		if r.kind == rSockClass {
			if p.sendConjPossible(cj, r, k) {
				return true
			}
			continue
		}
		all := true
		for _, id := range cj {
			var ok bool
			switch {
			case memo == nil:
				ok = p.atoms[id].canBeTrue(r, k)
			case memo[id] != 0:
				ok = memo[id] == 1
			default:
				ok = p.atoms[id].canBeTrue(r, k)
				memo[id] = 2
				if ok {
					memo[id] = 1
				}
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// sendConjPossible reports whether the conjunction can be true in a
// sendto socket class region: the atoms on one field are judged together
// (one value must satisfy them all: fd.l4proto != tcp and fd.l4proto =
// tcp never holds), the others each on its own.
func (p *planner) sendConjPossible(cj conj, r region, k *keySet) bool {
	byField := map[string][]*atom{}
	for _, id := range cj {
		a := p.atoms[id]
		if a.kind != akSendSock {
			if !a.canBeTrue(r, k) {
				return false
			}
			continue
		}
		byField[a.sendField] = append(byField[a.sendField], a)
	}
	for field, as := range byField {
		ok := false
		for _, v := range sendValues(field, plan.SockKey{Family: r.fam, Port: r.port}) {
			all := true
			for _, a := range as {
				if !a.sendEval(v) {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// needsResult reports whether the conjunction judges what a call updates
// (connect, bind, exec: see "Sockets" in mapping.go), so that it needs a
// result atom; sendto's and sendmsg's socket class does not.
func (p *planner) needsResult(cj conj) bool {
	for _, id := range cj {
		if p.atoms[id].kind != akSendSock {
			return true
		}
	}
	return false
}

func (p *planner) hasResult(cj conj) bool {
	for _, id := range cj {
		if p.atoms[id].kind.isResult() {
			return true
		}
	}
	return false
}

// dropTrivial removes from each clause the dimensions it is possible in
// everywhere (a result atom alone, a socket comparison without one): the
// kernel would look them up for nothing.
func (p *planner) dropTrivial(cls []*clause, k *keySet) {
	for _, c := range cls {
		for _, d := range sortedDims(c.dims) {
			all := true
			for _, r := range regionsOf(d, k) {
				if !p.possible(c, d, r, k) {
					all = false
					break
				}
			}
			if all {
				delete(c.dims, d)
			}
		}
	}
}

// pruneDead drops clauses that no value of some dimension satisfies
// (e.g. proc.name = a and proc.name = b).
func (p *planner) pruneDead(cls []*clause, k *keySet) []*clause {
	out := cls[:0]
	for _, c := range cls {
		alive := true
		for _, d := range sortedDims(c.dims) {
			if !p.anyPossible(c, d, k) {
				alive = false
				break
			}
		}
		if alive {
			out = append(out, c)
		}
	}
	return out
}

// anyPossible reports whether c can be true in some region of d. It
// tries first the regions that are no table key (default, unknown, ...),
// then those of the clause's own keys, and only then every region: the
// answer is the full scan's, but a live clause is known in a few steps
// instead of a scan of every distinct value.
func (p *planner) anyPossible(c *clause, d plan.Dim, k *keySet) bool {
	all := regionsOf(d, k)
	set, other := k.keyRegions(d)
	for _, r := range other {
		if p.possible(c, d, r, k) {
			return true
		}
	}
	own := newKeySet()
	for _, cj := range c.dims[d] {
		for _, id := range cj {
			p.atoms[id].addKeys(own)
		}
	}
	for _, r := range buildRegions(d, own) {
		if _, ok := set[r]; ok && p.possible(c, d, r, k) {
			return true
		}
	}
	for _, r := range all {
		if p.possible(c, d, r, k) {
			return true
		}
	}
	return false
}

func sortedDims(m map[plan.Dim][]conj) []plan.Dim {
	out := make([]plan.Dim, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

func dimSet(c *clause) plan.Dim {
	var d plan.Dim
	for x := range c.dims {
		d |= x
	}
	return d
}

func mergeConj(a, b conj) conj {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func conjKey(c conj) string {
	var b strings.Builder
	for i, id := range c {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// dimsKey identifies a clause's constraints (not its syscalls or rules).
func (p *planner) dimsKey(c *clause) string {
	var b strings.Builder
	for _, d := range sortedDims(c.dims) {
		keys := make([]string, len(c.dims[d]))
		for i, cj := range c.dims[d] {
			keys[i] = conjKey(cj)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "%d{%s}", d, strings.Join(keys, "|"))
	}
	return b.String()
}

func sysKey(s []int) string {
	var b strings.Builder
	for _, x := range s {
		b.WriteString(strconv.Itoa(x))
		b.WriteByte(',')
	}
	return b.String()
}

// unionInts returns the sorted union of a and b, without duplicates: a
// linear merge when both are sorted (they are, as the planner builds
// them), else a sort.
func unionInts(a, b []int) []int {
	if !slices.IsSorted(a) || !slices.IsSorted(b) {
		out := append(slices.Clone(a), b...)
		slices.Sort(out)
		return slices.Compact(out)
	}
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var x int
		switch {
		case len(b) == 0 || len(a) > 0 && a[0] < b[0]:
			x, a = a[0], a[1:]
		case len(a) == 0 || b[0] < a[0]:
			x, b = b[0], b[1:]
		default:
			x, a, b = a[0], a[1:], b[1:]
		}
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// clauseText renders a clause: "comm[proc.name in (cat, dd)] and
// path[(fd.name startswith /etc/) or (...)]"; "any" when unconstrained.
func (p *planner) clauseText(c *clause) string {
	var parts []string
	for _, d := range sortedDims(c.dims) {
		var alts []string
		for _, cj := range c.dims[d] {
			var lits []string
			for _, id := range cj {
				lits = append(lits, p.atoms[id].text)
			}
			alts = append(alts, strings.Join(lits, " and "))
		}
		sort.Strings(alts)
		if len(alts) > 1 {
			for i := range alts {
				alts[i] = "(" + alts[i] + ")"
			}
		}
		parts = append(parts, d.String()+"["+strings.Join(alts, " or ")+"]")
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " and ")
}

// residual collects the comparisons the kernel does not decide on sys.
func (p *planner) residual(e check.Expr, neg bool, sys int, name string, out map[string]bool) {
	switch n := e.(type) {
	case *check.And:
		for _, t := range n.Terms {
			p.residual(t, neg, sys, name, out)
		}
	case *check.Or:
		for _, t := range n.Terms {
			p.residual(t, neg, sys, name, out)
		}
	case *check.Not:
		p.residual(n.X, !neg, sys, name, out)
	case *check.Cmp:
		switch o, a := classify(n, sys, name); {
		case (o == outOpaque || o == outAtom && a.kind.partial()) && !neg:
			out[check.Format(n)] = true
		case neg && o != outTrue && o != outFalse:
			out["not "+check.Format(n)] = true
		}
	}
}
