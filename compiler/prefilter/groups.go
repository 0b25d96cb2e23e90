package prefilter

import (
	"strings"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// Field groups. The fields of a group read one userspace record, so they
// are missing together: the thread's fields when the thread is not in the
// state tables, the descriptor's when the open family's descriptor is not
// (runtime/extract: thStr, thUint, parentF and containerID return nothing
// without the thread; fdStr without the descriptor, which a failed open
// builds from its path). A condition reading a group is planned twice,
// the results or-ed:
//
//   - group missing: every comparison on a field of the group is false
//     (Falco's rule), so `not <cmp>` is true;
//   - group present: the fields the kernel judges have the kernel's value
//     (the mapping's assumptions), so a negated kernel atom is judged like
//     any atom, as true where the field's value cannot satisfy the
//     comparison.
//
// Only the "whole" members are present whenever the group is (proc.name,
// user.uid, container.id; fd.name, fd.nameraw, fd.type, fd.typechar); the
// others may be missing on their own (a parent, fd.directory of a socket),
// so their negations are never judged. Every other field may be missing
// independently of any other: its negation is never judged.
type group uint8

const (
	grpThread group = 1 << iota
	grpFD
)

// presence is one case of the planning: the groups assumed missing, and
// those assumed present.
type presence struct {
	missing, present group
}

// threadFields are read from the event's thread; whole: present whenever
// the thread is.
var threadFields = map[string]bool{
	"proc.name": true, "user.uid": true, "container.id": true,
	"proc.exe": false, "proc.exepath": false, "proc.cmdline": false, "proc.exeline": false,
	"proc.cwd": false, "proc.pid": false, "proc.ppid": false, "proc.pname": false, "proc.pexe": false,
	"proc.pexepath": false, "proc.pcmdline": false, "proc.cmdnargs": false, "proc.tty": false,
	"proc.sid": false, "proc.vpid": false, "proc.vpgid": false, "proc.pgid": false,
	"user.loginuid": false,
}

// fdFields are read from the open family's descriptor (open family only).
var fdFields = map[string]bool{
	"fd.name": true, "fd.nameraw": true, "fd.type": true, "fd.typechar": true,
	"fd.directory": false, "fd.filename": false,
}

// groupOf returns the group of the field c compares on syscall sys (0 for
// none), and whether the field is present whenever the group is.
func groupOf(c *check.Cmp, sys int) (group, bool) {
	l := c.Left
	if l == nil || l.Kind != check.OperandField || l.Field == nil || l.HasArg || c.Mod != syntax.ModNone {
		return 0, false
	}
	if whole, ok := threadFields[l.Field.Name]; ok {
		return grpThread, whole
	}
	if whole, ok := fdFields[l.Field.Name]; ok && plan.IsOpenFamily(sys) {
		return grpFD, whole
	}
	return 0, false
}

// groupsUsed returns the groups whose fields e compares on syscall sys.
func groupsUsed(e check.Expr, sys int) group {
	switch n := e.(type) {
	case *check.And:
		var g group
		for _, t := range n.Terms {
			g |= groupsUsed(t, sys)
		}
		return g
	case *check.Or:
		var g group
		for _, t := range n.Terms {
			g |= groupsUsed(t, sys)
		}
		return g
	case *check.Not:
		return groupsUsed(n.X, sys)
	case *check.Cmp:
		g, _ := groupOf(n, sys)
		return g
	}
	return 0
}

// negated returns the atom "not a", for a present field.
func (a *atom) negated() *atom {
	n := *a
	n.neg = !a.neg
	if n.neg {
		n.text = "not " + a.text
	} else {
		n.text = strings.TrimPrefix(a.text, "not ")
	}
	return &n
}

// canBeFalse reports whether the atom can be false for a present value of
// its field in region r: true unless the region decides it.
func (a *atom) canBeFalse(r region, k *keySet) bool {
	if r.kind == rUnknown {
		return true
	}
	switch a.kind {
	case akComm:
		if r.kind == rExact {
			return !a.evalStr(r.s)
		}
	case akUID:
		if r.kind == rExact {
			return !a.evalNum(r.n)
		}
	case akContainer:
		switch r.kind {
		case rHost:
			return !a.evalStr("host")
		case rInside: // some id other than "host"
			return !(a.op == syntax.OpExists || a.op == syntax.OpNe && a.strs[0] == "host")
		}
	case akNameRaw:
		return true // known paths never satisfy what rawImpossible rejects: its negation is always true
	case akSuffix: // fd.name endswith x (fd.filename is never whole)
		if r.kind == rExact && len(a.strs) == 1 {
			return !strings.HasSuffix(r.s, a.strs[0])
		}
	case akFdName:
		switch r.kind {
		case rExact:
			return !a.evalStr(r.s)
		case rPrefix: // a path that starts with r.s
			switch a.op {
			case syntax.OpStartsWith:
				return !strings.HasPrefix(r.s, a.strs[0])
			case syntax.OpPmatch:
				for _, v := range a.strs {
					if p, _ := pmatchPath(v); p == "/" || strings.HasPrefix(r.s, p+"/") {
						return false
					}
				}
			}
		}
	}
	return true
}
