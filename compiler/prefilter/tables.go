package prefilter

import (
	"maps"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// State the userspace tables need, and so syscalls the kernel sends even
// when no clause survives ([plan.Tables.Always]); the lists come from the
// catalog's one table ([catalog.StateSyscalls]).
//
// Process state is always needed: proc.* and user.* come from it, and the
// kernel's comm and euid dimensions rely on userspace keeping proc.name and
// user.uid equal to the kernel's values. The scheduler tracepoints (fork,
// exec, exit) are sent anyway; these syscalls carry the rest.
//
// File descriptor state: needed when a rule reads a descriptor (fd.*,
// evt.abspath, evt.args, an FD-typed evt.arg, proc.fdopencount) on a
// syscall that does not itself describe it. Socket state suffices for
// socket calls that take an existing socket; any other syscall may name
// any kind of descriptor and needs both.
var (
	processStateSyscalls = catalog.StateSyscallNames(catalog.StateProcess)
	fileStateSyscalls    = catalog.StateSyscallNames(catalog.StateFile)
	sockStateSyscalls    = catalog.StateSyscallNames(catalog.StateSocket)
	// fdCreators describe the descriptor their fd.* fields read
	// ([catalog.StateSyscall.DescribesFD]): a rule reading fd.* on one
	// does not make every socket() and close() go to userspace.
	fdCreators = func() map[string]bool {
		m := map[string]bool{}
		for _, s := range catalog.StateSyscalls() {
			if s.DescribesFD {
				m[s.Name] = true
			}
		}
		return m
	}()
	// sockUsers take an existing socket.
	sockUsers = map[string]bool{
		"connect": true, "bind": true, "listen": true, "sendto": true, "sendmsg": true, "recvfrom": true,
		"recvmsg": true, "getsockopt": true, "setsockopt": true, "shutdown": true, "sendmmsg": true,
		"recvmmsg": true, "getsockname": true, "getpeername": true,
	}
)

func addNamed(m map[int]bool, names []string) {
	for _, n := range names {
		if id, ok := catalog.SyscallID(n); ok && id < plan.NumSyscalls {
			m[id] = true
		}
	}
}

// usesFD reports whether the expression reads descriptor state on the
// event named name.
func usesFD(e check.Expr, name string) bool {
	switch n := e.(type) {
	case *check.And:
		for _, t := range n.Terms {
			if usesFD(t, name) {
				return true
			}
		}
	case *check.Or:
		for _, t := range n.Terms {
			if usesFD(t, name) {
				return true
			}
		}
	case *check.Not:
		return usesFD(n.X, name)
	case *check.Cmp:
		return operandUsesFD(n.Left, name) || operandUsesFD(n.Right, name)
	}
	return false
}

func operandUsesFD(o *check.Operand, name string) bool {
	if o == nil {
		return false
	}
	for _, a := range o.Args {
		if operandUsesFD(a, name) {
			return true
		}
	}
	for _, a := range o.Items {
		if operandUsesFD(a, name) {
			return true
		}
	}
	if o.Kind != check.OperandField || o.Field == nil {
		return false
	}
	f := o.Field.Name
	switch {
	case strings.HasPrefix(f, "fd."), f == "evt.abspath", f == "evt.args", f == "proc.fdopencount",
		f == "evt.abspath.src", f == "evt.abspath.dst":
		return true
	case f == "evt.arg":
		ev, ok := catalog.EventByName(name)
		if !ok {
			return true
		}
		for i, p := range ev.Params {
			if (o.HasArg && (p.Name == o.Arg || o.Index == i)) && p.Type == catalog.ParamFD {
				return true
			}
		}
	}
	return false
}

// socketValues are the values of the descriptor fields that only a
// socket has.
var socketValues = map[string]map[string]bool{
	"fd.type":       {"ipv4": true, "ipv6": true, "unix": true},
	"fd.typechar":   {"4": true, "6": true}, // not u: userfaultfd has it too
	"fd.sockfamily": {"ip": true, "unix": true},
	"fd.l4proto":    {"tcp": true, "udp": true, "icmp": true, "raw": true},
}

// needsSocket reports whether e can only be true of a descriptor that
// userspace holds as a socket: its top-level conjunction compares fd.type,
// fd.typechar, fd.sockfamily or fd.l4proto with = or in and socket values
// only (a missing descriptor makes it false). Then the file state (opens,
// pipes, ...) is not needed for it: a descriptor userspace does not know
// and one it knows as a file both leave the rule false, and socket entries
// come from the socket state syscalls (and dup and close, sent for
// sockets too).
func needsSocket(e check.Expr) bool {
	switch n := e.(type) {
	case *check.And:
		for _, t := range n.Terms {
			if needsSocket(t) {
				return true
			}
		}
	case *check.Cmp:
		l := n.Left
		if l == nil || l.Kind != check.OperandField || l.Field == nil || l.HasArg || n.Right != nil || n.Mod != syntax.ModNone {
			return false
		}
		vals, ok := socketValues[l.Field.Name]
		if !ok || n.Op != syntax.OpEq && n.Op != syntax.OpEqEq && n.Op != syntax.OpIn || len(n.Values) == 0 {
			return false
		}
		for _, v := range n.Values {
			if !vals[v.Text] {
				return false
			}
		}
		return true
	}
	return false
}

// stateSyscalls computes Always.
func stateSyscalls(in []RuleInput, universe []int) map[int]bool {
	always := map[int]bool{}
	addNamed(always, processStateSyscalls)
	var files, socks bool
	for _, r := range in {
		sys := universe
		if r.EventTypes != nil {
			sys = syscallIDs(r.EventTypes)
		}
		for _, s := range sys {
			name, _ := catalog.SyscallName(s)
			if fdCreators[name] || !usesFD(r.IR, name) {
				continue
			}
			socks = true
			if !sockUsers[name] && !needsSocket(r.IR) {
				files = true
			}
		}
	}
	if files {
		addNamed(always, fileStateSyscalls)
	}
	if socks {
		addNamed(always, sockStateSyscalls)
	}
	return always
}

// tables builds the kernel tables for the final clauses.
func (p *planner) tables(cls []*clause, bits []int, k *keySet, in []RuleInput, universe []int) plan.Tables {
	t := plan.Tables{
		Gate: map[int]plan.Mask{}, DimsPerSyscall: map[int]plan.Dim{}, Always: stateSyscalls(in, universe), Captured: map[int]bool{},
		Comm: map[string]plan.Mask{}, UID: map[uint32]plan.Mask{}, PathExact: map[string]plan.Mask{}, PathPrefix: map[string]plan.Mask{},
		Arg0: map[uint32]plan.Mask{}, Sock: map[plan.SockKey]plan.Mask{}, SockFamily: map[uint16]plan.Mask{},
		ExeExact: map[string]plan.Mask{}, ExePrefix: map[string]plan.Mask{}, Suffix: map[string]plan.Mask{},
	}
	for i, c := range cls {
		bit := bits[i]
		for _, s := range c.sys {
			g := t.Gate[s]
			g.Set(bit)
			t.Gate[s] = g
			if d := dimSet(c); d != 0 {
				t.DimsPerSyscall[s] |= d
			}
		}
	}
	for _, r := range in {
		sys := universe
		if r.EventTypes != nil {
			sys = syscallIDs(r.EventTypes)
		}
		for _, s := range sys {
			t.Captured[s] = true
		}
	}
	for s := range t.Always {
		t.Captured[s] = true
	}

	p.bits, p.index = bits, nil
	// With bits shared across syscalls, a clause's bit goes only in the
	// tables of the dimensions its syscalls consult: elsewhere it would
	// be set in every entry for nothing, and void the checks of the
	// clauses on other syscalls that share the bit. (With one bit per
	// clause it makes no difference; the tables are left as they were.)
	p.consulted = nil
	width := maxBit(bits) + 1
	if w := plan.WordsFor(width); w > plan.MaskHeadWords {
		t.Words = w
	}
	if width < len(cls) {
		p.consulted = make([]plan.Dim, len(cls))
		for i, c := range cls {
			for _, s := range c.sys {
				p.consulted[i] |= t.DimsPerSyscall[s]
			}
		}
	}
	p.idTables(&t, cls, k)
	p.addrTables(&t, cls, k)
	return t
}

// maskIn returns the clauses of cls possible in region r of dimension d.
func (p *planner) maskIn(cls []*clause, k *keySet, d plan.Dim, r region) plan.Mask {
	var m plan.Mask
	if len(p.memo) != len(p.atoms) {
		p.memo = make([]uint8, len(p.atoms))
	} else {
		clear(p.memo)
	}
	try := func(i int) {
		if m.Has(p.bits[i]) {
			return // another clause with the bit already set it
		}
		if p.consulted != nil && p.consulted[i]&d == 0 {
			return // not looked up on the clause's syscalls
		}
		if p.possibleMemo(cls[i], d, r, k, p.memo) {
			m.Set(p.bits[i])
		}
	}
	// tryAlt checks one alternative of clause ref.clause.
	tryAlt := func(refs []altRef) {
		for _, ref := range refs {
			i := int(ref.clause)
			if m.Has(p.bits[i]) || p.consulted != nil && p.consulted[i]&d == 0 {
				continue
			}
			all := true
			for _, id := range cls[i].dims[d][ref.alt] {
				ok := p.memo[id] == 1
				if p.memo[id] == 0 {
					ok = p.atoms[id].canBeTrue(r, k)
					p.memo[id] = 2
					if ok {
						p.memo[id] = 1
					}
				}
				if !ok {
					all = false
					break
				}
			}
			if all {
				m.Set(p.bits[i])
			}
		}
	}
	if x := p.exactIndex(cls, d); x != nil && x.covers(r) {
		// Only the clauses that can be true in this region: those that
		// do not constrain d are in every region's mask.
		if !x.freeSet {
			for _, i := range x.free {
				if p.consulted == nil || p.consulted[i]&d != 0 {
					x.freeMask.Set(p.bits[i])
				}
			}
			x.freeSet = true
		}
		m = x.freeMask
		for _, i := range x.rest {
			try(i)
		}
		switch {
		case d == plan.DimUID:
			tryAlt(x.byNum[r.n])
		case d == plan.DimSock:
			tryAlt(x.byNum[uint64(r.port)])
		case d == plan.DimPath:
			// A value that is a prefix of the region's paths, or that
			// starts with the region's prefix.
			for n := 0; n <= len(r.s); n++ { // "" too: startswith ""
				tryAlt(x.byValue[r.s[:n]])
			}
			for j, _ := slices.BinarySearch(x.sorted, r.s); j < len(x.sorted) && strings.HasPrefix(x.sorted[j], r.s); j++ {
				tryAlt(x.byValue[x.sorted[j]])
			}
		default:
			tryAlt(x.byValue[r.s])
		}
		return m
	}
	for i := range cls {
		try(i)
	}
	return m
}

// exactIndex lists, for the comm, uid and path dimensions, the clauses
// that can be true in a region of known values, so that maskIn need not
// check every clause in every region (thousands of distinct values).
//
// A clause each of whose alternatives has a positive atom of the
// dimension's kind has each alternative filed under that atom's values
// (an alternative can only be true where its atom can); the other
// clauses are in rest. For comm and uid, the atom is =/in, true only for its
// values: a clause can be true in the region of one exact value only if
// it is filed under it. For path, the atom is a fd.name or fd.directory
// =, in, startswith or pmatch: each is true only for paths that start
// with one of its values (pmatch's cleaned), so a clause can be true in a
// region (an exact path, or the paths under a prefix) only if one of its
// values is a prefix of the region's path or starts with it. For the
// socket dimension, an alternative with a result atom and a positive =/in
// port atom is true only in the exact regions of its ports (without a
// result atom an alternative is true everywhere: rest). Default, family
// and unknown regions check every clause.
type exactIndex struct {
	byValue map[string][]altRef
	byNum   map[uint64][]altRef
	sorted  []string // the keys of byValue, for prefix ranges
	rest    []int
	path    bool

	// free are the clauses that do not constrain the dimension (possible
	// in every region); freeMask, once freeSet, holds their bits (those
	// the tables being built consult: the index lives as long as the
	// planner's bits and consulted dimensions).
	free     []int
	freeMask plan.Mask
	freeSet  bool
}

// altRef is one alternative (dims[d][alt]) of clause cls[clause].
type altRef struct{ clause, alt int32 }

// covers reports whether the index bounds the clauses of region r.
func (x *exactIndex) covers(r region) bool {
	return r.kind == rExact || x.path && r.kind == rPrefix
}

// indexValues returns the values a positive atom of kind bounds, for the
// dimension's index.
func indexValues(a *atom, path bool) ([]string, bool) {
	if a.neg {
		return nil, false
	}
	if !path {
		return a.strs, isEqOp(a.op)
	}
	if a.kind != akFdName && a.kind != akFdDir {
		return nil, false
	}
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn, syntax.OpStartsWith:
		return a.strs, true
	case syntax.OpPmatch:
		out := make([]string, 0, len(a.strs))
		for _, v := range a.strs {
			p, ok := pmatchPath(v)
			if !ok {
				return nil, false
			}
			out = append(out, p)
		}
		return out, true
	}
	return nil, false
}

func (p *planner) exactIndex(cls []*clause, d plan.Dim) *exactIndex {
	var kind atomKind
	switch d {
	case plan.DimComm:
		kind = akComm
	case plan.DimUID:
		kind = akUID
	case plan.DimSock:
		kind = akSockPort
	case plan.DimPath:
	default:
		return nil
	}
	if x, ok := p.index[d]; ok {
		return x
	}
	x := &exactIndex{byValue: map[string][]altRef{}, byNum: map[uint64][]altRef{}, path: d == plan.DimPath}
	type filed struct {
		strs []string
		nums []uint64
	}
	for i, c := range cls {
		alts, ok := c.dims[d]
		if !ok {
			x.free = append(x.free, i)
			continue
		}
		var per []filed
		for _, cj := range alts {
			found := false
			if d == plan.DimSock && !p.hasResult(cj) {
				per = nil // true in every region (possibleMemo)
				break
			}
			for _, id := range cj {
				a := p.atoms[id]
				if !x.path && a.kind != kind {
					continue
				}
				if vs, ok := indexValues(a, x.path); ok {
					per = append(per, filed{vs, a.nums})
					found = true
					break
				}
			}
			if !found {
				per = nil
				break
			}
		}
		if per == nil {
			x.rest = append(x.rest, i)
			continue
		}
		for j, f := range per {
			ref := altRef{int32(i), int32(j)}
			if d == plan.DimUID || d == plan.DimSock {
				for _, v := range f.nums {
					x.byNum[v] = append(x.byNum[v], ref)
				}
				continue
			}
			for _, v := range f.strs {
				x.byValue[v] = append(x.byValue[v], ref)
			}
		}
	}
	if x.path {
		x.sorted = slices.Sorted(maps.Keys(x.byValue))
	}
	if p.index == nil {
		p.index = map[plan.Dim]*exactIndex{}
	}
	p.index[d] = x
	return x
}

// idTables fills the comm, uid, container, open flags and first-argument
// tables of t.
func (p *planner) idTables(t *plan.Tables, cls []*clause, k *keySet) {
	for _, r := range regionsOf(plan.DimComm, k) {
		m := p.maskIn(cls, k, plan.DimComm, r)
		if r.kind == rDefault {
			t.CommDefault = m
		} else {
			t.Comm[r.key] = m
		}
	}
	dropDefault(t.Comm, t.CommDefault) // an entry equal to the default adds nothing
	for _, r := range regionsOf(plan.DimUID, k) {
		m := p.maskIn(cls, k, plan.DimUID, r)
		if r.kind == rDefault {
			t.UIDDefault = m
		} else {
			t.UID[uint32(r.n)] = m
		}
	}
	dropDefault(t.UID, t.UIDDefault)
	for _, r := range regionsOf(plan.DimContainer, k) {
		m := p.maskIn(cls, k, plan.DimContainer, r)
		switch r.kind {
		case rHost:
			t.ContainerHost = m
		case rInside:
			t.ContainerInside = m
		default:
			t.ContainerUnknown = m
		}
	}
	for _, r := range regionsOf(plan.DimOpenFlags, k) {
		t.OpenFlags[r.n] = p.maskIn(cls, k, plan.DimOpenFlags, r)
	}
	for _, r := range regionsOf(plan.DimArg0, k) {
		m := p.maskIn(cls, k, plan.DimArg0, r)
		if r.kind == rDefault {
			t.Arg0Default = m
		} else {
			t.Arg0[uint32(r.n)] = m
		}
	}
	dropDefault(t.Arg0, t.Arg0Default)
}

// addrTables fills the socket, exe and path tables of t.
func (p *planner) addrTables(t *plan.Tables, cls []*clause, k *keySet) {
	for _, r := range regionsOf(plan.DimSock, k) {
		m := p.maskIn(cls, k, plan.DimSock, r)
		switch r.kind {
		case rExact, rSockClass:
			t.Sock[plan.SockKey{Family: r.fam, Port: r.port}] = m
		case rFamily:
			t.SockFamily[r.fam] = m
		case rDefault:
			t.SockDefault = m
		default:
			t.SockUnknown = m
		}
	}
	for key, m := range t.Sock {
		// The kernel falls back to the family's entry, else the default.
		fm, ok := t.SockFamily[key.Family]
		if !ok {
			fm = t.SockDefault
		}
		if m == fm {
			delete(t.Sock, key)
		}
	}
	for fam, m := range t.SockFamily {
		if m == t.SockDefault {
			delete(t.SockFamily, fam)
		}
	}
	for _, r := range regionsOf(plan.DimExe, k) {
		m := p.maskIn(cls, k, plan.DimExe, r)
		switch r.kind {
		case rExact:
			t.ExeExact[r.key] = m
		case rDefault:
			t.ExeDefault = m
		default:
			t.ExeUnknown = m
		}
	}
	dropDefault(t.ExeExact, t.ExeDefault)
	for _, r := range regionsOf(plan.DimSuffix, k) {
		m := p.maskIn(cls, k, plan.DimSuffix, r)
		switch r.kind {
		case rExact:
			t.Suffix[r.key] = m
		case rDefault:
			t.SuffixDefault = m
		default:
			t.SuffixUnknown = m
		}
	}
	for _, r := range regionsOf(plan.DimPath, k) {
		m := p.maskIn(cls, k, plan.DimPath, r)
		switch r.kind {
		case rExact:
			t.PathExact[r.key] = m
		case rPrefix:
			t.PathPrefix[r.key] = m
		case rDefault:
			t.PathDefault = m
		default:
			t.PathUnknown = m
		}
	}
}

// dropDefault removes the entries equal to the default mask d: the kernel
// looks the default up for a key the table does not hold.
func dropDefault[K comparable](m map[K]plan.Mask, d plan.Mask) {
	for k, v := range m {
		if v == d {
			delete(m, k)
		}
	}
}
