package prefilter

import (
	"sort"
	"strings"

	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// keySet collects the table keys of every atom of the plan.
type keySet struct {
	comm   map[string]bool
	uid    map[uint32]bool
	exact  map[string]bool // clean absolute paths (userspace values)
	prefix map[string]bool

	arg0       map[uint32]bool // first-argument values the atoms name
	ptraceUsed bool            // some atom looks at ptrace's request
	domainUsed bool            // some atom looks at a socket domain
	ports      map[uint16]bool // ports the socket atoms name
	exe        map[string]bool // exec paths the atoms name
	suffix     map[string]bool // path suffixes the atoms name
	sendUsed   bool            // some atom judges sendto's or sendmsg's socket class

	// regions caches regionsOf per dimension: a key set is complete
	// once [planner.keys] returns it, and the planner asks for the same
	// regions once per clause (pruneDead, dropTrivial, simplify).
	regions map[plan.Dim][]region
	// keyed and other cache, per dimension, the regions of regionsOf
	// that are table keys (exact and prefix entries), as a set, and the
	// others, in order.
	keyed map[plan.Dim]map[region]struct{}
	other map[plan.Dim][]region
}

// keyRegions returns the set of d's regions that are table keys, and the
// list of the others.
func (k *keySet) keyRegions(d plan.Dim) (map[region]struct{}, []region) {
	if m, ok := k.keyed[d]; ok {
		return m, k.other[d]
	}
	m := map[region]struct{}{}
	var other []region
	for _, r := range regionsOf(d, k) {
		if r.kind == rExact || r.kind == rPrefix {
			m[r] = struct{}{}
		} else {
			other = append(other, r)
		}
	}
	if k.keyed == nil {
		k.keyed, k.other = map[plan.Dim]map[region]struct{}{}, map[plan.Dim][]region{}
	}
	k.keyed[d], k.other[d] = m, other
	return m, other
}

func newKeySet() *keySet {
	return &keySet{comm: map[string]bool{}, uid: map[uint32]bool{}, exact: map[string]bool{}, prefix: map[string]bool{},
		arg0: map[uint32]bool{}, ports: map[uint16]bool{}, exe: map[string]bool{}, suffix: map[string]bool{}}
}

func (k *keySet) addExact(p string) {
	if cleanAbs(p) {
		k.exact[p] = true
	}
}

func (k *keySet) addPrefix(p string) {
	if p != "" && p[0] == '/' && len(p) <= plan.PathMax && strings.IndexByte(p, 0) < 0 {
		k.prefix[p] = true
	}
}

// pathEntries returns the exact entries of the path table, each with the
// path userspace sees for it. Besides the atoms' exact paths they hold:
// every exact path with a trailing slash (the kernel accepts "/etc/",
// userspace sees "/etc"), and every prefix key that ends in a slash as an
// exact entry for the path without it (so "/etc/" itself is not judged as
// "below /etc/").
func (k *keySet) pathEntries() map[string]string {
	out := map[string]string{}
	for e := range k.exact {
		out[e] = e
		if e != "/" && len(e)+1 <= plan.PathMax {
			out[e+"/"] = e
		}
	}
	for p := range k.prefix {
		if p != "/" && p[len(p)-1] == '/' {
			out[p] = pathNorm(p)
		}
	}
	return out
}

type regionKind uint8

const (
	rExact regionKind = iota
	rPrefix
	rDefault
	rUnknown
	rHost
	rInside
	rClass     // open flags class in n
	rFamily    // an address family (fam) with a port no entry names
	rSockClass // sendto's and sendmsg's socket class (plan.SockClassKey fam, port)
)

// region is a set of kernel values that one table entry stands for. For an
// exact path entry s is the path userspace sees.
type region struct {
	kind regionKind
	key  string // the table key (path entries)
	s    string
	n    uint64
	fam  uint16 // socket regions
	port uint16
}

// canBeTrue reports whether the atom can be true for a present value of
// its field in region r. (It can always be false: the field may be
// missing.)
func (a *atom) canBeTrue(r region, k *keySet) bool {
	if r.kind == rUnknown {
		return true
	}
	if a.neg {
		return a.canBeFalse(r, k)
	}
	switch a.kind {
	case akArg0Str, akArg0Num, akSockPort, akSockType, akSockFam, akSockOK, akExePath, akExecOK, akSendSock:
		return a.moreCanBeTrue(r, k)
	case akComm:
		if r.kind == rExact {
			return a.evalStr(r.s)
		}
		if isEqOp(a.op) {
			for _, v := range a.strs {
				if !k.comm[v] {
					return true
				}
			}
			return false
		}
		return true
	case akUID:
		if r.kind == rExact {
			return a.evalNum(r.n)
		}
		if isEqOp(a.op) {
			for _, v := range a.nums {
				if v > 1<<32-1 || !k.uid[uint32(v)] {
					return true
				}
			}
			return false
		}
		return true
	case akContainer:
		switch r.kind {
		case rHost:
			return a.evalStr("host")
		case rInside:
			if isEqOp(a.op) {
				for _, v := range a.strs {
					if v != "host" {
						return true
					}
				}
				return false
			}
		}
		return true
	case akOpenRead:
		return a.evalBool(r.n&plan.OpenRead != 0)
	case akOpenWrite:
		return a.evalBool(r.n&plan.OpenWrite != 0)
	case akOpenFlag:
		if a.strs[0] == "O_TRUNC" {
			return r.n&plan.OpenTrunc != 0
		}
		return r.n&plan.OpenCreate != 0
	case akFdName:
		if r.kind == rExact {
			return a.evalStr(r.s)
		}
		return a.nameCanBeTrue(r, k)
	case akFdDir:
		if r.kind == rExact {
			return a.evalStr(r.s) || a.evalStr(dirOf(r.s))
		}
		return a.dirCanBeTrue(r, k)
	case akNameRaw: // every region but Unknown holds known paths only
		return !a.rawImpossible()
	case akSuffix:
		for _, x := range a.strs {
			if suffixPossible(x, r, k) {
				return true
			}
		}
		return false
	}
	return true
}

// longestEntry is the longest suffix table key that x ends with, or "".
func longestEntry(x string, k *keySet) string {
	for l := min(len(x), plan.SuffixMax); l > 0; l-- {
		if k.suffix[x[len(x)-l:]] {
			return x[len(x)-l:]
		}
	}
	return ""
}

// suffixPossible: can a known path in region r of the suffix dimension
// (the entry r.s is its longest matching key; rDefault: no key matches)
// end with x?
func suffixPossible(x string, r region, k *keySet) bool {
	switch r.kind {
	case rExact:
		if strings.HasSuffix(r.s, x) {
			return true // every path of the region ends with r.s
		}
		// A path ending with x ends with every key x ends with: it is in
		// r's region only if r.s is the longest of them.
		return strings.HasSuffix(x, r.s) && longestEntry(x, k) == r.s
	case rDefault:
		return longestEntry(x, k) == ""
	}
	return true
}

func isEqOp(op syntax.Op) bool { return op == syntax.OpEq || op == syntax.OpEqEq || op == syntax.OpIn }

// eqPossible: can a path in region r (prefix or default) be v?
func eqPossible(v string, r region, k *keySet) bool {
	if !cleanAbs(v) || k.exact[v] {
		return false
	}
	if r.kind == rPrefix {
		return strings.HasPrefix(v, r.s)
	}
	for p := range k.prefix {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	return true
}

// prefixPossible: can a path in region r (prefix or default) start with p?
func prefixPossible(p string, r region, k *keySet) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' || len(p) > plan.PathMax {
		return false
	}
	if r.kind == rPrefix {
		if strings.HasPrefix(r.s, p) {
			return true
		}
		return strings.HasPrefix(p, r.s) && !k.prefix[p]
	}
	return !k.prefix[p]
}

func (a *atom) nameCanBeTrue(r region, k *keySet) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.strs {
			if eqPossible(v, r, k) {
				return true
			}
		}
		return false
	case syntax.OpStartsWith:
		return prefixPossible(a.strs[0], r, k)
	case syntax.OpPmatch:
		for _, v := range a.strs {
			p, _ := pmatchPath(v)
			if p == "/" || eqPossible(p, r, k) || prefixPossible(p+"/", r, k) {
				return true
			}
		}
		return false
	}
	return true
}

func (a *atom) dirCanBeTrue(r region, k *keySet) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.strs {
			if eqPossible(v, r, k) { // a directory opened as itself
				return true
			}
			if !cleanAbs(v) {
				continue
			}
			dp := dirPrefix(v)
			if len(dp) > plan.PathMax {
				continue
			}
			if r.kind == rPrefix {
				if r.s == dp || strings.HasPrefix(r.s, dp) && !strings.Contains(r.s[len(dp):], "/") {
					return true
				}
				if strings.HasPrefix(dp, r.s) && !k.prefix[dp] {
					return true
				}
			} else if !k.prefix[dp] {
				return true
			}
		}
		return false
	case syntax.OpStartsWith:
		return prefixPossible(a.strs[0], r, k)
	case syntax.OpPmatch:
		for _, v := range a.strs {
			p, _ := pmatchPath(v)
			if p == "/" || eqPossible(p, r, k) || prefixPossible(p+"/", r, k) {
				return true
			}
		}
		return false
	}
	return true
}

// regionsOf lists the regions of a dimension for the key set.
// The slice returned is shared: callers must not modify it.
func regionsOf(d plan.Dim, k *keySet) []region {
	if r, ok := k.regions[d]; ok {
		return r
	}
	out := buildRegions(d, k)
	if k.regions == nil {
		k.regions = map[plan.Dim][]region{}
	}
	k.regions[d] = out
	return out
}

func buildRegions(d plan.Dim, k *keySet) []region {
	var out []region
	switch d {
	case plan.DimComm:
		for _, c := range sortedStrings(k.comm) {
			out = append(out, region{kind: rExact, key: c, s: c})
		}
		out = append(out, region{kind: rDefault})
	case plan.DimUID:
		for _, u := range sortedU32(k.uid) {
			out = append(out, region{kind: rExact, n: uint64(u)})
		}
		out = append(out, region{kind: rDefault})
	case plan.DimContainer:
		out = append(out, region{kind: rHost}, region{kind: rInside}, region{kind: rUnknown})
	case plan.DimOpenFlags:
		for c := range 16 {
			out = append(out, region{kind: rClass, n: uint64(c)})
		}
	case plan.DimPath:
		ents := k.pathEntries()
		keys := make([]string, 0, len(ents))
		for e := range ents {
			keys = append(keys, e)
		}
		sort.Strings(keys)
		for _, e := range keys {
			out = append(out, region{kind: rExact, key: e, s: ents[e]})
		}
		for _, p := range sortedStrings(k.prefix) {
			out = append(out, region{kind: rPrefix, key: p, s: p})
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	case plan.DimSuffix:
		for _, s := range sortedStrings(k.suffix) {
			out = append(out, region{kind: rExact, key: s, s: s})
		}
		out = append(out, region{kind: rDefault}, region{kind: rUnknown})
	case plan.DimArg0, plan.DimSock, plan.DimExe:
		out = moreRegions(d, k)
	default:
		out = append(out, region{kind: rUnknown})
	}
	return out
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func sortedU32(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortInts(s []int) { sort.Ints(s) }
