package kplan

import (
	"math/bits"
	"unsafe"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// UserJudge applies the kernel prefilter's judgement in userspace, to
// events that did not come through the kernel (a replay): it builds the
// facts the kernel would have seen from the event and the thread's state
// and returns the surviving clause mask, so the engine evaluates only the
// rules that can match. It is as sound as the kernel's tables: the task
// facts it reads (comm, effective uid, container) are the very values the
// rules' proc.name, user.uid and container.id read. Likewise it feeds the
// exe dimension proc.exepath as the exec left it, and the socket
// dimension the address the descriptor table holds after connect or bind
// (the remote or local end), when the call updated them; see the mapping
// in compiler/plan.
//
// Everything that depends on the event type (the syscall, its gate mask,
// the dimensions it is judged on, where its parameters are) is resolved
// once, in a table indexed by catalog.Event.ID. The per-value lookups
// (comm, uid, path, program, address) go through direct-mapped tables of
// the values last seen, checked against the whole value, in front of the
// plan's own lookups: a trace repeats its process names and paths (the
// decoders intern them), so an event usually costs a few comparisons and
// mask ANDs. The answer is always exactly plan.Judger's (TestFastJudge).
//
// A UserJudge is not safe for concurrent use.
type UserJudge struct {
	j *plan.Judger
	// sys holds the judged facts of each event type, indexed by
	// catalog.Event.ID; ok is false for events the kernel does not judge.
	sys []judgeInfo
	// host, inside and unknown are the container dimension's masks.
	host, inside, unknown plan.Mask
	// pathUnknown and suffixUnknown are the masks of a path the kernel
	// could not read.
	pathUnknown, suffixUnknown, exeUnknown plan.Mask

	comms [commSlots]commEntry
	uids  [uidSlots]uidEntry
	paths [pathSlots]pathEntry
	ptags [pathSlots]uint32
	exes  [exeSlots]exeEntry
	socks [sockSlots]sockEntry
	tasks [taskSlots]taskEntry
	// shared holds the path masks (see share).
	shared map[plan.Mask]*plan.Mask
	// words is the plan's mask width: the words MaskTo writes.
	words int
}

// Sizes of the direct-mapped tables (powers of two).
const (
	commSlots = 256
	uidSlots  = 64
	pathSlots = 2048
	pathWays  = 4
	exeSlots  = 64
	sockSlots = 64
	taskBits  = 8
	taskSlots = 1 << taskBits
)

// taskEntry is a task's mask (see task).
type taskEntry struct {
	th   *state.Thread
	comm string
	euid uint32
	ck   uint8
	dims plan.Dim
	m    *plan.Mask // shared (see share): an entry stays small
}

type commEntry struct {
	s  string
	ok bool
	m  *plan.Mask // shared (see share)
}

type uidEntry struct {
	uid uint32
	ok  bool
	m   *plan.Mask // shared (see share)
}

// pathEntry is a path's masks, nil until computed; the masks are shared
// (see share), which keeps an entry small and the table in the cache.
type pathEntry struct {
	s            string
	path, suffix *plan.Mask
}

type exeEntry struct {
	s  string
	ok bool
	m  *plan.Mask // shared (see share)
}

type sockEntry struct {
	key uint32 // family<<16 | port
	ok  bool
	m   *plan.Mask // shared (see share)
}

// judgeInfo is what the judge needs of one event type.
type judgeInfo struct {
	ok   bool
	id   int // the syscall id
	dims plan.Dim
	kind int // plan.SyscallKind
	open bool
	// openGate is the gate ANDed with the open flags dimension, by
	// flags class, for the open family judged on its flags.
	openGate *[16]plan.Mask
	// Parameter indexes, -1 when absent.
	flags, path, arg0, fd int
	// gate is the syscall's gate mask (last: the fields above share a
	// cache line).
	gate plan.Mask
}

// taskDims are the dimensions judged on the task's facts.
const taskDims = plan.DimComm | plan.DimUID | plan.DimContainer

// NewUserJudge prepares the judge for plan p.
func NewUserJudge(p *plan.Plan) *UserJudge {
	j := plan.NewJudger(p)
	u := &UserJudge{j: j, sys: make([]judgeInfo, catalog.NumEvents()+1), shared: map[plan.Mask]*plan.Mask{},
		words: p.Tables.MaskWords()}
	u.host = j.ContainerMask(plan.ContainerHost)
	u.inside = j.ContainerMask(plan.ContainerInside)
	u.unknown = j.ContainerMask(plan.ContainerUnknown)
	u.pathUnknown = j.PathMask("", true)
	u.suffixUnknown = j.SuffixMask("", true)
	u.exeUnknown = j.ExeMask("", true)
	for _, ev := range catalog.Events() {
		id, ok := catalog.SyscallID(ev.Name)
		if !ok || !ev.Syscall || ev.ID <= 0 || ev.ID >= len(u.sys) {
			continue
		}
		info := judgeInfo{ok: true, id: id, gate: j.Gate(id), dims: j.Dims(id), kind: plan.SyscallKind(id),
			open: plan.IsOpenFamily(id), flags: -1, path: -1, arg0: -1, fd: -1}
		for i, prm := range ev.Params {
			switch {
			case prm.Name == "fd" && prm.Type == catalog.ParamFD && info.fd < 0 && i > 0:
				info.fd = i
			case prm.Name == "flags" && info.flags < 0:
				info.flags = i
			case (prm.Name == "request" || prm.Name == "domain" && (ev.Name == "socket" || ev.Name == "socketpair")) && info.arg0 < 0:
				// The first argument: ptrace's request, the socket's domain.
				info.arg0 = i
			case (prm.Type == catalog.ParamFSPath || prm.Type == catalog.ParamFSRelPath) && info.path < 0:
				// The path as the caller passed it, which is what the
				// kernel reads (openat's relative name included: the
				// kernel cannot trust a relative path either).
				info.path = i
			}
		}
		if info.open && info.dims&plan.DimOpenFlags != 0 {
			info.openGate = new([16]plan.Mask)
			for c := range info.openGate {
				info.openGate[c] = info.gate.And(j.OpenFlagsMask(id, openFlagsOf(c)))
			}
		}
		u.sys[ev.ID] = info
	}
	return u
}

// openFlagsOf returns open flags of class c (see plan.OpenClass).
func openFlagsOf(c int) uint64 {
	const (
		oAccMode = 0o3
		oWronly  = 0o1
		oRdwr    = 0o2
		oCreat   = 0o100
		oTrunc   = 0o1000
	)
	f := uint64(oAccMode) // neither read nor write
	switch c & (plan.OpenRead | plan.OpenWrite) {
	case plan.OpenRead:
		f = 0
	case plan.OpenWrite:
		f = oWronly
	case plan.OpenRead | plan.OpenWrite:
		f = oRdwr
	}
	if c&plan.OpenCreate != 0 {
		f |= oCreat
	}
	if c&plan.OpenTrunc != 0 {
		f |= oTrunc
	}
	return f
}

// infoOf returns the judge facts of ev's type, nil when the kernel does
// not judge it.
func (u *UserJudge) infoOf(ev *catalog.Event) *judgeInfo {
	if ev == nil || ev.ID <= 0 || ev.ID >= len(u.sys) || !u.sys[ev.ID].ok {
		return nil
	}
	return &u.sys[ev.ID]
}

// Mask returns the clauses that survive for ev, whose thread is th (nil
// when unknown: then nothing can be judged and every clause survives).
func (u *UserJudge) Mask(ev *event.Event, th *state.Thread) plan.Mask {
	var m plan.Mask
	u.MaskTo(&m, ev, th)
	return m
}

// MaskTo sets *m to Mask(ev, th) in the plan's words (its
// Tables.MaskWords; the words past them, which no clause has, are left as
// they are, except for an event it cannot judge: AllClauses). The mask is
// built in place, a word at a time: a plan.Mask returned by value is
// copied with loads wider than the stores that wrote it, which stalls.
func (u *UserJudge) MaskTo(m *plan.Mask, ev *event.Event, th *state.Thread) {
	info := u.infoOf(ev.Info)
	w := u.words
	if info == nil || th == nil {
		*m = plan.AllClauses
		return
	}
	// The gate is tested where it is, not in *m just written (a load
	// of a store under way), and *m is written once.
	if g := &info.gate; g.ZeroIn(w) {
		m.SetIn(g, w)
		return
	}
	d := info.dims
	if info.openGate != nil {
		// The open family: the gate and the flags class in one lookup.
		var flags uint64
		if p := param(ev, info.flags); p != nil {
			flags = p.U
		}
		m.SetIn(&info.openGate[plan.OpenClass(flags)], w) // creat's entries are all the same
	} else {
		m.SetIn(&info.gate, w)
	}
	if td := d & taskDims; td != 0 {
		if m.AndIn(u.task(th, td), w); m.ZeroIn(w) {
			return // the other dimensions cannot add a clause
		}
	}
	if d&plan.DimArg0 != 0 {
		var a uint64
		if p := param(ev, info.arg0); p != nil {
			a = p.U
		}
		a0 := u.j.Arg0Mask(a)
		m.AndIn(&a0, w)
	}
	switch info.kind {
	case plan.SyscallExec:
		if d&plan.DimExe != 0 {
			// After a successful exec (applied before the rules run) the
			// path is proc.exepath; otherwise nothing is known.
			if ev.HasRes() && ev.Res == 0 {
				m.AndIn(u.exe(th.ExePath()), w)
			} else {
				m.AndIn(&u.exeUnknown, w)
			}
		}
	case plan.SyscallSock:
		if d&plan.DimSock != 0 {
			// Only connect and bind are judged on an address; the other
			// socket calls see none (family 0).
			fam, port, unknown := uint16(0), uint16(0), false
			switch info.id {
			case sysConnect, sysBind:
				unknown = true
				if p := param(ev, info.fd); p != nil {
					fam, port, unknown = sockOf(ev, th.FD(p.I), info.id == sysConnect)
				}
			case sysSendto, sysSendmsg:
				// The kernel keys sendto and sendmsg by the class of the
				// socket behind the descriptor (plan.SockClassKey).
				unknown = true
				if p := param(ev, info.fd); p != nil {
					f := th.FD(p.I)
					sf, st, sp, su := sendSockOf(f)
					k := plan.SockClassKey(sf, st, sp, f != nil && f.Connected)
					fam, port, unknown = k.Family, k.Port, su
				}
			}
			m.AndIn(u.sock(fam, port, unknown), w)
		}
	case plan.SyscallPath:
		if d&(plan.DimPath|plan.DimSuffix) != 0 {
			p := param(ev, info.path)
			if p == nil {
				if d&plan.DimPath != 0 {
					m.AndIn(&u.pathUnknown, w)
				}
				if d&plan.DimSuffix != 0 {
					m.AndIn(&u.suffixUnknown, w)
				}
				break
			}
			e := u.path(p.S)
			if d&plan.DimPath != 0 {
				if e.path == nil {
					e.path = u.share(u.j.PathMask(e.s, false))
				}
				m.AndIn(e.path, w)
			}
			if d&plan.DimSuffix != 0 {
				if e.suffix == nil {
					e.suffix = u.share(u.j.SuffixMask(e.s, false))
				}
				m.AndIn(e.suffix, w)
			}
		}
	}
}

// param returns parameter i of ev when it is set, or nil.
func param(ev *event.Event, i int) *event.Param {
	if i < 0 || i >= len(ev.Params) || !ev.Params[i].Set {
		return nil
	}
	return &ev.Params[i]
}

// comm returns the comm dimension's mask for task name c.
func (u *UserJudge) comm(c string) *plan.Mask {
	e := &u.comms[event.QuickHashString(c)&(commSlots-1)]
	if !e.ok || e.s != c {
		e.s, e.ok, e.m = c, true, u.share(u.j.CommMask(c))
	}
	return e.m
}

// uid returns the uid dimension's mask for effective uid id.
func (u *UserJudge) uid(id uint32) *plan.Mask {
	e := &u.uids[(id^id>>6)&(uidSlots-1)]
	if !e.ok || e.uid != id {
		e.uid, e.ok, e.m = id, true, u.share(u.j.UIDMask(id))
	}
	return e.m
}

// task returns the mask of the task dimensions dims (of taskDims) for
// thread th: its comm, effective uid and container, as comm, uid and
// container give them. The last answers are kept by thread; an entry is
// used only when those three facts are the ones it was computed for (th
// is only where to look: the mask is a function of the facts).
func (u *UserJudge) task(th *state.Thread, dims plan.Dim) *plan.Mask {
	comm, euid, ck := th.Comm(), th.Creds.EUID, containerKind(th)
	h := (uint64(uintptr(unsafe.Pointer(th))) ^ uint64(dims)) * 0x9e3779b97f4a7c15 >> (64 - taskBits)
	e := &u.tasks[h&(taskSlots-1)]
	if e.th == th && e.dims == dims && e.euid == euid && e.ck == ck && e.comm == comm {
		return e.m
	}
	m := plan.AllClauses
	if dims&plan.DimComm != 0 {
		m.AndIn(u.comm(comm), u.words)
	}
	if dims&plan.DimUID != 0 {
		m.AndIn(u.uid(euid), u.words)
	}
	if dims&plan.DimContainer != 0 {
		m.AndIn(u.container(th), u.words)
	}
	*e = taskEntry{th: th, comm: comm, euid: euid, ck: ck, dims: dims, m: u.share(m)}
	return e.m
}

// containerKind is container's case for th: 0 unknown, 1 the host, 2 a
// container.
func containerKind(th *state.Thread) uint8 {
	p := th.Proc()
	switch {
	case p == nil || p.ContainerID == "":
		return 0
	case p.ContainerID == "host":
		return 1
	}
	return 2
}

// container returns the container dimension's mask for th's process.
func (u *UserJudge) container(th *state.Thread) *plan.Mask {
	p := th.Proc()
	switch {
	case p == nil || p.ContainerID == "":
		return &u.unknown
	case p.ContainerID == "host":
		return &u.host
	}
	return &u.inside
}

// path returns the entry of path s (as read: never an unreadable one).
// Its masks are filled by the caller as needed.
//
// The table is set-associative: s's set is picked by a hash, ptags holds
// the hash's high bits of each entry (0 for an empty one); a new entry
// goes first in its set, the oldest goes.
func (u *UserJudge) path(s string) *pathEntry {
	hash := event.QuickHashString(s)
	set := int(hash&(pathSlots/pathWays-1)) * pathWays
	tag := uint32(hash>>32) | 1
	tags := (*[pathWays]uint32)(u.ptags[set : set+pathWays])
	ents := (*[pathWays]pathEntry)(u.paths[set : set+pathWays])
	// The first way whose tag matches, without a branch per way; the
	// loop only for a miss or two ways with the same tag.
	if m := event.TagMask(tags, tag); m != 0 {
		if w := bits.TrailingZeros32(m) & (pathWays - 1); ents[w].s == s {
			return &ents[w]
		}
	}
	for w := range tags {
		if tags[w] == tag && ents[w].s == s {
			return &ents[w]
		}
	}
	copy(ents[1:], ents[:pathWays-1])
	copy(tags[1:], tags[:pathWays-1])
	ents[0], tags[0] = pathEntry{s: s}, tag
	return &ents[0]
}

// share returns a pointer to a mask equal to m, the same pointer for the
// same mask while the pool holds it (a rule set has few distinct path
// masks); the pool starts over past maxShared masks.
func (u *UserJudge) share(m plan.Mask) *plan.Mask {
	if p := u.shared[m]; p != nil {
		return p
	}
	if len(u.shared) >= maxShared {
		clear(u.shared)
	}
	p := new(plan.Mask)
	*p = m
	u.shared[m] = p
	return p
}

// maxShared bounds UserJudge.shared.
const maxShared = 4096

// exe returns the exe dimension's mask for program path s.
func (u *UserJudge) exe(s string) *plan.Mask {
	e := &u.exes[event.QuickHashString(s)&(exeSlots-1)]
	if !e.ok || e.s != s {
		e.s, e.ok, e.m = s, true, u.share(u.j.ExeMask(s, false))
	}
	return e.m
}

// sock returns the socket dimension's mask.
func (u *UserJudge) sock(fam, port uint16, unknown bool) *plan.Mask {
	if unknown {
		fam, port = 0xffff, 0xffff // no real address has these
	}
	key := uint32(fam)<<16 | uint32(port)
	e := &u.socks[(key^key>>7)&(sockSlots-1)]
	if !e.ok || e.key != key {
		e.key, e.ok, e.m = key, true, u.share(u.j.SockMask(fam, port, unknown))
	}
	return e.m
}

// view returns the kernel view of ev, whose thread is th, as the judge
// sees it; ok is false when the kernel does not judge the event. It is
// the reference Mask is checked against (TestFastJudge).
func (u *UserJudge) view(ev *event.Event, th *state.Thread) (plan.KernelView, bool) {
	info := u.infoOf(ev.Info)
	if info == nil || th == nil {
		return plan.KernelView{}, false
	}
	v := plan.KernelView{
		Syscall:   info.id,
		Comm:      th.Comm(),
		EUID:      th.Creds.EUID,
		Container: plan.ContainerUnknown,
	}
	if p := th.Proc(); p != nil && p.ContainerID != "" {
		if p.ContainerID == "host" {
			v.Container = plan.ContainerHost
		} else {
			v.Container = plan.ContainerInside
		}
	}
	if p := param(ev, info.flags); p != nil {
		v.OpenFlags = p.U
	}
	if p := param(ev, info.arg0); p != nil {
		v.Arg0 = p.U
	}
	v.PathUnreadable = true
	if p := param(ev, info.path); p != nil {
		v.Path, v.PathUnreadable = p.S, false
	}
	switch info.id {
	case sysExecve, sysExecveat:
		// After a successful exec (applied before the rules run) the
		// path is proc.exepath; otherwise nothing is known.
		v.Path, v.PathUnreadable = "", true
		if ev.HasRes() && ev.Res == 0 {
			v.Path, v.PathUnreadable = th.ExePath(), false
		}
	case sysConnect, sysBind:
		v.SockUnknown = true
		if p := param(ev, info.fd); p != nil {
			v.SockFamily, v.SockPort, v.SockUnknown = sockOf(ev, th.FD(p.I), info.id == sysConnect)
		}
	case sysSendto, sysSendmsg:
		v.SendUnknown = true
		if i := info.fd; i >= 0 && i < len(ev.Params) && ev.Params[i].Set {
			f := th.FD(ev.Params[i].I)
			v.SendFamily, v.SendType, v.SendProto, v.SendUnknown = sendSockOf(f)
			v.SendConnected = f != nil && f.Connected
		}
	}
	return v, true
}

// Syscall ids (x86_64) judged from the state.
const (
	sysConnect  = 42
	sysSendto   = 44
	sysSendmsg  = 46
	sysBind     = 49
	sysExecve   = 59
	sysExecveat = 322
)

// Address families.
const (
	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
)

// sendSockOf returns a socket (family, type, protocol) in the socket class
// whose values (see "Sendto and sendmsg" in compiler/prefilter) include
// those of descriptor f, the ones the rules' fd.* read; unknown when f
// is missing or of a type no class holds.
func sendSockOf(f *state.FD) (fam, typ, proto uint16, unknown bool) {
	if f == nil {
		return 0, 0, 0, true
	}
	switch f.Type {
	case state.FDIPv4, state.FDIPv6:
		switch f.L4Proto {
		case state.L4TCP:
			return afInet, 1, 6, false
		case state.L4UDP:
			return afInet, 2, 17, false
		}
		return afInet, 3, 255, false
	case state.FDUnix:
		return afUnix, 1, 0, false
	case state.FDNetlink:
		return afNetlink, 3, 0, false
	}
	return 0, 0, 0, true
}

// sockOf returns the family and port the socket dimension is judged on,
// from descriptor f after connect (remote end) or bind (local end): the
// values the rules' fd.rport, fd.lport, fd.sport, fd.typechar and
// fd.sockfamily read. Unknown unless the call updated the entry (connect
// returned 0 or EINPROGRESS, bind 0) and the entry is what the update
// makes: a unix socket, or an IP socket on the right side with an address.
func sockOf(ev *event.Event, f *state.FD, connect bool) (fam, port uint16, unknown bool) {
	if f == nil || !ev.HasRes() {
		return 0, 0, true
	}
	if connect && ev.Res != 0 && ev.Res != -115 || !connect && ev.Res != 0 {
		return 0, 0, true
	}
	switch f.Type {
	case state.FDUnix:
		return afUnix, 0, false
	case state.FDIPv4, state.FDIPv6:
	default:
		return 0, 0, true
	}
	a := f.Remote
	if !connect {
		a = f.Local
	}
	if !a.IsValid() || f.Server == connect {
		return 0, 0, true
	}
	fam = afInet6
	if a.Addr().Is4() {
		fam = afInet
	}
	return fam, a.Port(), false
}
