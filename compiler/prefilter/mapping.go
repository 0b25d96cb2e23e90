package prefilter

import (
	"path"
	"regexp"
	"strings"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// The field mapping: which comparisons the kernel can judge, on which
// syscalls, and from which fact.
//
//	field          syscalls                   kernel fact           assumption about userspace
//	evt.type       all                        the syscall id        exact
//	proc.name      all                        task comm (15 bytes)  the thread's comm is kept equal to the
//	                                                                kernel's (exec, prctl PR_SET_NAME)
//	user.uid       all                        cred->euid            user.uid is the effective uid, kept by
//	                                                                exec and the setuid family
//	container.id   all                        cgroup class          "host" exactly when the cgroup table
//	                                                                says host; any other id inside
//	evt.is_open_read/write  open, openat,     open flags class      computed from the same flags
//	                        openat2, creat
//	fd.name        open, openat, openat2,     first path argument   fd.name is the argument cleaned
//	fd.directory   creat                      (absolute, clean)     (a trailing '/' dropped)
//
//	evt.arg.request   ptrace                  Arg0 (u32 of the      evt.arg.request renders the low 16 bits
//	evt.rawarg.request                        first argument)       (catalog.PtraceRequestText); rawarg is them
//	evt.arg.domain    socket, socketpair      Arg0 (u32)            evt.arg.domain renders the 32 bits
//	evt.rawarg.domain (arg: =, !=, in,                              (catalog.SocketDomainText); rawarg is them
//	                  contains only)
//	fd.rport, fd.sport connect                family and port of    see "Sockets" below
//	fd.lport, fd.sport bind                   the caller's address
//	fd.typechar, fd.sockfamily connect, bind
//	proc.exepath   execve, execveat           the program's path    see "Exec" below
//	               (=, in only)               (bprm->filename)
//
// Sockets. The kernel judges the address the caller passed to connect or
// bind; userspace reads the descriptor table, which connect updates only
// when it returns 0 or EINPROGRESS and bind only when it succeeds. After a
// failed call the table may hold a stale address, so the socket dimension
// is trusted only inside a conjunction that also requires the call to have
// updated the table: a "result" atom (evt.res = SUCCESS, evt.res in
// (SUCCESS, EINPROGRESS) on connect, evt.rawres >= 0, evt.rawres = 0,
// evt.failed = false; connect and bind return 0 or -errno, never more). A
// conjunction without one is possible in every region. After an update:
//   - family AF_INET or AF_INET6, port P: the entry's remote (connect) or
//     local (bind) address has port P, so fd.rport / fd.lport / fd.sport
//     are P, or missing when the entry is a stale unix socket. The
//     entry's type may be stale (a socket whose close was not seen), so
//     fd.typechar and fd.sockfamily are not judged there.
//   - family AF_UNIX: the entry becomes a unix socket: fd.typechar is u,
//     fd.sockfamily is unix, the ports are missing.
//   - any other family (AF_UNSPEC disconnects): nothing is judged.
// fd.port (either end), fd.cport and the other end's port are opaque.
//
// Sendto and sendmsg. Userspace does not update the descriptor table on
// them: fd.* read the entry socket, socketpair, connect, bind, accept or
// the /proc scan made. The kernel judges the socket behind the
// descriptor (not the destination address): its class (plan.SockClassKey:
// IP, unix or other family; for IP, TCP (stream), UDP (datagram) or
// other), from which an entry userspace made for that socket has:
//
//	class       fd.typechar  fd.type           fd.sockfamily  fd.l4proto               fd.connected
//	IP, TCP     4 6 o        ipv4 ipv6 <NA>    ip             tcp                      true false
//	IP, UDP     4 6 o        ipv4 ipv6 <NA>    ip             udp tcp                  true false
//	IP, UDP     4 6 o        ipv4 ipv6 <NA>    ip             udp tcp                  true
//	 connected
//	IP, other   4 6 o        ipv4 ipv6 <NA>    ip             tcp udp icmp raw         true false
//	unix        u o          unix <NA>         unix           (missing)                true false
//	other       n o          netlink <NA>      (missing)      (missing)                true false
//
// ("o", "<NA>": a socket the /proc scan could not type, whose
// fd.connected is missing; "tcp" on a UDP socket: an entry connect or
// bind made for a socket userspace did not know; IPv4 and IPv6 are one
// class because accept types an entry from the address, a v4-mapped one
// as ipv4. A UDP socket is connected (TCP_ESTABLISHED) only by connect,
// which userspace applies: then its entry says connected. A TCP socket
// can be connected by sendto itself (TCP fast open), a socketpair's unix
// sockets are connected without userspace knowing: their fd.connected is
// not judged.) The assumption is that an
// entry, when present, was made for the socket the descriptor holds now
// (the descriptor table is exact: as for the descriptor marks, io_uring
// operations and lost events are the exceptions). Every value may also be
// missing (no entry), so only comparisons, never their negations, are
// judged (the descriptor is in no field group), and no result atom is
// needed. The ports are not judged: the entry's port is what connect,
// bind or accept left, and a UDP connect to AF_UNSPEC leaves userspace a
// port the socket no longer has.
//
// Exec. The kernel judges bprm->filename on success (the filename argument
// on failure; relative, unnormalised, "/" or ending in "/": unknown).
// After a successful exec userspace sets proc.exepath to the same string,
// except that for an executable whose file name starts with "memfd:" it
// reads /proc/PID/exe instead ("/memfd:NAME (deleted)", or the resolved
// path of a file named "memfd:..."). A failed exec leaves the old
// proc.exepath. So, as for sockets, the exe dimension is trusted only with
// a result atom (evt.res = SUCCESS ...: execve returns 0 on success), and
// a value containing "/memfd:" is possible in every region. That leaves
// = and in: startswith and pmatch can always be true of some "memfd:"
// file's resolved path, so they are opaque. One race is accepted: if the
// process execs again before userspace reads /proc/PID/exe, the first
// exec's proc.exepath is the second program's path.
//
// Ptrace. The kernel keys the low 32 bits of the request, userspace keeps
// the low 16 bits (the parameter is 16 bits wide). The table holds every
// named request and every value the rules name, judged exactly; its
// default entry also holds requests above 16 bits, whose low 16 bits can
// be anything, so it holds every clause.
//
// Arg0. Ptrace's request and the socket's domain share one table (the
// kernel looks up the first argument of every syscall whose dims name
// it). An entry's mask holds, per syscall, the clauses of that syscall
// possible for the value; the gate then keeps only the syscall's own, so
// one entry can serve both. The ptrace keys are the named requests and the
// values the rules name (see Ptrace); the domain keys are every named
// family and the values the rules name, so a domain in the default entry
// renders as its decimal number: there =, in and contains are decided on
// that text, other string operators are opaque.
//
// Replays. runtime/kplan.UserJudge feeds this mapping the values the rules
// read rather than the kernel's: proc.exepath after a successful exec, the
// descriptor's remote (connect) or local (bind) address after an update,
// the 16-bit request. Each lies in the region the mapping says it does.
//
// Every other comparison is opaque to the kernel. Not planned, on purpose:
//   - evt.arg.flags: its rendering lives in the runtime's flag tables.
//   - proc.exe on execve: it is argv[0], unrelated to the path.
//
// Every mapped field may be missing in userspace (an unknown thread or
// descriptor), which makes the comparison false: so a negated comparison is
// narrowed only when its group is known present (see groups.go).

// Syscall ids (x86_64) the mapping refers to.
const (
	sysOpen       = 2
	sysSocket     = 41
	sysConnect    = 42
	sysSendto     = 44
	sysSendmsg    = 46
	sysBind       = 49
	sysSocketpair = 53
	sysExecve     = 59
	sysCreat      = 85
	sysPtrace     = 101
	sysOpenat     = 257
	sysExecveat   = 322
	sysOpenat2    = 437
)

type atomKind uint8

const (
	akComm atomKind = iota + 1
	akUID
	akContainer
	akOpenRead
	akOpenWrite
	akFdName
	akFdDir
	akArg0Str  // evt.arg.request
	akArg0Num  // evt.rawarg.request
	akSockPort // the port of the caller's address
	akSockType // fd.typechar
	akSockFam  // fd.sockfamily
	akSockOK   // a result that updated the descriptor table
	akExePath  // proc.exepath
	akExecOK   // a successful exec
	akOpenFlag // evt.arg.flags contains O_CREAT or O_TRUNC (open family)
	akSuffix   // fd.name endswith, fd.filename = / in: the path ends with one of strs
	akNameRaw  // fd.nameraw (open family): judged on known paths only
	akSendSock // fd.typechar, fd.type, fd.sockfamily, fd.l4proto on sendto, sendmsg (field in sendField)
)

func (k atomKind) dim() plan.Dim {
	switch k {
	case akComm:
		return plan.DimComm
	case akUID:
		return plan.DimUID
	case akContainer:
		return plan.DimContainer
	case akOpenRead, akOpenWrite, akOpenFlag:
		return plan.DimOpenFlags
	case akArg0Str, akArg0Num:
		return plan.DimArg0
	case akSockPort, akSockType, akSockFam, akSockOK, akSendSock:
		return plan.DimSock
	case akExePath, akExecOK:
		return plan.DimExe
	case akSuffix:
		return plan.DimSuffix
	}
	return plan.DimPath
}

// isResult reports whether the atom is a result atom (see "Sockets").
func (k atomKind) isResult() bool { return k == akSockOK || k == akExecOK }

// atom is a comparison the kernel can judge on one dimension.
type atom struct {
	kind atomKind
	op   syntax.Op
	strs []string
	nums []uint64
	b    []bool
	re   *regexp.Regexp
	text string
	// domain: an arg0 atom on a socket domain (else a ptrace request).
	domain bool
	// neg: the atom is "not <cmp>" on a present field (see groups.go).
	neg bool
	// sendField is the field of an akSendSock atom.
	sendField string
}

// outcome of classifying a comparison for one syscall.
type outcome uint8

const (
	outOpaque outcome = iota
	outTrue
	outFalse
	outAtom
)

// classify decides what a comparison is for the kernel on syscall sys
// (named name).
func classify(c *check.Cmp, sys int, name string) (outcome, *atom) {
	l := c.Left
	if l == nil || l.Kind != check.OperandField || l.Field == nil || c.Right != nil || c.Mod != syntax.ModNone {
		return outOpaque, nil
	}
	if l.HasArg && l.Field.Name != "evt.type" && l.Field.Name != "evt.arg" && l.Field.Name != "evt.rawarg" {
		return outOpaque, nil
	}
	if a, ok := classifyMore(c, sys); ok {
		a.text = check.Format(c)
		return outAtom, a
	}
	if plan.IsOpenFamily(sys) && !l.HasArg && (l.Field.Name == "fd.filename" || l.Field.Name == "fd.name" && c.Op == syntax.OpEndsWith) {
		a, ok := suffixAtom(c)
		if !ok {
			return outOpaque, nil
		}
		a.text = check.Format(c)
		return outAtom, a
	}
	var kind atomKind
	switch l.Field.Name {
	case "evt.type":
		if l.HasArg {
			return outOpaque, nil
		}
		a, ok := newStrAtom(0, c)
		if !ok {
			return outOpaque, nil
		}
		if a.evalStr(name) {
			return outTrue, nil
		}
		return outFalse, nil
	case "proc.name":
		kind = akComm
	case "user.uid":
		kind = akUID
	case "container.id":
		kind = akContainer
	case "evt.is_open_read":
		kind = akOpenRead
	case "evt.is_open_write":
		kind = akOpenWrite
	case "fd.name":
		kind = akFdName
	case "fd.directory":
		kind = akFdDir
	case "fd.nameraw":
		kind = akNameRaw
	default:
		return outOpaque, nil
	}

	if (kind == akOpenRead || kind == akOpenWrite || kind == akFdName || kind == akFdDir || kind == akNameRaw) && !plan.IsOpenFamily(sys) {
		return outOpaque, nil
	}
	var a *atom
	var ok bool
	switch kind {
	case akUID:
		a, ok = newNumAtom(c)
	case akOpenRead, akOpenWrite:
		a, ok = newBoolAtom(c)
	default:
		a, ok = newStrAtom(kind, c)
	}
	if !ok {
		return outOpaque, nil
	}
	a.kind = kind
	a.text = check.Format(c)
	return outAtom, a
}

func newStrAtom(kind atomKind, c *check.Cmp) (*atom, bool) {
	a := &atom{kind: kind, op: c.Op}
	switch c.Op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith,
		syntax.OpContains, syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe, syntax.OpExists:
	case syntax.OpRegex:
		if len(c.Values) != 1 {
			return nil, false
		}
		re, err := regexp.Compile(c.Values[0].Regex)
		if err != nil {
			return nil, false
		}
		a.re = re
	case syntax.OpGlob:
		if kind != akNameRaw || len(c.Values) != 1 {
			return nil, false
		}
	case syntax.OpPmatch:
		if kind != akFdName && kind != akFdDir {
			return nil, false
		}
		for _, v := range c.Values {
			if _, ok := pmatchPath(v.Text); !ok {
				return nil, false
			}
		}
	default:
		return nil, false
	}
	if c.Op != syntax.OpExists && c.Op != syntax.OpIn && c.Op != syntax.OpPmatch && len(c.Values) != 1 {
		return nil, false
	}
	for _, v := range c.Values {
		a.strs = append(a.strs, v.Text)
	}
	return a, true
}

func newNumAtom(c *check.Cmp) (*atom, bool) {
	a := &atom{op: c.Op}
	switch c.Op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe:
		if len(c.Values) != 1 {
			return nil, false
		}
	case syntax.OpIn, syntax.OpExists:
	default:
		return nil, false
	}
	for _, v := range c.Values {
		a.nums = append(a.nums, v.Uint)
	}
	return a, true
}

func newBoolAtom(c *check.Cmp) (*atom, bool) {
	a := &atom{op: c.Op}
	switch c.Op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe:
		if len(c.Values) != 1 {
			return nil, false
		}
	case syntax.OpIn, syntax.OpExists:
	default:
		return nil, false
	}
	for _, v := range c.Values {
		a.b = append(a.b, v.Bool)
	}
	return a, true
}

// pmatchPath returns the path a pmatch value stands for, when the kernel
// can reason about it: absolute, no wildcard, no "." or ".." component.
// Repeated and trailing slashes are dropped as the VM's prefix tree does.
func pmatchPath(v string) (string, bool) {
	if v == "" || v[0] != '/' || strings.ContainsAny(v, "*?[]\\") {
		return "", false
	}
	if cleanSegments(v) {
		return v, true // already what the loop below would build
	}
	var parts []string
	for _, p := range strings.Split(v[1:], "/") {
		switch p {
		case "":
			continue
		case ".", "..":
			return "", false
		}
		parts = append(parts, p)
	}
	return "/" + strings.Join(parts, "/"), true
}

// evalStr applies a string atom to a present value s.
func (a *atom) evalStr(s string) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.strs {
			if s == v {
				return true
			}
		}
		return false
	case syntax.OpNe:
		return s != a.strs[0]
	case syntax.OpStartsWith:
		return strings.HasPrefix(s, a.strs[0])
	case syntax.OpEndsWith:
		return strings.HasSuffix(s, a.strs[0])
	case syntax.OpContains:
		return strings.Contains(s, a.strs[0])
	case syntax.OpLt:
		return s < a.strs[0]
	case syntax.OpLe:
		return s <= a.strs[0]
	case syntax.OpGt:
		return s > a.strs[0]
	case syntax.OpGe:
		return s >= a.strs[0]
	case syntax.OpExists:
		return true
	case syntax.OpRegex:
		return a.re.MatchString(s)
	case syntax.OpPmatch:
		for _, v := range a.strs {
			p, _ := pmatchPath(v)
			if p == "/" && strings.HasPrefix(s, "/") || s == p || strings.HasPrefix(s, p+"/") {
				return true
			}
		}
		return false
	}
	return true
}

func (a *atom) evalNum(x uint64) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.nums {
			if x == v {
				return true
			}
		}
		return false
	case syntax.OpNe:
		return x != a.nums[0]
	case syntax.OpLt:
		return x < a.nums[0]
	case syntax.OpLe:
		return x <= a.nums[0]
	case syntax.OpGt:
		return x > a.nums[0]
	case syntax.OpGe:
		return x >= a.nums[0]
	}
	return true
}

func (a *atom) evalBool(x bool) bool {
	switch a.op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
		for _, v := range a.b {
			if x == v {
				return true
			}
		}
		return false
	case syntax.OpNe:
		return x != a.b[0]
	}
	return true
}

// keysOf returns the table keys the atom wants in its dimension.
func (a *atom) addKeys(k *keySet) {
	switch a.kind {
	case akArg0Str, akArg0Num, akSockPort, akExePath, akSendSock:
		a.addMoreKeys(k)
	case akSuffix:
		for _, s := range a.strs {
			k.suffix[s] = true
		}
	case akComm:
		if a.op == syntax.OpEq || a.op == syntax.OpEqEq || a.op == syntax.OpIn || a.op == syntax.OpNe {
			for _, v := range a.strs {
				if validComm(v) {
					k.comm[v] = true
				}
			}
		}
	case akUID:
		if a.op == syntax.OpEq || a.op == syntax.OpEqEq || a.op == syntax.OpIn || a.op == syntax.OpNe {
			for _, v := range a.nums {
				if v <= 1<<32-1 {
					k.uid[uint32(v)] = true
				}
			}
		}
	case akFdName:
		switch a.op {
		case syntax.OpEq, syntax.OpEqEq, syntax.OpIn, syntax.OpNe:
			for _, v := range a.strs {
				k.addExact(v)
			}
		case syntax.OpStartsWith:
			k.addPrefix(a.strs[0])
		case syntax.OpPmatch:
			for _, v := range a.strs {
				p, _ := pmatchPath(v)
				k.addExact(p)
				k.addPrefix(p + "/")
			}
		}
	case akFdDir:
		switch a.op {
		case syntax.OpEq, syntax.OpEqEq, syntax.OpIn:
			for _, v := range a.strs {
				k.addExact(v)
				k.addPrefix(dirPrefix(v))
			}
		case syntax.OpStartsWith:
			k.addPrefix(a.strs[0])
		case syntax.OpPmatch:
			for _, v := range a.strs {
				p, _ := pmatchPath(v)
				k.addExact(p)
				k.addPrefix(p + "/")
			}
		}
	}
}

func validComm(s string) bool {
	return len(s) > 0 && len(s) <= plan.CommMax && strings.IndexByte(s, 0) < 0
}

// cleanAbs reports whether p is a path the kernel can hold as known and
// userspace would leave unchanged: absolute, clean, at most PathMax bytes.
func cleanAbs(p string) bool {
	return p != "" && p[0] == '/' && len(p) <= plan.PathMax && path.Clean(p) == p
}

// dirPrefix is the prefix of the paths whose directory (fd.directory of a
// file) is d.
func dirPrefix(d string) string {
	if d == "/" {
		return "/"
	}
	return d + "/"
}

// pathNorm is what userspace makes of a path the kernel accepted as known
// (absolute, no "//", "/./", "/../"): the trailing slash is dropped.
func pathNorm(k string) string {
	if len(k) > 1 && k[len(k)-1] == '/' {
		return k[:len(k)-1]
	}
	return k
}

// dirOf is fd.directory of a file named p.
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return ""
	case i == 0:
		return "/"
	}
	return p[:i]
}

// suffixAtom maps `fd.name endswith X` and `fd.filename = B` / `in (B...)`
// on the open family to the suffix dimension: the normalized path ends
// with X, or with "/B" (a file's last component is B exactly when its
// path ends with "/B", B holding no '/'). Values the suffix table cannot
// hold (empty, longer than plan.SuffixMax, with a NUL; a file name with a
// '/') make the comparison opaque.
func suffixAtom(c *check.Cmp) (*atom, bool) {
	a := &atom{kind: akSuffix, op: c.Op}
	switch {
	case c.Left.Field.Name == "fd.name" && c.Op == syntax.OpEndsWith && len(c.Values) == 1:
		a.strs = []string{c.Values[0].Text}
	case c.Left.Field.Name == "fd.filename" && (isEqOp(c.Op) && len(c.Values) > 0) && (c.Op == syntax.OpIn || len(c.Values) == 1):
		for _, v := range c.Values {
			if strings.IndexByte(v.Text, '/') >= 0 {
				return nil, false
			}
			a.strs = append(a.strs, "/"+v.Text)
		}
	default:
		return nil, false
	}
	for _, s := range a.strs {
		if !suffixValue(s) {
			return nil, false
		}
	}
	return a, true
}

// suffixValue reports whether s can be a suffix table key.
func suffixValue(s string) bool {
	return s != "" && s != "/" && len(s) <= plan.SuffixMax && strings.IndexByte(s, 0) < 0
}

// globLiterals returns the literal start and end of a glob pattern: every
// string it matches starts with prefix and ends with suffix. A pattern
// with a bracket or an escape gives only what precedes it; one without a
// wildcard is returned whole as both (and exact is true).
func globLiterals(g string) (prefix, suffix string, exact bool) {
	i := strings.IndexAny(g, "*?[\\")
	if i < 0 {
		return g, g, true
	}
	prefix = g[:i]
	if strings.ContainsAny(g, "[\\") {
		return prefix, "", false
	}
	j := strings.LastIndexAny(g, "*?")
	return prefix, g[j+1:], false
}

// rawImpossible reports whether a nameraw atom (not negated) is false of
// every path the kernel judges known: such a path never contains "../"
// ([plan.PathKnown]), so a comparison that needs it cannot hold.
func (a *atom) rawImpossible() bool {
	switch a.op {
	case syntax.OpContains, syntax.OpEq, syntax.OpEqEq, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith:
		if len(a.strs) == 0 {
			return false
		}
		for _, v := range a.strs {
			if !strings.Contains(v, "../") {
				return false
			}
		}
		return true
	case syntax.OpGlob:
		g := a.strs[0]
		if strings.ContainsAny(g, "[\\") {
			return false
		}
		for _, lit := range strings.FieldsFunc(g, func(r rune) bool { return r == '*' || r == '?' }) {
			if strings.Contains(lit, "../") {
				return true
			}
		}
	}
	return false
}

// cleanSegments reports whether the absolute path v is "/" or has only
// non-empty segments other than "." and "..": pmatchPath returns it as
// it is (the planner asks for the same values once per region).
func cleanSegments(v string) bool {
	if v == "/" {
		return true
	}
	start := 1
	for i := 1; i <= len(v); i++ {
		if i < len(v) && v[i] != '/' {
			continue
		}
		switch seg := v[start:i]; seg {
		case "", ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}
