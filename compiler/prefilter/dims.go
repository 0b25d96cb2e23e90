package prefilter

import (
	"sort"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// The ptrace, socket and exe dimensions (see the mapping in mapping.go).

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
	case sys == sysPtrace && name == "evt.arg" && arg == "request":
		kind = akPtraceStr
	case sys == sysPtrace && name == "evt.rawarg" && arg == "request":
		kind = akPtraceNum
	case (sys == sysConnect || sys == sysBind || isExec(sys)) && resultOK(c, sys):
		if isExec(sys) {
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
	case isExec(sys) && name == "proc.exepath":
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
	case akPtraceNum, akSockPort:
		a, ok = newNumAtom(c)
	default:
		a, ok = newStrAtom(kind, c)
	}
	if !ok {
		return nil, false
	}
	a.kind = kind
	return a, true
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
	return k == akSockOK || k == akExecOK || k == akSockType || k == akSockFam
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

// ExeKnown reports whether the kernel matches p, an exec'd program's
// path, against the exe table: [PathKnown] and not ending in "/".
func ExeKnown(p string) bool {
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return PathKnown(p) && !strings.HasSuffix(p, "/")
}

// addMoreKeys adds the table keys of a ptrace, socket or exe atom.
func (a *atom) addMoreKeys(k *keySet) {
	switch a.kind {
	case akPtraceStr, akPtraceNum:
		k.ptraceUsed = true
		if a.op == syntax.OpEq || a.op == syntax.OpEqEq || a.op == syntax.OpIn || a.op == syntax.OpNe {
			for _, v := range a.strs {
				if x, ok := ptraceValue(v); ok {
					k.ptrace[uint32(x)] = true
				}
			}
			for _, v := range a.nums {
				if v <= 0xffff {
					k.ptrace[uint32(v)] = true
				}
			}
		}
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

// ptraceValue is the request value whose rendering is s, if any: a name,
// or a number as the runtime prints it.
func ptraceValue(s string) (uint64, bool) {
	if v, ok := catalog.PtraceRequestValue(s); ok {
		return v, catalog.PtraceRequestText(v) == s
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || strconv.FormatUint(v, 10) != s || catalog.PtraceRequestText(v) != s {
		return 0, false
	}
	return v, true
}

// moreCanBeTrue is canBeTrue for the ptrace, socket and exe atoms.
func (a *atom) moreCanBeTrue(r region, k *keySet) bool {
	switch a.kind {
	case akPtraceStr:
		if r.kind == rExact {
			return a.evalStr(catalog.PtraceRequestText(r.n))
		}
		// Requests above 16 bits fall in the default entry and userspace
		// sees their low 16 bits: any value.
		return true
	case akPtraceNum:
		if r.kind == rExact {
			return a.evalNum(r.n)
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
func moreRegions(d Dim, k *keySet) []region {
	var out []region
	switch d {
	case DimPtrace:
		for _, v := range sortedU32(k.ptraceKeys()) {
			out = append(out, region{kind: rExact, n: uint64(v)})
		}
		out = append(out, region{kind: rDefault})
	case DimSock:
		for _, fam := range []uint16{afInet, afInet6} {
			for _, p := range sortedU16(k.ports) {
				out = append(out, region{kind: rExact, fam: fam, port: p})
			}
		}
		for _, fam := range []uint16{afUnix, afInet, afInet6} {
			out = append(out, region{kind: rFamily, fam: fam})
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	case DimExe:
		for _, e := range sortedStrings(k.exe) {
			out = append(out, region{kind: rExact, key: e, s: e})
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	}
	return out
}

// ptraceKeys are the ptrace table's keys: the values the atoms name and,
// once any atom looks at the request, every named request, so that the
// common requests a rule does not name are dropped.
func (k *keySet) ptraceKeys() map[uint32]bool {
	if !k.ptraceUsed {
		return nil
	}
	out := make(map[uint32]bool, len(k.ptrace)+40)
	for v := range k.ptrace {
		out[v] = true
	}
	for _, n := range catalog.PtraceRequestNames() {
		if v, ok := catalog.PtraceRequestValue(n); ok {
			out[uint32(v)] = true
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
func (k *keySet) sockEntries() int { return 2*len(k.ports) + 3 }
