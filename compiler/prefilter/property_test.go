package prefilter

import (
	"fmt"
	"math/rand"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

// The soundness property: whenever the VM says a rule is true for an
// event, the simulated kernel keeps a clause of that rule. Events are
// generated as a kernel view plus the userspace field values the runtime
// derives from it (see the mapping table in mapping.go), missing values
// included.

var testSyscalls = []int{0, 2, 41, 42, 44, 46, 49, 53, 59, 83, 85, 101, 257, 322, 437}

var (
	commPool = []string{"cat", "bash", "sshd", "find", "a-very-long-pro", "a-very-long-program", "", "x", "dpkg"}
	uidPool  = []uint64{0, 33, 1000, 65534}
	ctrPool  = []string{"host", "abc123", "def456", ""}
	pathPool = []string{"/etc/shadow", "/etc/passwd", "/etc", "/etc/", "/etc/ssh/sshd_config", "/etcfoo", "/tmp/x", "/tmp", "/", "/dev/null", "/dev/shm/a", "/dev", "/dev/", "/usr/bin/ls", "/usr/bin", "/var/log/syslog", "/var/log/a/b.log", "/root/.ssh/id_rsa",
		"/home/u/.ssh/id_rsa", "/home/u/.ssh/host_key", "/proc/12/mem", "/sys/fs/cgroup/x/release_agent", "/home/u/.kube/config",
		"/etc/x.dpkg-new", "/root/.bash_history", "/tmp/a.pem", "/tmp/" + strings.Repeat("b", 80) + "/id_rsa", "/var/log/syslog/"}
	rawPaths = append(append([]string{}, pathPool...), "etc/shadow", "x", "/etc//shadow", "/etc/./shadow", "/tmp/../etc/shadow", "/etc/..", "/etc/.", "./x", "/"+strings.Repeat("a", 260), "/usr/bin/", "/var/log/",
		"/tmp/a../etc/shadow", "/etc/x..", "/etc/..x", "/home/u/../u/.ssh/id_rsa", "/tmp/../../etc/passwd", "../../etc/shadow", "/proc/1/mem/")
	pathValues = []string{"/etc", "/etc/", "/etc/shadow", "/dev", "/dev/shm/", "/usr/bin", "/", "/tmp/x", "/var/log", "/etcfoo", "etc", "", "/e", ".log", "/root/.ssh",
		"id_rsa", "/.ssh/", "_key", "syslog", "../", "/mem", "release_agent", "mem", "/id_rsa", "shadow", "/.kube/config", ".pem", "a../", "config"}
	valuePool = append(append([]string{}, pathPool...), "/etc/", "/dev/shm/", "/usr", "/var/log", "/root/.ssh", "", "/e", "etc", "cat", "bash", "sshd", "host", "abc123", "a-very-long-pro", "a-very-long-program", ".log", "sh")
)

type world struct {
	kv   plan.KernelView
	vals map[string]vm.Value
	ret  int64
}

func (w *world) set(name string, v vm.Value) { w.vals[name] = v }

func str(s string) vm.Value { return vm.Value{Kind: vm.KindString, S: s} }

func genWorld(r *rand.Rand) *world {
	w := &world{vals: map[string]vm.Value{}}
	sys := testSyscalls[r.Intn(len(testSyscalls))]
	name, _ := catalog.SyscallName(sys)
	w.kv.Syscall = sys
	w.set("evt.type", str(name))
	known := r.Intn(5) != 0 // the thread is in the state tables
	comm := commPool[r.Intn(len(commPool))]
	w.kv.Comm = comm
	if known {
		c := comm
		if len(c) > plan.CommMax {
			c = c[:plan.CommMax]
		}
		w.set("proc.name", str(c))
	}
	uid := uidPool[r.Intn(len(uidPool))]
	w.kv.EUID = uint32(uid)
	if known {
		w.set("user.uid", vm.Value{Kind: vm.KindUint, U: uid})
	}
	w.kv.Container = plan.ContainerClass(r.Intn(3))
	var id string
	switch w.kv.Container {
	case plan.ContainerHost:
		id = "host"
	case plan.ContainerInside:
		id = ctrPool[1+r.Intn(2)]
	default:
		id = ctrPool[r.Intn(3)]
	}
	if known {
		w.set("container.id", str(id))
	}
	if known && r.Intn(2) == 0 { // the parent is read through the thread
		w.set("proc.pname", str(commPool[r.Intn(len(commPool))]))
	}
	// Open flags.
	flags := uint64(r.Intn(4))
	for _, b := range []uint64{oCreat, oTrunc, 0o20200000, 0o200000, 0o2000000} {
		if r.Intn(4) == 0 {
			flags |= b
		}
	}
	w.kv.OpenFlags = flags
	if sys == sysCreat {
		flags = oCreat | oWronly | oTrunc
	}
	if plan.IsOpenFamily(sys) {
		acc := flags & oAccMode
		w.set("evt.is_open_read", boolV(acc == 0 || acc == oRdwr))
		w.set("evt.is_open_write", boolV(acc == oWronly || acc == oRdwr))
		if sys != sysCreat { // creat has no flags argument
			w.set("evt.arg[flags]", str(renderOpenFlags(flags)))
		}
	}
	// Path.
	raw := rawPaths[r.Intn(len(rawPaths))]
	if r.Intn(2) == 0 { // the paths the rules name, as the kernel may see them
		raw = pathValues[r.Intn(len(pathValues))]
		if raw == "" || r.Intn(3) == 0 {
			raw += "/"
		}
	}
	w.kv.Path = raw
	w.kv.PathUnreadable = r.Intn(15) == 0
	fdKnown := known && r.Intn(8) != 0
	if plan.IsOpenFamily(sys) {
		if fdKnown {
			n := raw
			if w.kv.PathUnreadable {
				n = ""
			} else {
				cwd := []string{"/home/u", "/etc", ""}[r.Intn(3)]
				if n[0] != '/' && cwd != "" {
					n = cwd + "/" + n
				}
				n = path.Clean(n)
			}
			dir := flags&0o200000 != 0
			w.set("fd.name", str(n))
			raw := w.kv.Path
			if i := strings.IndexByte(raw, 0); i >= 0 || w.kv.PathUnreadable {
				raw = ""
			}
			w.set("fd.nameraw", str(raw))
			if dir {
				w.set("fd.directory", str(n))
				w.set("fd.typechar", str("d"))
			} else {
				w.set("fd.directory", str(dirOf(n)))
				w.set("fd.filename", str(n[strings.LastIndexByte(n, '/')+1:]))
				w.set("fd.typechar", str("f"))
			}
		}
	} else if r.Intn(2) == 0 {
		// Other syscalls: descriptor state unrelated to the kernel's view.
		n := pathPool[r.Intn(len(pathPool))]
		w.set("fd.name", str(n))
		w.set("fd.directory", str(dirOf(n)))
		w.set("fd.typechar", str("f"))
	}
	genResult(r, w, sys)
	genArg0(r, w, sys)
	genSock(r, w, sys, known)
	genSend(r, w, sys, known)
	genExec(r, w, sys, known)
	return w
}

// errnoNames are the errno names of the results the generator uses.
var errnoNames = map[int64]string{-2: "ENOENT", -22: "EINVAL", -111: "ECONNREFUSED", -115: "EINPROGRESS", -13: "EACCES"}

// genResult sets the return value (w.ret) and evt.res, evt.rawres and
// evt.failed; connect, bind and exec return 0 or -errno.
func genResult(r *rand.Rand, w *world, sys int) {
	res := []int64{0, 0, 0, -2, -22, -111, -115, -13, 3}[r.Intn(9)]
	if (sys == sysConnect || sys == sysBind || plan.IsExec(sys)) && res > 0 {
		res = 0
	}
	w.ret = res
	if r.Intn(12) == 0 {
		return // no result parameter
	}
	w.set("evt.rawres", vm.Value{Kind: vm.KindInt, I: res})
	w.set("evt.failed", boolV(res < 0))
	if res >= 0 {
		w.set("evt.res", str("SUCCESS"))
	} else {
		w.set("evt.res", str(errnoNames[res]))
	}
}

// ptraceArgs mixes named requests, unnamed ones, and values above 16 bits
// (the kernel keys 32 bits, userspace sees 16).
var ptraceArgs = []uint64{0, 1, 2, 4, 5, 13, 16, 17, 0x4206, 0x4200, 10, 11, 20, 999, 0x10010, 0x14206, 0x100000002, 0xffff}

// domainArgs mixes named address families (AF_LOCAL and AF_UNIX share 1,
// AF_ROUTE and AF_NETLINK 16), unnamed ones, and values above 32 bits
// (the kernel and userspace both keep the low 32 bits).
var domainArgs = []uint64{0, 1, 2, 10, 16, 17, 27, 39, 40, 1000, 0x100000011, 0x10011}

// genArg0 sets the first argument: ptrace's request (userspace keeps 16
// bits) or the domain of socket and socketpair (32 bits).
func genArg0(r *rand.Rand, w *world, sys int) {
	a := ptraceArgs[r.Intn(len(ptraceArgs))]
	if r.Intn(2) == 0 {
		a = domainArgs[r.Intn(len(domainArgs))]
	}
	w.kv.Arg0 = a
	if r.Intn(10) == 0 {
		return // no parameter
	}
	switch sys {
	case sysPtrace:
		v := a & 0xffff
		w.set("evt.arg[request]", str(catalog.PtraceRequestText(v)))
		w.set("evt.rawarg[request]", vm.Value{Kind: vm.KindUint, U: v})
	case sysSocket, sysSocketpair:
		v := a & 0xffffffff
		w.set("evt.arg[domain]", str(catalog.SocketDomainText(v)))
		w.set("evt.rawarg[domain]", vm.Value{Kind: vm.KindUint, U: v})
	}
}

// sockEntry is the descriptor table entry of the socket, as userspace
// holds it.
type sockEntry struct {
	typ          byte // '4', '6', 'u', 'f' (a stale file), 0 (none)
	local, rport int  // -1: no address
	server       bool
}

var portPool = []int{22, 80, 443, 53, 8080, 1024, 6443, 0, 65535}

func genSock(r *rand.Rand, w *world, sys int, known bool) {
	fam := []uint16{afInet, afInet6, afUnix, 0, 16}[r.Intn(5)]
	port := uint16(portPool[r.Intn(len(portPool))])
	if fam != afInet && fam != afInet6 {
		port = 0
	}
	w.kv.SockFamily, w.kv.SockPort = fam, port
	w.kv.SockUnknown = r.Intn(10) == 0
	if sys != sysConnect && sys != sysBind {
		return
	}
	for n := range w.vals {
		if strings.HasPrefix(n, "fd.") {
			delete(w.vals, n)
		}
	}
	// The entry before the call: missing, stale, or fresh.
	e := sockEntry{typ: []byte{0, '4', '6', 'u', 'f'}[r.Intn(5)], local: -1, rport: -1, server: r.Intn(2) == 0}
	if e.typ == '4' || e.typ == '6' {
		if r.Intn(2) == 0 {
			e.rport = portPool[r.Intn(len(portPool))]
		}
		if r.Intn(2) == 0 {
			e.local = portPool[r.Intn(len(portPool))]
		}
	}
	updated := w.ret == 0 || sys == sysConnect && w.ret == -eInProgress
	if updated && !w.kv.SockUnknown {
		switch fam {
		case afUnix:
			e = sockEntry{typ: 'u', local: -1, rport: -1, server: sys == sysBind}
		case afInet, afInet6:
			if e.typ != '4' && e.typ != '6' && e.typ != 'u' {
				e.typ = map[uint16]byte{afInet: '4', afInet6: '6'}[fam]
				if r.Intn(3) == 0 { // a v4-mapped address makes a fresh entry '4'
					e.typ = '4'
				}
				e.local, e.rport = -1, -1
			}
			if sys == sysConnect {
				e.rport, e.server = int(port), false
			} else {
				e.local, e.server = int(port), true
			}
		}
	}
	if !known || e.typ == 0 {
		return
	}
	w.set("fd.typechar", str(string(e.typ)))
	switch e.typ {
	case '4', '6':
		w.set("fd.sockfamily", str("ip"))
		setPort := func(name string, p int) {
			if p >= 0 {
				w.set(name, vm.Value{Kind: vm.KindUint, U: uint64(p)})
			}
		}
		setPort("fd.rport", e.rport)
		setPort("fd.lport", e.local)
		if e.server {
			setPort("fd.sport", e.local)
			setPort("fd.cport", e.rport)
		} else {
			setPort("fd.sport", e.rport)
			setPort("fd.cport", e.local)
		}
	case 'u':
		w.set("fd.sockfamily", str("unix"))
	}
}

// sockShapes are (sk_type, sk_protocol) pairs a socket can have.
var sockShapes = [][2]uint16{{1, 6}, {2, 17}, {3, 1}, {3, 255}, {2, 1}, {1, 262}, {5, 132}, {1, 0}, {2, 0}}

// genSend sets, for sendto and sendmsg, the socket the kernel reads
// behind the descriptor and the descriptor fields userspace holds for it:
// an entry made by socket(), by connect or bind on a descriptor userspace
// did not know (an IP socket typed from the address, "tcp"), by accept, by
// the /proc scan (typed from /proc/net, or not at all: "o"), or none.
func genSend(r *rand.Rand, w *world, sys int, known bool) {
	if sys != sysSendto && sys != sysSendmsg {
		return
	}
	fam := []uint16{afInet, afInet6, afUnix, 16, 17}[r.Intn(5)]
	shape := sockShapes[r.Intn(len(sockShapes))]
	typ, proto := shape[0], shape[1]
	if fam == afUnix || fam == 16 || fam == 17 {
		typ, proto = []uint16{1, 2, 3, 5}[r.Intn(4)], 0
	}
	if fam == afInet || fam == afInet6 {
		// The kernel's protocol for 0.
		if typ == 1 && proto == 0 {
			proto = 6
		}
		if typ == 2 && proto == 0 {
			proto = 17
		}
	}
	w.kv.SendFamily, w.kv.SendType, w.kv.SendProto = fam, typ, proto
	w.kv.SendUnknown = r.Intn(10) == 0
	// TCP_ESTABLISHED: for a UDP socket only by a connect userspace saw.
	w.kv.SendConnected = r.Intn(2) == 0
	udpConnected := (fam == afInet || fam == afInet6) && typ == 2 && proto == 17 && w.kv.SendConnected
	for n := range w.vals {
		if strings.HasPrefix(n, "fd.") {
			delete(w.vals, n)
		}
	}
	if !known || r.Intn(5) == 0 {
		return // no entry
	}
	inet := fam == afInet || fam == afInet6
	ipChar := func() string {
		if r.Intn(2) == 0 {
			return "4"
		}
		return "6"
	}
	var tc, l4 string
	connected := r.Intn(2) == 0 // any other socket: connected in userspace or not
	switch how := r.Intn(4); {
	case how == 0: // the scan could not type it
		tc = "o"
	case how == 1 && inet: // connect or bind on an unknown descriptor, or accept
		tc, l4 = ipChar(), "tcp"
	case how == 2 && inet && typ == 1: // the scan
		tc, l4 = ipChar(), "tcp"
	default: // socket(): the runtime's l4For
		switch fam {
		case afInet:
			tc = "4"
		case afInet6:
			tc = "6"
		case afUnix:
			tc = "u"
		case 16:
			tc = "n"
		default:
			tc = "o"
		}
		if inet {
			switch {
			case typ == 1:
				l4 = "tcp"
			case typ == 2 && (proto == 1 || proto == 58):
				l4 = "icmp"
			case typ == 2:
				l4 = "udp"
			case typ == 3:
				l4 = "raw"
			case proto == 6:
				l4 = "tcp"
			case proto == 17:
				l4 = "udp"
			}
		}
	}
	w.set("fd.typechar", str(tc))
	w.set("fd.type", str(map[string]string{"4": "ipv4", "6": "ipv6", "u": "unix", "n": "netlink", "o": "<NA>"}[tc]))
	switch tc {
	case "4", "6":
		w.set("fd.sockfamily", str("ip"))
		if l4 != "" {
			w.set("fd.l4proto", str(l4))
		}
	case "u":
		w.set("fd.sockfamily", str("unix"))
	}
	if udpConnected {
		connected = true
	}
	if tc != "o" {
		w.set("fd.connected", boolV(connected))
	}
}

var (
	exePaths  = []string{"/usr/bin/nc", "/bin/bash", "/dev/shm/x", "/tmp/memfd:y", "/dev/fd/3", "/proc/self/fd/4", "bash", "./x", "/usr//bin/nc", "/usr/bin/../bin/nc", "/usr/bin/", "/", "/usr/bin/nc/", "/usr/bin/nc", "/bin/bash"}
	exeValues = []string{"/usr/bin/nc", "/bin/bash", "/dev/shm/x", "/memfd:x (deleted)", "/tmp/memfd:y", "/usr/bin", "/", "bash", "/usr//bin/nc", "/dev/fd/3"}
)

// genExec sets the exec'd program's path the kernel judges and
// proc.exepath as userspace derives it.
func genExec(r *rand.Rand, w *world, sys int, known bool) {
	if !plan.IsExec(sys) {
		return
	}
	k := exePaths[r.Intn(len(exePaths))]
	w.kv.Path = k
	w.kv.PathUnreadable = r.Intn(15) == 0
	if !known {
		return
	}
	v := exeValues[r.Intn(len(exeValues))] // a failed exec: the old program
	if w.ret == 0 {
		switch {
		case w.kv.PathUnreadable || !plan.ExeKnown(k):
			// Userspace resolves the name its own way: anything.
		case r.Intn(3) == 0:
			// A "memfd:" executable: /proc/PID/exe.
			v = []string{"/memfd:x (deleted)", "/tmp/memfd:y", "/dev/shm/memfd:z"}[r.Intn(3)]
		default:
			v = k
		}
	}
	w.set("proc.exepath", str(v))
}

func boolV(b bool) vm.Value {
	v := vm.Value{Kind: vm.KindBool}
	if b {
		v.U = 1
	}
	return v
}

type fieldGen struct {
	name string
	ops  []syntax.Op
}

var fieldGens = []fieldGen{
	{"evt.type", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn}},
	{"proc.name", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith, syntax.OpContains, syntax.OpExists, syntax.OpLt, syntax.OpGe, syntax.OpRegex, syntax.OpGlob}},
	{"user.uid", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpLt, syntax.OpGe, syntax.OpExists}},
	{"container.id", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpExists}},
	{"evt.is_open_read", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"evt.is_open_write", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"fd.name", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith, syntax.OpContains, syntax.OpPmatch, syntax.OpExists, syntax.OpGlob, syntax.OpGt}},
	{"fd.directory", []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpStartsWith, syntax.OpPmatch, syntax.OpEndsWith, syntax.OpNe}},
	{"fd.filename", []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpNe}},
	{"fd.nameraw", []syntax.Op{syntax.OpContains, syntax.OpEq, syntax.OpIn, syntax.OpStartsWith, syntax.OpGlob, syntax.OpNe, syntax.OpEndsWith}},
	{"fd.typechar", []syntax.Op{syntax.OpEq}},
	{"proc.pname", []syntax.Op{syntax.OpEq, syntax.OpIn}},
	{"evt.arg.request", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith}},
	{"evt.rawarg.request", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpLt, syntax.OpGe}},
	{"evt.arg.domain", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpContains, syntax.OpStartsWith}},
	{"evt.rawarg.domain", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpLt, syntax.OpGe}},
	{"evt.res", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn}},
	{"evt.rawres", []syntax.Op{syntax.OpEq, syntax.OpGe, syntax.OpGt, syntax.OpLt, syntax.OpIn, syntax.OpNe}},
	{"evt.failed", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"fd.rport", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpLt, syntax.OpGe}},
	{"fd.lport", []syntax.Op{syntax.OpEq, syntax.OpIn}},
	{"fd.sport", []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpNe}},
	{"fd.cport", []syntax.Op{syntax.OpEq}},
	{"fd.sockfamily", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"fd.l4proto", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpExists}},
	{"fd.type", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn}},
	{"fd.connected", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"evt.arg.flags", []syntax.Op{syntax.OpContains, syntax.OpEq, syntax.OpNe}},
	{"proc.exepath", []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpNe, syntax.OpStartsWith, syntax.OpPmatch}},
}

func operand(name string) *check.Operand {
	f, arg, hasArg, _ := catalog.Lookup(name)
	o := &check.Operand{Kind: check.OperandField, Field: f, Name: name, Arg: arg, HasArg: hasArg, Index: -1, Type: f.Type}
	switch name {
	case "evt.rawarg.request":
		o.Type = catalog.TypeUint16 // the checker's type for the ptrace request
	case "evt.rawarg.domain":
		o.Type = catalog.TypeUint32
	}
	return o
}

func genValue(r *rand.Rand, field string, op syntax.Op) check.Value {
	switch field {
	case "user.uid":
		u := uidPool[r.Intn(len(uidPool))]
		if r.Intn(4) == 0 {
			u = uint64(r.Intn(2000))
		}
		return check.Value{Text: strconv.FormatUint(u, 10), Uint: u}
	case "evt.is_open_read", "evt.is_open_write", "fd.connected":
		b := r.Intn(2) == 0
		return check.Value{Text: strconv.FormatBool(b), Bool: b}
	case "evt.type":
		n, _ := catalog.SyscallName(testSyscalls[r.Intn(len(testSyscalls))])
		return check.Value{Text: n}
	case "fd.typechar":
		return check.Value{Text: []string{"f", "d", "4", "6", "u", "o", "n"}[r.Intn(7)]}
	case "evt.rawarg.request":
		u := []uint64{0, 2, 16, 10, 0x4206, 65535, 5}[r.Intn(7)]
		return check.Value{Text: strconv.FormatUint(u, 10), Uint: u}
	case "evt.rawarg.domain":
		u := []uint64{0, 1, 2, 10, 16, 17, 40, 1000, 0x10010, 1 << 32}[r.Intn(10)]
		return check.Value{Text: strconv.FormatUint(u, 10), Uint: u}
	case "evt.rawres":
		n := []int64{0, -1, -115, 1, -2}[r.Intn(5)]
		return check.Value{Text: strconv.FormatInt(n, 10), Int: n, IsInt: true}
	case "evt.failed":
		b := r.Intn(2) == 0
		return check.Value{Text: strconv.FormatBool(b), Bool: b}
	case "fd.rport", "fd.lport", "fd.sport", "fd.cport":
		u := uint64(portPool[r.Intn(len(portPool))])
		if r.Intn(4) == 0 {
			u = uint64(r.Intn(70000))
		}
		return check.Value{Text: strconv.FormatUint(u, 10), Uint: u}
	}
	var s string
	switch field {
	case "fd.name", "fd.directory", "fd.nameraw":
		s = pathValues[r.Intn(len(pathValues))]
	case "fd.filename":
		s = []string{"id_rsa", "shadow", "syslog", "mem", "passwd", "etc", "x", "release_agent", "", "a/b", "config", ".pem"}[r.Intn(12)]
	case "proc.name", "proc.pname":
		s = commPool[r.Intn(len(commPool))]
		if r.Intn(4) == 0 {
			s = valuePool[r.Intn(len(valuePool))]
		}
	case "container.id":
		s = ctrPool[r.Intn(len(ctrPool))]
	case "evt.arg.request":
		s = []string{"PTRACE_ATTACH", "PTRACE_SEIZE", "PTRACE_PEEKDATA", "PTRACE_TRACEME", "PTRACE_UNKNOWN", "10", "16", "PTRACE_P", "65535", "010"}[r.Intn(10)]
	case "evt.arg.domain":
		s = []string{"AF_PACKET", "AF_INET", "AF_UNIX", "AF_LOCAL", "AF_NETLINK", "AF_ROUTE", "AF_INET6", "INET", "AF_", "27", "1", "2", "40", "010", "", "AF_UNSPEC"}[r.Intn(16)]
	case "evt.res":
		s = []string{"SUCCESS", "EINPROGRESS", "ENOENT", "ECONNREFUSED"}[r.Intn(4)]
	case "fd.sockfamily":
		s = []string{"ip", "unix"}[r.Intn(2)]
	case "fd.l4proto":
		s = []string{"tcp", "udp", "icmp", "raw", "t", ""}[r.Intn(6)]
	case "fd.type":
		s = []string{"ipv4", "ipv6", "unix", "netlink", "<NA>", "file"}[r.Intn(6)]
	case "evt.arg.flags":
		s = []string{"O_CREAT", "O_TRUNC", "O_RDONLY", "O_TMPFILE", "O_CREAT|O_TRUNC", "CREAT", "O_WRONLY|O_CREAT"}[r.Intn(7)]
	case "proc.exepath":
		s = exeValues[r.Intn(len(exeValues))]
		if op == syntax.OpPmatch {
			return check.Value{Text: []string{"/usr/bin", "/dev/shm", "/tmp", "/"}[r.Intn(4)]}
		}
	default:
		s = valuePool[r.Intn(len(valuePool))]
	}
	switch op {
	case syntax.OpRegex:
		s = []string{"c.t", "ba.*", "a-very-long-pro.*", ".*"}[r.Intn(4)]
		return check.Value{Text: s, Regex: "^(?:" + s + ")$"}
	case syntax.OpGlob:
		s = []string{"/etc/*", "*sh", "/tmp/?", "c*", "/home/*/.ssh/*", "*../*../*", "/proc/*/mem", "*_key", "/etc/shadow", "*/id_rsa",
			"/e[t]c/*", "/tmp/*.pem", "*", "/etc/?asswd", "*..?*"}[r.Intn(15)]
	case syntax.OpPmatch:
		s = []string{"/etc", "/dev", "/", "/usr/bin/", "/var//log", "/etc/ssh", "/tm*", "etc"}[r.Intn(8)]
	}
	return check.Value{Text: s}
}

func genCmp(r *rand.Rand) *check.Cmp {
	g := fieldGens[r.Intn(len(fieldGens))]
	op := g.ops[r.Intn(len(g.ops))]
	c := &check.Cmp{Left: operand(g.name), Op: op}
	switch op {
	case syntax.OpExists:
	case syntax.OpIn, syntax.OpPmatch:
		for range 1 + r.Intn(4) {
			c.Values = append(c.Values, genValue(r, g.name, op))
		}
	default:
		c.Values = []check.Value{genValue(r, g.name, op)}
	}
	return c
}

func genExpr(r *rand.Rand, depth int) check.Expr {
	if depth <= 0 || r.Intn(3) == 0 {
		return genCmp(r)
	}
	switch r.Intn(4) {
	case 0:
		return &check.Not{X: genExpr(r, depth-1)}
	case 1:
		var ts []check.Expr
		for range 2 + r.Intn(3) {
			ts = append(ts, genExpr(r, depth-1))
		}
		return &check.Or{Terms: ts}
	default:
		var ts []check.Expr
		for range 2 + r.Intn(3) {
			ts = append(ts, genExpr(r, depth-1))
		}
		return &check.And{Terms: ts}
	}
}

type mapEnv struct {
	c    *vm.Consts
	vals map[string]vm.Value
}

func (e *mapEnv) Extract(id int, v *vm.Value) bool {
	x, ok := e.vals[e.c.Fields[id].String()]
	if ok {
		*v = x
	}
	return ok
}

// soundStats counts what the property test exercised, so that a test that
// checks nothing fails.
type soundStats struct {
	matches, drops, narrowed int
	// sharedBits counts the mask bits that more than one clause has
	// (clauses on different syscalls).
	sharedBits int
	// narrowedOn counts, per syscall, events whose mask the ptrace,
	// socket or exe dimension narrowed.
	narrowedOn map[int]int
	// words is the plan's mask width; clauses the plan's clauses.
	words, clauses int
}

// checkSound plans the rules and checks every event against them.
func checkSound(t *testing.T, r *rand.Rand, exprs []check.Expr, opts *Options, events int) soundStats {
	t.Helper()
	var in []RuleInput
	for i, e := range exprs {
		in = append(in, RuleInput{Name: fmt.Sprintf("r%d", i), IR: check.Fold(e)})
	}
	p, err := BuildRules(in, opts)
	if err != nil {
		t.Fatalf("BuildRules: %v", err)
	}
	g := codegen.New()
	progs := make([]*vm.Program, len(exprs))
	for i, e := range exprs {
		if progs[i], err = g.Condition(e); err != nil {
			t.Fatalf("codegen %s: %v", check.Format(e), err)
		}
	}
	m, err := vm.New(g.Consts())
	if err != nil {
		t.Fatal(err)
	}
	st := soundStats{words: p.Tables.MaskWords(), clauses: len(p.Clauses)}
	perBit := map[int]int{}
	for _, c := range p.Clauses {
		if perBit[c.Bit]++; perBit[c.Bit] == 2 {
			st.sharedBits++
		}
	}
	judger := plan.NewJudger(p)
	own := &plan.Plan{Tables: p.Tables}
	own.Tables.DimsPerSyscall = map[int]plan.Dim{}
	for id, d := range p.Tables.DimsPerSyscall {
		own.Tables.DimsPerSyscall[id] = d & (plan.DimArg0 | plan.DimSock | plan.DimExe | plan.DimOpenFlags)
	}
	for range events {
		w := genWorld(r)
		env := &mapEnv{c: g.Consts(), vals: w.vals}
		m.BeginEvent()
		mask := plan.Judge(p, w.kv)
		if jm := judger.Judge(w.kv); jm != mask {
			t.Fatalf("Judger %v != Judge %v for %+v", jm, mask, w.kv)
		}
		if mask.IsZero() {
			st.drops++
		}
		if mask != p.Tables.Gate[w.kv.Syscall] {
			st.narrowed++
			// Narrowed by the ptrace, socket or exe dimension?
			if plan.Judge(own, w.kv) != p.Tables.Gate[w.kv.Syscall] {
				if st.narrowedOn == nil {
					st.narrowedOn = map[int]int{}
				}
				st.narrowedOn[w.kv.Syscall]++
			}
		}
		for i, prog := range progs {
			ok, err := m.Eval(prog, env)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !ok {
				continue
			}
			st.matches++
			kept := false
			for _, c := range p.Rules[i].Clauses {
				cl := &p.Clauses[c]
				if mask.Has(cl.Bit) && slices.Contains(cl.Syscalls, w.kv.Syscall) {
					kept = true
				}
			}
			if !kept {
				var d strings.Builder
				_ = p.Describe(&d, nil)
				t.Fatalf("unsound: rule %s is true but the kernel drops it\ncondition: %s\nkernel view: %+v\nvalues: %v\nmask: %v\n%s",
					p.Rules[i].Name, check.Format(exprs[i]), w.kv, w.vals, mask.Bits(), d.String())
			}
		}
	}
	return st
}

func TestSoundnessProperty(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	n := 3000
	if testing.Short() {
		n = 200
	}
	total := soundStats{narrowedOn: map[int]int{}}
	for i := range n {
		var exprs []check.Expr
		for range 1 + r.Intn(3) {
			exprs = append(exprs, genExpr(r, 3))
		}
		opts := &Options{Syscalls: testSyscalls}
		if i%4 == 0 {
			opts.MaxClausesPerRule = 1 + r.Intn(2)
		}
		st := checkSound(t, r, exprs, opts, 40)
		total.matches += st.matches
		total.drops += st.drops
		total.narrowed += st.narrowed
		for k, v := range st.narrowedOn {
			total.narrowedOn[k] += v
		}
	}
	t.Logf("events: %d, rule matches: %d, dropped by the kernel: %d, narrowed beyond the gate: %d", n*40, total.matches, total.drops, total.narrowed)
	// The generator must produce both matches and kernel drops beyond the
	// gate, or the property checks nothing.
	if total.matches < n || total.narrowed < n {
		t.Errorf("weak test: %d matches and %d narrowed events for %d plans", total.matches, total.narrowed, n)
	}
	t.Logf("narrowed by the syscall's own dimensions: %v", total.narrowedOn)
	for _, sys := range []int{sysPtrace, sysSocket, sysConnect, sysBind} {
		if total.narrowedOn[sys] < n/100 {
			t.Errorf("weak test: syscall %d narrowed by its own dimension %d times for %d plans", sys, total.narrowedOn[sys], n)
		}
	}
}

// cmpOf builds a comparison of field with generated values.
func cmpOf(r *rand.Rand, field string, op syntax.Op) *check.Cmp {
	c := &check.Cmp{Left: operand(field), Op: op}
	n := 1
	if op == syntax.OpIn {
		n = 1 + r.Intn(3)
	}
	for range n {
		c.Values = append(c.Values, genValue(r, field, op))
	}
	return c
}

// genShaped generates rules in the shapes that narrow on the ptrace,
// socket and exe dimensions (a result atom and a comparison of the
// dimension in one conjunction), plus random terms.
func genShaped(r *rand.Rand) check.Expr {
	result := func() check.Expr {
		switch r.Intn(5) {
		case 0:
			return cmpOf(r, "evt.res", syntax.OpEq)
		case 1:
			return cmpOf(r, "evt.rawres", []syntax.Op{syntax.OpGe, syntax.OpGt, syntax.OpEq}[r.Intn(3)])
		case 2:
			return cmpOf(r, "evt.failed", syntax.OpEq)
		case 3:
			return &check.Or{Terms: []check.Expr{cmpOf(r, "evt.rawres", syntax.OpGe), cmpOf(r, "evt.res", syntax.OpEq)}}
		}
		return cmpOf(r, "evt.res", syntax.OpIn)
	}
	var dim check.Expr
	openShape := false
	switch r.Intn(6) {
	case 0:
		dim = cmpOf(r, "proc.exepath", []syntax.Op{syntax.OpEq, syntax.OpIn}[r.Intn(2)])
	case 1:
		dim = cmpOf(r, []string{"fd.rport", "fd.sport", "fd.lport"}[r.Intn(3)], []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpGe}[r.Intn(3)])
	case 2:
		dim = cmpOf(r, []string{"fd.typechar", "fd.sockfamily"}[r.Intn(2)], syntax.OpEq)
	case 3:
		dim = cmpOf(r, []string{"evt.arg.domain", "evt.rawarg.domain"}[r.Intn(2)], []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpNe}[r.Intn(3)])
		if r.Intn(2) == 0 {
			dim = cmpOf(r, "evt.arg.domain", syntax.OpContains)
		}
	case 4: // the open flags class: Falco's "write or create" shape
		flag := &check.Cmp{Left: operand("evt.arg.flags"), Op: syntax.OpContains,
			Values: []check.Value{{Text: []string{"O_CREAT", "O_TRUNC"}[r.Intn(2)]}}}
		write := &check.Cmp{Left: operand("evt.is_open_write"), Op: syntax.OpEq, Values: []check.Value{{Text: "true", Bool: true}}}
		dim = &check.Or{Terms: []check.Expr{flag, write}}
		if r.Intn(2) == 0 {
			dim = flag
		}
		openShape = true
	default:
		dim = cmpOf(r, []string{"evt.arg.request", "evt.rawarg.request"}[r.Intn(2)], []syntax.Op{syntax.OpEq, syntax.OpIn}[r.Intn(2)])
	}
	terms := []check.Expr{result(), dim}
	if openShape { // opens have no result shape to test
		terms = []check.Expr{dim}
	}
	if r.Intn(2) == 0 {
		terms = append(terms, genExpr(r, 1))
	}
	if r.Intn(3) == 0 {
		return &check.Or{Terms: []check.Expr{&check.And{Terms: terms}, genShapedSimple(r)}}
	}
	return &check.And{Terms: terms}
}

func genShapedSimple(r *rand.Rand) check.Expr {
	return &check.And{Terms: []check.Expr{cmpOf(r, "evt.res", syntax.OpEq), cmpOf(r, "proc.exepath", syntax.OpIn)}}
}

// TestSoundnessShaped checks the ptrace, socket and exe dimensions on
// rules shaped to use them.
func TestSoundnessShaped(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	n := 1500
	if testing.Short() {
		n = 150
	}
	total := soundStats{narrowedOn: map[int]int{}}
	for range n {
		var exprs []check.Expr
		for range 1 + r.Intn(3) {
			exprs = append(exprs, genShaped(r))
		}
		st := checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 40)
		total.matches += st.matches
		for k, v := range st.narrowedOn {
			total.narrowedOn[k] += v
		}
	}
	t.Logf("rule matches: %d, narrowed by the syscall's own dimensions: %v", total.matches, total.narrowedOn)
	if total.matches < n/4 {
		t.Errorf("weak test: %d matches for %d plans", total.matches, n)
	}
	for _, sys := range []int{sysPtrace, sysSocket, sysSocketpair, sysConnect, sysBind, sysExecve, sysExecveat, sysOpenat} {
		if total.narrowedOn[sys] < n/20 {
			t.Errorf("weak test: syscall %d narrowed by its own dimension %d times for %d plans", sys, total.narrowedOn[sys], n)
		}
	}
}

// TestSoundnessMaskOverflow plans more clauses than 256 bits hold (rules
// shaped like Falco's), so the mask is wider than the record header's.
func TestSoundnessMaskOverflow(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for range 3 {
		var exprs []check.Expr
		for range 700 {
			exprs = append(exprs, genShaped(r))
		}
		st := checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 300)
		t.Logf("%d clauses, a %d-bit mask; rule matches: %d, events dropped: %d, narrowed: %d of 300", st.clauses, 64*st.words, st.matches, st.drops, st.narrowed)
		if st.words <= plan.MaskHeadWords || st.words == plan.MaskWordsMax {
			t.Errorf("%d clauses, a %d-bit mask: the test checks no mask between the narrowest and the widest", st.clauses, 64*st.words)
		}
	}
}

func FuzzSoundness(f *testing.F) {
	for _, s := range []int64{1, 2, 3, 42} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		exprs := []check.Expr{genExpr(r, 4), genExpr(r, 3)}
		checkSound(t, r, exprs, &Options{Syscalls: testSyscalls, MaxClausesPerRule: 1 + r.Intn(8)}, 60)
	})
}

// cmpField is a generated comparison of the named field (one of
// fieldGens), with one of its operators.
func cmpField(r *rand.Rand, name string) *check.Cmp {
	for _, g := range fieldGens {
		if g.name != name {
			continue
		}
		op := g.ops[r.Intn(len(g.ops))]
		c := &check.Cmp{Left: operand(name), Op: op}
		switch op {
		case syntax.OpExists:
		case syntax.OpIn, syntax.OpPmatch:
			for range 1 + r.Intn(4) {
				c.Values = append(c.Values, genValue(r, name, op))
			}
		default:
			c.Values = []check.Value{genValue(r, name, op)}
		}
		return c
	}
	panic("no generator for " + name)
}

// genGrouped generates rules in the shape that narrows on a present
// field group: a comparison on a field of the group (which is false when
// the group is missing) and negated comparisons on the group's fields.
func genGrouped(r *rand.Rand) check.Expr {
	fields := []string{"proc.name", "user.uid", "container.id", "proc.pname"}
	if r.Intn(2) == 0 {
		fields = []string{"fd.name", "fd.directory", "fd.typechar", "fd.filename", "fd.name", "fd.nameraw"}
	}
	terms := []check.Expr{cmpField(r, fields[r.Intn(len(fields))])}
	for range 1 + r.Intn(2) {
		terms = append(terms, &check.Not{X: cmpField(r, fields[r.Intn(len(fields))])})
	}
	if r.Intn(3) == 0 {
		terms = append(terms, genExpr(r, 1))
	}
	if r.Intn(3) == 0 {
		return &check.Or{Terms: []check.Expr{&check.And{Terms: terms}, genCmp(r)}}
	}
	return &check.And{Terms: terms}
}

// TestSoundnessGroups checks the planning of negated comparisons on
// present field groups, on rules shaped to use them.
func TestSoundnessGroups(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	n := 1500
	if testing.Short() {
		n = 150
	}
	var matches, drops int
	for range n {
		var exprs []check.Expr
		for range 1 + r.Intn(3) {
			exprs = append(exprs, genGrouped(r))
		}
		st := checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 40)
		matches += st.matches
		drops += st.drops
	}
	t.Logf("rule matches: %d, dropped by the kernel: %d", matches, drops)
	if matches < n/4 || drops < n {
		t.Errorf("weak test: %d matches and %d drops for %d plans", matches, drops, n)
	}
}

// renderOpenFlags renders open flags as the runtime's evt.arg.flags does
// (Falco's names; the order does not matter to the comparisons generated).
func renderOpenFlags(f uint64) string {
	var names []string
	switch f & oAccMode {
	case 0:
		names = append(names, "O_RDONLY")
	case oWronly:
		names = append(names, "O_WRONLY")
	case oRdwr:
		names = append(names, "O_RDWR")
	}
	for _, b := range []struct {
		bit  uint64
		name string
	}{{oCreat, "O_CREAT"}, {oTrunc, "O_TRUNC"}, {0o20000000, "O_TMPFILE"}, {0o200000, "O_DIRECTORY"}, {0o2000000, "O_CLOEXEC"}} {
		if f&b.bit == b.bit {
			names = append(names, b.name)
		}
	}
	return strings.Join(names, "|")
}

// Linux open flags the generated views use.
const (
	oAccMode = 0o3
	oWronly  = 0o1
	oRdwr    = 0o2
	oCreat   = 0o100
	oTrunc   = 0o1000
)

// genPathShaped generates open rules in the path shapes of Falco's stable
// rules: startswith, contains, endswith, fd.filename in, fd.directory in,
// glob, and `fd.nameraw contains "../"` (with its glob), mixed in
// disjunctions, conjunctions and negations.
func genPathShaped(r *rand.Rand) check.Expr {
	pathTerm := func() check.Expr {
		switch r.Intn(8) {
		case 0:
			return cmpOf(r, "fd.name", syntax.OpStartsWith)
		case 1:
			return cmpOf(r, "fd.name", syntax.OpContains)
		case 2:
			return cmpOf(r, "fd.name", syntax.OpEndsWith)
		case 3:
			return cmpOf(r, "fd.filename", []syntax.Op{syntax.OpIn, syntax.OpEq}[r.Intn(2)])
		case 4:
			return cmpOf(r, "fd.directory", syntax.OpIn)
		case 5:
			return cmpOf(r, "fd.name", syntax.OpGlob)
		case 6:
			return cmpOf(r, "fd.name", syntax.OpIn)
		}
		return cmpOf(r, "fd.nameraw", []syntax.Op{syntax.OpContains, syntax.OpGlob}[r.Intn(2)])
	}
	var alts []check.Expr
	for range 1 + r.Intn(3) {
		alts = append(alts, pathTerm())
	}
	terms := []check.Expr{
		&check.Cmp{Left: operand("evt.type"), Op: syntax.OpIn, Values: []check.Value{{Text: "open"}, {Text: "openat"}, {Text: "openat2"}}},
		&check.Or{Terms: alts},
	}
	if r.Intn(2) == 0 { // the traversal shape
		terms = append(terms, &check.Cmp{Left: operand("fd.nameraw"), Op: syntax.OpContains, Values: []check.Value{{Text: "../"}}},
			&check.Cmp{Left: operand("fd.nameraw"), Op: syntax.OpGlob, Values: []check.Value{{Text: "*../*../*"}}})
	}
	for range r.Intn(3) {
		terms = append(terms, &check.Not{X: pathTerm()})
	}
	if r.Intn(3) == 0 {
		terms = append(terms, genExpr(r, 1))
	}
	return &check.And{Terms: terms}
}

// TestSoundnessPathShapes checks the suffix dimension, globs and
// fd.nameraw on rules shaped like Falco's, and that they narrow.
func TestSoundnessPathShapes(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	n := 1500
	if testing.Short() {
		n = 150
	}
	var matches, drops, narrowed int
	for range n {
		var exprs []check.Expr
		for range 1 + r.Intn(3) {
			exprs = append(exprs, genPathShaped(r))
		}
		st := checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 60)
		matches += st.matches
		drops += st.drops
		narrowed += st.narrowed
	}
	t.Logf("rule matches: %d, dropped by the kernel: %d, narrowed: %d", matches, drops, narrowed)
	if matches < n/4 || drops < n {
		t.Errorf("weak test: %d matches and %d drops for %d plans", matches, drops, n)
	}
}

// TestPathShapesNarrow checks that each shape is planned on a kernel
// dimension (not left to userspace), and what the kernel makes of
// typical paths.
func TestPathShapesNarrow(t *testing.T) {
	openat := []string{"openat"}
	v := func(s string) check.Value { return check.Value{Text: s} }
	cmp := func(f string, op syntax.Op, vals ...string) *check.Cmp {
		c := &check.Cmp{Left: operand(f), Op: op}
		for _, s := range vals {
			c.Values = append(c.Values, v(s))
		}
		return c
	}
	cases := []struct {
		name       string
		e          check.Expr
		pass, drop []string
	}{
		{"endswith", cmp("fd.name", syntax.OpEndsWith, "release_agent"),
			[]string{"/sys/fs/cgroup/x/release_agent", "/x/notrelease_agent", "/sys/release_agent/", "/a/./release_agent", "rel/release_agent"},
			[]string{"/tmp/x", "/release_agent/x", "/etc/release_agen"}},
		{"filename in", cmp("fd.filename", syntax.OpIn, "syslog", "auth.log"),
			[]string{"/var/log/syslog", "/x/auth.log", "/var/log/syslog/"},
			[]string{"/var/log/xsyslog", "/var/log/syslog.1", "/tmp/x", "/syslog/x"}},
		{"glob", cmp("fd.name", syntax.OpGlob, "/home/*/.ssh/*"),
			[]string{"/home/u/.ssh/id_rsa", "/home/.ssh/x"},
			[]string{"/root/.ssh/id_rsa", "/tmp/x"}},
		{"glob suffix", cmp("fd.name", syntax.OpGlob, "/proc/*/mem"),
			[]string{"/proc/1/mem", "/proc/self/task/1/mem"},
			[]string{"/proc/1/maps", "/tmp/mem"}},
		{"nameraw traversal", &check.And{Terms: []check.Expr{cmp("fd.name", syntax.OpStartsWith, "/etc/"),
			cmp("fd.nameraw", syntax.OpContains, "../")}},
			[]string{"/tmp/../etc/shadow", "../etc/shadow", "/etc/a../b", "/etc/x.."},
			[]string{"/etc/shadow", "/tmp/x"}},
		{"not endswith", &check.And{Terms: []check.Expr{cmp("fd.name", syntax.OpStartsWith, "/etc/"),
			&check.Not{X: cmp("fd.name", syntax.OpEndsWith, ".dpkg-new")}}},
			[]string{"/etc/passwd", "/etc/x.dpkg-new.1"},
			[]string{"/etc/passwd.dpkg-new", "/etc/x.dpkg-new/", "/tmp/x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := BuildRules([]RuleInput{{Name: "r", IR: check.Fold(tc.e), EventTypes: openat}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range tc.pass {
				if plan.Judge(p, plan.KernelView{Syscall: sysOpenat, Path: path}).IsZero() {
					t.Errorf("%s: dropped, want sent", path)
				}
			}
			for _, path := range tc.drop {
				if !plan.Judge(p, plan.KernelView{Syscall: sysOpenat, Path: path}).IsZero() {
					t.Errorf("%s: sent, want dropped", path)
				}
			}
		})
	}
}

// TestSoundnessAtScale plans 10,000 rules at once (issue 10), far more
// clauses than the widest mask holds, so that most are merged within and across
// rules, and checks that no true rule is dropped.
func TestSoundnessAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 rules: not in -short")
	}
	r := rand.New(rand.NewSource(10))
	var exprs []check.Expr
	for range 10000 {
		exprs = append(exprs, genShaped(r))
	}
	st := checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 300)
	t.Logf("%d clauses, a %d-bit mask; rule matches: %d, events dropped: %d, narrowed: %d of 300, bits shared across syscalls: %d", st.clauses, 64*st.words, st.matches, st.drops, st.narrowed, st.sharedBits)
	if st.words != plan.MaskWordsMax {
		t.Errorf("%d clauses, a %d-bit mask: the test checks no fold at the widest mask", st.clauses, 64*st.words)
	}
	if st.matches == 0 || st.narrowed == 0 || st.sharedBits == 0 {
		t.Errorf("weak test: %d rule matches, %d events whose mask the tables narrowed, %d shared bits", st.matches, st.narrowed, st.sharedBits)
	}
}

// TestSendShapesNarrow: the shapes Falco's rules use on sendto and
// sendmsg are judged by the socket behind the descriptor.
func TestSendShapesNarrow(t *testing.T) {
	send := []string{"sendto", "sendmsg"}
	cmp := func(f string, op syntax.Op, vals ...string) *check.Cmp {
		c := &check.Cmp{Left: operand(f), Op: op}
		for _, s := range vals {
			c.Values = append(c.Values, check.Value{Text: s})
		}
		return c
	}
	type sk struct {
		fam, typ, proto uint16
		connected       bool
	}
	tcp4, tcp6, udp4, udp6 := sk{afInet, 1, 6, true}, sk{afInet6, 1, 6, false}, sk{afInet, 2, 17, false}, sk{afInet6, 2, 17, false}
	udp4c := sk{afInet, 2, 17, true}
	raw4, unix, netlink := sk{afInet, 3, 255, false}, sk{afUnix, 2, 0, true}, sk{16, 3, 0, false}
	connectedFalse := &check.Cmp{Left: operand("fd.connected"), Op: syntax.OpEq, Values: []check.Value{{Text: "false", Bool: false}}}
	// Falco's outbound macro, sendto branch: not TCP, not connected, an IP
	// socket.
	outbound := &check.And{Terms: []check.Expr{cmp("fd.l4proto", syntax.OpNe, "tcp"), connectedFalse,
		&check.Or{Terms: []check.Expr{cmp("fd.typechar", syntax.OpEq, "4"), cmp("fd.typechar", syntax.OpEq, "6")}}}}
	cases := []struct {
		name       string
		e          check.Expr
		pass, drop []sk
	}{
		{"outbound", outbound, []sk{udp4, udp6, raw4}, []sk{tcp4, tcp6, unix, netlink, udp4c}},
		{"connected false", connectedFalse, []sk{udp4, tcp4, unix, netlink}, []sk{udp4c}},
		{"typechar 4", cmp("fd.typechar", syntax.OpEq, "4"), []sk{tcp4, tcp6, udp4}, []sk{unix, netlink}},
		{"l4proto tcp", cmp("fd.l4proto", syntax.OpEq, "tcp"), []sk{tcp4, udp6, raw4}, []sk{unix, netlink}},
		{"l4proto udp", cmp("fd.l4proto", syntax.OpEq, "udp"), []sk{udp4, raw4}, []sk{tcp4, unix, netlink}},
		{"contradiction", &check.And{Terms: []check.Expr{cmp("fd.l4proto", syntax.OpNe, "tcp"), cmp("fd.l4proto", syntax.OpEq, "tcp")}},
			nil, []sk{tcp4, udp4, raw4, unix, netlink}},
		{"type unix", cmp("fd.type", syntax.OpEq, "unix"), []sk{unix}, []sk{tcp4, udp6, netlink}},
		{"negation is not judged", &check.Not{X: cmp("fd.typechar", syntax.OpEq, "u")}, []sk{unix, tcp4, netlink}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := BuildRules([]RuleInput{{Name: "r", IR: check.Fold(tc.e), EventTypes: send}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, sys := range []int{sysSendto, sysSendmsg} {
				view := func(s sk) plan.KernelView {
					return plan.KernelView{Syscall: sys, SendFamily: s.fam, SendType: s.typ, SendProto: s.proto, SendConnected: s.connected}
				}
				for _, s := range tc.pass {
					if plan.Judge(p, view(s)).IsZero() {
						t.Errorf("syscall %d, socket %+v: dropped, want sent", sys, s)
					}
				}
				for _, s := range tc.drop {
					if !plan.Judge(p, view(s)).IsZero() {
						t.Errorf("syscall %d, socket %+v: sent, want dropped", sys, s)
					}
				}
				if plan.Judge(p, plan.KernelView{Syscall: sys, SendUnknown: true}).IsZero() {
					t.Errorf("syscall %d, socket not read: dropped, want sent", sys)
				}
			}
		})
	}
}

// TestFoldWordsSound: tables folded onto a narrower mask (a reload onto a
// capture loaded for fewer clauses) keep, for every event, every clause
// bit the full tables keep, folded.
func TestFoldWordsSound(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	var in []RuleInput
	for i := range 700 {
		in = append(in, RuleInput{Name: fmt.Sprintf("r%d", i), IR: check.Fold(genShaped(r))})
	}
	p, err := BuildRules(in, &Options{Syscalls: testSyscalls})
	if err != nil {
		t.Fatal(err)
	}
	if p.Tables.MaskWords() <= plan.MaskHeadWords {
		t.Fatalf("%d clauses on a %d-bit mask: nothing to fold", len(p.Clauses), 64*p.Tables.MaskWords())
	}
	ft, err := p.Tables.FoldWords(plan.MaskHeadWords)
	if err != nil {
		t.Fatal(err)
	}
	folded := &plan.Plan{Tables: *ft}
	kept := 0
	for range 2000 {
		w := genWorld(r)
		want := plan.Judge(p, w.kv).Fold(plan.MaskHeadWords)
		got := plan.Judge(folded, w.kv)
		if want.And(got) != want {
			t.Fatalf("%+v: folded tables keep %v, the full ones (folded) %v", w.kv, got.Bits(), want.Bits())
		}
		if !want.IsZero() {
			kept++
		}
	}
	if kept == 0 {
		t.Error("weak test: no event kept")
	}
}
