package prefilter

import (
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
func (p *planner) tables(cls []*clause, k *keySet, in []RuleInput, universe []int) plan.Tables {
	t := plan.Tables{
		Gate: map[int]plan.Mask{}, DimsPerSyscall: map[int]plan.Dim{}, Always: stateSyscalls(in, universe), Captured: map[int]bool{},
		Comm: map[string]plan.Mask{}, UID: map[uint32]plan.Mask{}, PathExact: map[string]plan.Mask{}, PathPrefix: map[string]plan.Mask{},
		Arg0: map[uint32]plan.Mask{}, Sock: map[plan.SockKey]plan.Mask{}, SockFamily: map[uint16]plan.Mask{},
		ExeExact: map[string]plan.Mask{}, ExePrefix: map[string]plan.Mask{}, Suffix: map[string]plan.Mask{},
	}
	var all plan.Mask
	for bit, c := range cls {
		all = all.With(bit)
		for _, s := range c.sys {
			t.Gate[s] = t.Gate[s].With(bit)
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
	for bit, c := range cls {
		if p.possibleMemo(c, d, r, k, p.memo) {
			m = m.With(bit)
		}
	}
	return m
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
