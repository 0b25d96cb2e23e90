package prefilter

import (
	"sort"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// The arg0, socket and exe dimensions (see the mapping in mapping.go).

// Address families the socket dimension distinguishes.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// eInProgress is connect's EINPROGRESS, a result that updates the table.
const eInProgress = 115

// classifyMore classifies the comparisons of the ptrace, socket and exe
// dimensions; false when c is none of them (the caller goes on).
func classifyMore(c *check.Cmp, sys int) (*atom, bool) {
	l := c.Left
	name, arg := l.Field.Name, ""
	if l.HasArg {
		if l.Index >= 0 {
			return nil, false
		}
		arg = l.Arg
	}
	var kind atomKind
	switch {
	case openFlagAtom(c, sys, name, arg):
		return &atom{kind: akOpenFlag, op: c.Op, strs: []string{c.Values[0].Text}}, true
	case sys == sysPtrace && name == "evt.arg" && arg == "request",
		isSocketCreate(sys) && name == "evt.arg" && arg == "domain" && domainOp(c.Op):
		kind = akArg0Str
	case sys == sysPtrace && name == "evt.rawarg" && arg == "request",
		isSocketCreate(sys) && name == "evt.rawarg" && arg == "domain":
		kind = akArg0Num
	case (sys == sysConnect || sys == sysBind || plan.IsExec(sys)) && resultOK(c, sys):
		if plan.IsExec(sys) {
			return &atom{kind: akExecOK, op: c.Op}, true
		}
		return &atom{kind: akSockOK, op: c.Op}, true
	case sys == sysConnect && (name == "fd.rport" || name == "fd.sport"),
		sys == sysBind && (name == "fd.lport" || name == "fd.sport"):
		kind = akSockPort
	case (sys == sysConnect || sys == sysBind) && name == "fd.typechar":
		kind = akSockType
	case (sys == sysConnect || sys == sysBind) && name == "fd.sockfamily":
		kind = akSockFam
	case (sys == sysSendto || sys == sysSendmsg) && sendFields[name]:
		if c.Op == syntax.OpRegex || c.Op == syntax.OpGlob || c.Op == syntax.OpPmatch {
			return nil, false
		}
		var a *atom
		var ok bool
		if name == "fd.connected" {
			a, ok = newBoolAtom(c)
		} else {
			a, ok = newStrAtom(akSendSock, c)
		}
		if !ok {
			return nil, false
		}
		a.kind = akSendSock
		a.sendField = name
		return a, true
	case plan.IsExec(sys) && name == "proc.exepath":
		if !isEqOp(c.Op) {
			return nil, false
		}
		kind = akExePath
	default:
		return nil, false
	}
	var a *atom
	var ok bool
	switch kind {
	case akArg0Num, akSockPort:
		a, ok = newNumAtom(c)
	default:
		a, ok = newStrAtom(kind, c)
	}
	if !ok {
		return nil, false
	}
	a.kind = kind
	a.domain = isSocketCreate(sys)
	return a, true
}

// openFlagAtom reports whether c is `evt.arg.flags contains O_CREAT` or
// `... contains O_TRUNC` on open, openat or openat2 (creat has no flags
// argument). The rendered flags hold each name exactly when its bit is set,
// and no other flag name contains either, so the open flags class judges
// it: O_TRUNC exactly, O_CREAT widened (the create class also holds
// O_TMPFILE).
func openFlagAtom(c *check.Cmp, sys int, name, arg string) bool {
	if !plan.IsOpenFamily(sys) || sys == sysCreat || name != "evt.arg" || arg != "flags" ||
		c.Op != syntax.OpContains || len(c.Values) != 1 {
		return false
	}
	v := c.Values[0].Text
	return v == "O_CREAT" || v == "O_TRUNC"
}

// isSocketCreate reports whether the syscall's first argument is an
// address family (socket, socketpair).
func isSocketCreate(id int) bool { return id == sysSocket || id == sysSocketpair }

// domainOp reports whether evt.arg.domain is judged with op: the kernel
// renders every candidate value's text, so only operators whose outcome
// on a number's decimal text is known are (see arg0StrDefault).
func domainOp(op syntax.Op) bool {
	switch op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpIn, syntax.OpContains:
		return true
	}
	return false
}

// resultOK reports whether c, on syscall sys, can only be true when the
// call updated the userspace state the dimension relies on: exec
// returned 0; connect returned 0 or -EINPROGRESS; bind returned 0. These
// calls return 0 or -errno (-4095 to -1).
func resultOK(c *check.Cmp, sys int) bool {
	l := c.Left
	if l.HasArg {
		return false
	}
	okNames := map[string]bool{"SUCCESS": true}
	okNum := func(v int64) bool { return v >= 0 }
	if sys == sysConnect {
		okNames["EINPROGRESS"] = true
		okNum = func(v int64) bool { return v >= 0 || v == -eInProgress }
	}
	switch l.Field.Name {
	case "evt.res":
		if !isEqOp(c.Op) || len(c.Values) == 0 {
			return false
		}
		for _, v := range c.Values {
			if !okNames[v.Text] {
				return false
			}
		}
		return true
	case "evt.rawres":
		if len(c.Values) == 0 {
			return false
		}
		switch c.Op {
		case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
			for _, v := range c.Values {
				if !okNum(v.Int) {
					return false
				}
			}
			return true
		case syntax.OpGe:
			return len(c.Values) == 1 && c.Values[0].Int >= 0
		case syntax.OpGt:
			return len(c.Values) == 1 && c.Values[0].Int >= -1
		}
	case "evt.failed":
		switch c.Op {
		case syntax.OpEq, syntax.OpEqEq:
			return len(c.Values) == 1 && !c.Values[0].Bool
		case syntax.OpNe:
			return len(c.Values) == 1 && c.Values[0].Bool
		}
	}
	return false
}

// partial reports whether the kernel uses an atom of this kind without
// deciding it (result atoms), or decides it only in some regions (the
// socket's type and family, in AF_UNIX only): the plan lists these with
// what userspace decides.
func (k atomKind) partial() bool {
	return k == akSockOK || k == akExecOK || k == akSockType || k == akSockFam || k == akSendSock
}

// sendFields are the descriptor fields judged on sendto and sendmsg.
var sendFields = map[string]bool{"fd.typechar": true, "fd.type": true, "fd.sockfamily": true, "fd.l4proto": true, "fd.connected": true}

// sendEval applies an akSendSock atom to one of sendValues' values.
func (a *atom) sendEval(v string) bool {
	if a.sendField == "fd.connected" {
		return a.evalBool(v == "true")
	}
	return a.evalStr(v)
}

// sendValues lists the values field can have in userspace for a socket
// of class key (see "Sendto and sendmsg"); none: the field is missing.
func sendValues(field string, key plan.SockKey) []string {
	if field == "fd.connected" {
		if key.Family == plan.SockClassInet && key.Port == plan.SockClassUDPConnected {
			return []string{"true"}
		}
		return []string{"true", "false"}
	}
	switch key.Family {
	case plan.SockClassInet:
		switch field {
		case "fd.typechar":
			return []string{"4", "6", "o"}
		case "fd.type":
			return []string{"ipv4", "ipv6", "<NA>"}
		case "fd.sockfamily":
			return []string{"ip"}
		case "fd.l4proto":
			switch key.Port {
			case plan.SockClassTCP:
				return []string{"tcp"}
			case plan.SockClassUDP, plan.SockClassUDPConnected:
				return []string{"udp", "tcp"}
			}
			return []string{"tcp", "udp", "icmp", "raw"}
		}
	case plan.SockClassUnix:
		switch field {
		case "fd.typechar":
			return []string{"u", "o"}
		case "fd.type":
			return []string{"unix", "<NA>"}
		case "fd.sockfamily":
			return []string{"unix"}
		}
	case plan.SockClassOther:
		switch field {
		case "fd.typechar":
			return []string{"n", "o"}
		case "fd.type":
			return []string{"netlink", "<NA>"}
		}
	}
	return nil
}

// sendClasses are the socket table keys of the sendto and sendmsg
// classes.
var sendClasses = []plan.SockKey{
	{Family: plan.SockClassInet, Port: plan.SockClassTCP}, {Family: plan.SockClassInet, Port: plan.SockClassUDP},
	{Family: plan.SockClassInet, Port: plan.SockClassUDPConnected},
	{Family: plan.SockClassInet, Port: plan.SockClassOther4}, {Family: plan.SockClassUnix}, {Family: plan.SockClassOther},
}

// memfdPossible reports whether an exepath atom can be true of a value
// userspace takes from /proc/PID/exe for a "memfd:" executable.
func (a *atom) memfdPossible() bool {
	for _, v := range a.strs {
		if strings.Contains(v, "/memfd:") {
			return true
		}
	}
	return false
}

// exeValue reports whether v can be a path the kernel judges as known for
// an exec (see [ExeKnown]).
func exeValue(v string) bool { return cleanAbs(v) && v != "/" }

// addMoreKeys adds the table keys of a ptrace, socket or exe atom.
func (a *atom) addMoreKeys(k *keySet) {
	switch a.kind {
	case akArg0Str, akArg0Num:
		if a.domain {
			k.domainUsed = true
		} else {
			k.ptraceUsed = true
		}
		if a.op == syntax.OpEq || a.op == syntax.OpEqEq || a.op == syntax.OpIn || a.op == syntax.OpNe {
			for _, v := range a.strs {
				if x, ok := a.arg0Value(v); ok {
					k.arg0[uint32(x)] = true
				}
			}
			for _, v := range a.nums {
				if v <= a.arg0Max() {
					k.arg0[uint32(v)] = true
				}
			}
		}
	case akSendSock:
		k.sendUsed = true
	case akSockPort:
		if a.op == syntax.OpEq || a.op == syntax.OpEqEq || a.op == syntax.OpIn || a.op == syntax.OpNe {
			for _, v := range a.nums {
				if v <= 0xffff {
					k.ports[uint16(v)] = true
				}
			}
		}
	case akExePath:
		for _, v := range a.strs {
			if exeValue(v) && !strings.Contains(v, "/memfd:") {
				k.exe[v] = true
			}
		}
	}
}

// arg0Max is the largest first argument userspace keeps: the request is
// 16 bits wide, the domain 32.
func (a *atom) arg0Max() uint64 {
	if a.domain {
		return 1<<32 - 1
	}
	return 0xffff
}

// arg0Text is evt.arg.request or evt.arg.domain for the value v userspace
// keeps.
func (a *atom) arg0Text(v uint64) string {
	if a.domain {
		return catalog.SocketDomainText(v)
	}
	return catalog.PtraceRequestText(v)
}

// arg0Value is the value (at most arg0Max) whose rendering is s, if any:
// a name, or a number as the runtime prints it.
func (a *atom) arg0Value(s string) (uint64, bool) {
	named := catalog.PtraceRequestValue
	if a.domain {
		named = catalog.SocketDomainValue
	}
	if v, ok := named(s); ok {
		return v, a.arg0Text(v) == s
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > a.arg0Max() || strconv.FormatUint(v, 10) != s || a.arg0Text(v) != s {
		return 0, false
	}
	return v, true
}

// arg0StrDefault reports whether evt.arg.domain can be true in the
// default entry: every named domain has an entry, so a value there renders
// as its decimal number (=, in: a number without an entry; contains: a
// string of digits).
func (a *atom) arg0StrDefault(k *keySet) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.strs {
			if x, err := strconv.ParseUint(v, 10, 32); err == nil && strconv.FormatUint(x, 10) == v && !k.arg0[uint32(x)] {
				return true
			}
		}
		return false
	case syntax.OpContains:
		return strings.Trim(a.strs[0], "0123456789") == ""
	}
	return true
}

// moreCanBeTrue is canBeTrue for the ptrace, socket and exe atoms.
func (a *atom) moreCanBeTrue(r region, k *keySet) bool {
	switch a.kind {
	case akArg0Str:
		if a.domain {
			if r.kind == rExact {
				return a.evalStr(a.arg0Text(r.n))
			}
			return a.arg0StrDefault(k)
		}
		if r.kind == rExact {
			return a.evalStr(a.arg0Text(r.n & 0xffff))
		}
		// Requests above 16 bits fall in the default entry and userspace
		// sees their low 16 bits: any value.
		return true
	case akArg0Num:
		if r.kind == rExact {
			return a.evalNum(r.n & a.arg0Max())
		}
		if a.domain && isEqOp(a.op) {
			for _, v := range a.nums {
				if v > 1<<32-1 || !k.arg0[uint32(v)] {
					return true
				}
			}
			return false
		}
		return true
	case akSockPort:
		switch r.kind {
		case rExact:
			return a.evalNum(uint64(r.port))
		case rFamily:
			if r.fam == afUnix {
				return false // a unix socket has no port
			}
			if isEqOp(a.op) {
				for _, v := range a.nums {
					if v <= 0xffff && !k.ports[uint16(v)] {
						return true
					}
				}
				return false
			}
		}
		return true
	case akSockType:
		if r.kind == rFamily && r.fam == afUnix {
			return a.evalStr("u")
		}
		return true
	case akSendSock:
		if r.kind != rSockClass {
			return true // a connect or bind region: not this syscall's
		}
		for _, v := range sendValues(a.sendField, plan.SockKey{Family: r.fam, Port: r.port}) {
			if a.sendEval(v) {
				return true
			}
		}
		return false
	case akSockFam:
		if r.kind == rFamily && r.fam == afUnix {
			return a.evalStr("unix")
		}
		return true
	case akExePath:
		if a.memfdPossible() {
			return true
		}
		switch r.kind {
		case rExact:
			return a.evalStr(r.s)
		case rDefault:
			for _, v := range a.strs {
				if exeValue(v) && !k.exe[v] {
					return true
				}
			}
			return false
		}
		return true
	}
	return true
}

// moreRegions lists the regions of the ptrace, socket and exe dimensions.
func moreRegions(d plan.Dim, k *keySet) []region {
	var out []region
	switch d {
	case plan.DimArg0:
		for _, v := range sortedU32(k.arg0Keys()) {
			out = append(out, region{kind: rExact, n: uint64(v)})
		}
		out = append(out, region{kind: rDefault})
	case plan.DimSock:
		for _, fam := range []uint16{afInet, afInet6} {
			for _, p := range sortedU16(k.ports) {
				out = append(out, region{kind: rExact, fam: fam, port: p})
			}
		}
		for _, fam := range []uint16{afUnix, afInet, afInet6} {
			out = append(out, region{kind: rFamily, fam: fam})
		}
		if k.sendUsed {
			for _, c := range sendClasses {
				out = append(out, region{kind: rSockClass, fam: c.Family, port: c.Port})
			}
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	case plan.DimExe:
		for _, e := range sortedStrings(k.exe) {
			out = append(out, region{kind: rExact, key: e, s: e})
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	}
	return out
}

// arg0Keys are the arg0 table's keys: the values the atoms name and,
// once any atom looks at the ptrace request (the socket domain), every
// named request (domain), so that the common values a rule does not name
// are dropped, and a domain in the default entry renders as a number.
func (k *keySet) arg0Keys() map[uint32]bool {
	if !k.ptraceUsed && !k.domainUsed {
		return nil
	}
	out := make(map[uint32]bool, len(k.arg0)+80)
	for v := range k.arg0 {
		out[v] = true
	}
	if k.ptraceUsed {
		for _, n := range catalog.PtraceRequestNames() {
			if v, ok := catalog.PtraceRequestValue(n); ok {
				out[uint32(v)] = true
			}
		}
	}
	if k.domainUsed {
		for _, n := range catalog.SocketDomainNames() {
			if v, ok := catalog.SocketDomainValue(n); ok {
				out[uint32(v)] = true
			}
		}
	}
	return out
}

func sortedU16(m map[uint16]bool) []uint16 {
	out := make([]uint16, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sockEntries is the number of socket table entries the key set needs.
func (k *keySet) sockEntries() int {
	n := 2*len(k.ports) + 3
	if k.sendUsed {
		n += len(sendClasses)
	}
	return n
}
