package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// errSkip marks a record that deliberately produces no event.
var errSkip = errors.New("record produces no event")

// ErrUndecodable is wrapped by errors about records that cannot become
// events.
var ErrUndecodable = errors.New("undecodable record")

// view is what the decoder reads from one record: the header and the
// items. It is filled from a [bpf.Record] (see [view.load]) or, in tests,
// directly.
type view struct {
	hdr *bpf.Header
	ts  int64 // wall clock, ns

	path, path2, exe, exePath, argv, env, addr, local []byte
	hasPath, hasPath2, hasExe, hasExePath             bool
	hasArgv, hasEnv, hasAddr, hasLocal                bool

	fd1, fd2  int32
	hasFDPair bool

	open    bpf.OpenInfo
	hasOpen bool
	exec    bpf.ExecInfo
	hasExec bool
	fork    bpf.ForkInfo
	hasFork bool

	exitCode int32
	hasExit  bool
}

// load fills v from r. The slices point into r's buffer.
func (v *view) load(r *bpf.Record) {
	v.hdr = &r.Header
	v.ts = r.Time().UnixNano()
	v.path, v.hasPath = r.Path()
	v.path2, v.hasPath2 = r.Path2()
	v.exe, v.hasExe = r.Exe()
	v.exePath, v.hasExePath = r.ExePath()
	v.argv, v.hasArgv = r.ArgvRaw()
	v.env, v.hasEnv = r.EnvRaw()
	v.addr, v.hasAddr = r.Sockaddr()
	v.local, v.hasLocal = r.LocalAddr()
	v.open, v.hasOpen = r.Open()
	v.exec, v.hasExec = r.Exec()
	v.fork, v.hasFork = r.Fork()
	v.fd1, v.fd2, v.hasFDPair = r.FDPair()
	v.exitCode, _, v.hasExit = r.ExitInfo()
}

// Linux clone flags given to the clone events built from fork records.
const (
	cloneVM      = 0x100
	cloneFS      = 0x200
	cloneFiles   = 0x400
	cloneSighand = 0x800
	cloneThread  = 0x10000
)

// DecodeStats count what a [Decoder] did.
type DecodeStats struct {
	Events      uint64 // records turned into events
	Skipped     uint64 // records that carry no event by design (exec tracepoints, duplicate clone exits)
	Undecodable uint64 // records that could not be decoded
	CgroupReads uint64 // /proc/<pid>/cgroup reads
}

// Decoder turns capture records into events. It keeps small caches
// (interned strings, cgroup paths by cgroup id) so that steady-state
// decoding allocates nothing. A Decoder is not safe for concurrent use.
type Decoder struct {
	plans    [bpf.NumSyscalls]*plan
	clone    *catalog.Event
	execve   *catalog.Event
	execveat *catalog.Event
	procexit *catalog.Event
	cloneIdx struct{ flags, tid, pid, ptid, comm int }
	exitIdx  struct{ status, ret, sig, core int }

	strs     interner
	cgroups  map[uint64]*cgroupInfo
	procRoot string
	parser   *container.Parser
	// onCgroup is told the class of every new cgroup id.
	onCgroup func(id uint64, class bpf.ContainerClass)

	num   uint64
	stats DecodeStats
}

// cgroupInfo is what is known about one cgroup id.
type cgroupInfo struct {
	enc   []byte // the "cgroups" parameter: NUL-separated "controllers=path"
	class bpf.ContainerClass
}

// DecoderOptions configure [NewDecoder]. The zero value is usable.
type DecoderOptions struct {
	// ProcRoot is where procfs is mounted; default "/proc".
	ProcRoot string
	// Containers recognises container cgroups; default the package
	// defaults of runtime/state/container.
	Containers *container.Parser
	// OnCgroup, when set, is called once per new cgroup id with its
	// class (the live source passes it to [bpf.Capture.SetCgroupClass]).
	OnCgroup func(id uint64, class bpf.ContainerClass)
}

// maxCgroups bounds the cgroup cache; past it the cache starts over.
const maxCgroups = 16384

// NewDecoder returns a Decoder.
func NewDecoder(opts *DecoderOptions) (*Decoder, error) {
	if opts == nil {
		opts = &DecoderOptions{}
	}
	d := &Decoder{
		cgroups:  make(map[uint64]*cgroupInfo),
		procRoot: opts.ProcRoot,
		parser:   opts.Containers,
		onCgroup: opts.OnCgroup,
		strs:     newInterner(),
	}
	if d.procRoot == "" {
		d.procRoot = "/proc"
	}
	if d.parser == nil {
		d.parser = &container.Parser{ContainerdNamespaces: container.DefaultContainerdNamespaces}
	}
	var bad []string
	d.plans, bad = buildPlans()
	if len(bad) > 0 {
		return nil, fmt.Errorf("live decoder: parameter specs do not match the catalog: %v", bad)
	}
	var ok [4]bool
	d.clone, ok[0] = catalog.EventByName("clone")
	d.execve, ok[1] = catalog.EventByName("execve")
	d.execveat, ok[2] = catalog.EventByName("execveat")
	d.procexit, ok[3] = catalog.EventByName("procexit")
	if ok != [4]bool{true, true, true, true} {
		return nil, errors.New("live decoder: the catalog lacks clone, execve, execveat or procexit")
	}
	idx := func(e *catalog.Event, name string) int {
		i, found := e.Param(name)
		if !found {
			return -1
		}
		return i
	}
	d.cloneIdx.flags, d.cloneIdx.tid, d.cloneIdx.pid, d.cloneIdx.ptid, d.cloneIdx.comm =
		idx(d.clone, "flags"), idx(d.clone, "tid"), idx(d.clone, "pid"), idx(d.clone, "ptid"), idx(d.clone, "comm")
	d.exitIdx.status, d.exitIdx.ret, d.exitIdx.sig, d.exitIdx.core =
		idx(d.procexit, "status"), idx(d.procexit, "ret"), idx(d.procexit, "sig"), idx(d.procexit, "core")
	return d, nil
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() DecodeStats { return d.stats }

// decode fills ev from v. It returns errSkip for records that carry no
// event, and an error wrapping ErrUndecodable for broken ones; both are
// counted.
func (d *Decoder) decode(v *view, ev *event.Event) error {
	err := d.decodeRecord(v, ev)
	switch {
	case err == nil:
		d.stats.Events++
		d.num++
		ev.Num = d.num
	case err == errSkip:
		d.stats.Skipped++
	default:
		d.stats.Undecodable++
	}
	return err
}

func (d *Decoder) decodeRecord(v *view, ev *event.Event) error {
	h := v.hdr
	if h == nil {
		return fmt.Errorf("%w: no header", ErrUndecodable)
	}
	d.noteCgroup(h.CgroupID, h.Tgid)
	switch h.Kind {
	case bpf.KindFork:
		return d.decodeFork(v, ev)
	case bpf.KindExec:
		// The execve exit record carries everything (the tables always
		// send execve), so the tracepoint's record adds nothing.
		return errSkip
	case bpf.KindExit:
		return d.decodeExit(v, ev)
	}
	// A 32-bit syscall (FlagCompat) comes as the x86_64 syscall it means.
	if h.Kind >= bpf.NumSyscalls {
		return fmt.Errorf("%w: kind %d", ErrUndecodable, h.Kind)
	}
	p := d.plans[h.Kind]
	if p == nil {
		return fmt.Errorf("%w: syscall %d is not in the event catalog", ErrUndecodable, h.Kind)
	}
	if isClone(p.info.Name) && h.Ret > 0 {
		// The parent's side of a fork is the fork record's clone event.
		return errSkip
	}
	d.begin(v, ev, p.info)
	ev.SetRes(h.Ret)
	for i := range p.fills {
		d.fill(v, ev, &p.fills[i])
	}
	if p.info == d.execve || p.info == d.execveat {
		d.fillExec(v, ev)
	}
	return nil
}

func isClone(name string) bool {
	return name == "clone" || name == "clone3" || name == "fork" || name == "vfork"
}

func (d *Decoder) begin(v *view, ev *event.Event, info *catalog.Event) {
	ev.Reset(info)
	h := v.hdr
	ev.Ts = v.ts
	ev.Tid = int64(h.Tid)
	ev.Pid = int64(h.Tgid)
	ev.CPU = int(h.CPU)
	ev.Mask = h.Mask
}

func (d *Decoder) decodeFork(v *view, ev *event.Event) error {
	if !v.hasFork {
		return fmt.Errorf("%w: fork record without fork item", ErrUndecodable)
	}
	f := v.fork
	d.begin(v, ev, d.clone)
	ev.Tid, ev.Pid = int64(f.ParentTid), int64(f.ParentTgid)
	ev.SetRes(int64(f.ChildTid))
	flags := f.CloneFlags
	if flags == 0 && f.ChildTgid == f.ParentTgid { // not known: a thread shares all this
		flags = cloneThread | cloneVM | cloneFS | cloneFiles | cloneSighand
	}
	setU(ev, d.cloneIdx.flags, flags)
	setI(ev, d.cloneIdx.tid, int64(f.ParentTid))
	setI(ev, d.cloneIdx.pid, int64(f.ParentTgid))
	setI(ev, d.cloneIdx.ptid, int64(v.hdr.Ppid))
	// The parent's name, which the child has too: the state gives it to
	// a child whose parent it does not know (the child's own return from
	// the fork, which would say it, is dropped in the kernel).
	n := 0
	for n < len(v.hdr.Comm) && v.hdr.Comm[n] != 0 {
		n++
	}
	if n > 0 {
		setS(ev, d.cloneIdx.comm, d.strs.get(v.hdr.Comm[:n]))
	}
	return nil
}

func (d *Decoder) decodeExit(v *view, ev *event.Event) error {
	if !v.hasExit {
		return fmt.Errorf("%w: exit record without exit item", ErrUndecodable)
	}
	d.begin(v, ev, d.procexit)
	c := int64(v.exitCode)
	ev.Res = 0
	setI(ev, d.exitIdx.status, c)
	setI(ev, d.exitIdx.ret, (c>>8)&0xff)
	setU(ev, d.exitIdx.sig, uint64(c&0x7f))
	core := uint64(0)
	if c&0x80 != 0 {
		core = 1
	}
	setU(ev, d.exitIdx.core, core)
	return nil
}

func setI(ev *event.Event, i int, v int64) {
	if i >= 0 && i < len(ev.Params) {
		ev.Params[i].Set, ev.Params[i].I = true, v
	}
}

func setU(ev *event.Event, i int, v uint64) {
	if i >= 0 && i < len(ev.Params) {
		ev.Params[i].Set, ev.Params[i].U = true, v
	}
}

func setS(ev *event.Event, i int, s string) {
	if i >= 0 && i < len(ev.Params) {
		ev.Params[i].Set, ev.Params[i].S = true, s
	}
}

func setB(ev *event.Event, i int, b []byte) {
	if i >= 0 && i < len(ev.Params) {
		p := &ev.Params[i]
		p.Set, p.B = true, append(p.B[:0], b...)
	}
}

// setNum stores an integer argument as the parameter's type wants it:
// 32-bit types are truncated (and sign-extended when signed), as the
// kernel reads an int argument.
func setNum(ev *event.Event, f *fill, raw uint64) {
	p := &ev.Params[f.param]
	p.Set = true
	switch f.typ {
	case catalog.ParamFD, catalog.ParamInt32, catalog.ParamPID:
		p.I = int64(int32(raw))
	case catalog.ParamInt8, catalog.ParamInt16, catalog.ParamInt64, catalog.ParamErrno:
		p.I = int64(raw)
	case catalog.ParamUint8:
		p.U = raw & 0xff
	case catalog.ParamUint16, catalog.ParamFlags16, catalog.ParamEnumFlags16, catalog.ParamPort:
		p.U = raw & 0xffff
	case catalog.ParamUint64, catalog.ParamDynamic:
		p.U = raw
	default:
		p.U = raw & 0xffffffff
	}
}

func (d *Decoder) fill(v *view, ev *event.Event, f *fill) {
	h := v.hdr
	switch f.src {
	case srcArg0, srcArg1, srcArg2, srcArg3, srcArg4, srcArg5:
		setNum(ev, f, h.Args[f.src-srcArg0])
	case srcTid:
		setNum(ev, f, uint64(h.Tid))
	case srcPid:
		setNum(ev, f, uint64(h.Tgid))
	case srcPpid:
		setNum(ev, f, uint64(h.Ppid))
	case srcVtid:
		setNum(ev, f, uint64(h.Vtid))
	case srcVpid:
		setNum(ev, f, uint64(h.Vtgid))
	case srcPath:
		if v.hasPath {
			setS(ev, f.param, d.strs.get(v.path))
		}
	case srcPath2:
		if v.hasPath2 {
			setS(ev, f.param, d.strs.get(v.path2))
		}
	case srcExe:
		if v.hasExe {
			setS(ev, f.param, d.strs.get(v.exe))
		}
	case srcOFlags:
		if v.hasOpen {
			setNum(ev, f, v.open.Flags)
		}
	case srcOMode:
		if v.hasOpen {
			setNum(ev, f, v.open.Mode)
		}
	case srcODirfd:
		if v.hasOpen {
			setNum(ev, f, uint64(int64(v.open.Dirfd)))
		}
	case srcOResolve:
		if v.hasOpen {
			setNum(ev, f, v.open.Resolve)
		}
	case srcAddr:
		if v.hasAddr {
			d.setAddr(&ev.Params[f.param], v.addr)
		}
	case srcTuple, srcTupleIn:
		if v.hasAddr || v.hasLocal {
			d.setTuple(&ev.Params[f.param], v.local, v.addr, f.src == srcTupleIn)
		}
	case srcFD1, srcFD2:
		if v.hasFDPair {
			fd := v.fd1
			if f.src == srcFD2 {
				fd = v.fd2
			}
			setNum(ev, f, uint64(int64(fd)))
		}
	}
}

// parseSockaddr decodes a raw struct sockaddr: the family, an IP address
// and port, or a unix socket path.
func parseSockaddr(b []byte) (family uint16, ap netip.AddrPort, path []byte, ok bool) {
	if len(b) < 2 {
		return 0, ap, nil, false
	}
	family = binary.LittleEndian.Uint16(b)
	switch family {
	case event.AFInet:
		if len(b) < 8 {
			return family, ap, nil, false
		}
		a := netip.AddrFrom4([4]byte(b[4:8]))
		return family, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:4])), nil, true
	case event.AFInet6:
		if len(b) < 24 {
			return family, ap, nil, false
		}
		a := netip.AddrFrom16([16]byte(b[8:24]))
		return family, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:4])), nil, true
	case event.AFUnix:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			// Abstract socket: the name follows the NUL.
			p = p[1:]
		}
		for i, c := range p {
			if c == 0 {
				p = p[:i]
				break
			}
		}
		return family, ap, p, true
	}
	return family, ap, nil, true
}

func (d *Decoder) setAddr(p *event.Param, raw []byte) {
	fam, ap, path, ok := parseSockaddr(raw)
	if !ok {
		return
	}
	p.Set, p.Family = true, fam
	if fam == event.AFUnix {
		p.S = d.strs.get(path)
	} else {
		p.Addr = ap
	}
}

// setTuple fills a socket tuple from the local and remote addresses; in
// (accept) puts the remote end first, as Falco's accept tuple reads
// client->server.
func (d *Decoder) setTuple(p *event.Param, local, remote []byte, in bool) {
	lf, lap, _, lok := parseSockaddr(local)
	rf, rap, rpath, rok := parseSockaddr(remote)
	switch {
	case rok && rf == event.AFUnix:
		p.Set, p.Family, p.S = true, event.AFUnix, d.strs.get(rpath)
		return
	case rok && (rf == event.AFInet || rf == event.AFInet6):
		p.Family = rf
	case lok && (lf == event.AFInet || lf == event.AFInet6):
		p.Family = lf
	default:
		return
	}
	p.Set = true
	if !lok {
		lap = netip.AddrPort{}
	}
	if !rok {
		rap = netip.AddrPort{}
	}
	if in {
		p.Client, p.Server = rap, lap
	} else {
		p.Client, p.Server = lap, rap
	}
}

// fillExec adds what an execve exit record says about the new program.
func (d *Decoder) fillExec(v *view, ev *event.Event) {
	info := ev.Info
	h := v.hdr
	idx := func(name string) int {
		i, ok := info.Param(name)
		if !ok {
			return -1
		}
		return i
	}
	setI(ev, idx("tid"), int64(h.Tid))
	setI(ev, idx("pid"), int64(h.Tgid))
	setI(ev, idx("ptid"), int64(h.Ppid))
	if h.Ret != 0 {
		if v.hasExe {
			setS(ev, idx("exe"), d.strs.get(v.exe))
		}
		return
	}
	if v.hasArgv {
		a := v.argv
		i := 0
		for i < len(a) && a[i] != 0 {
			i++
		}
		setS(ev, idx("exe"), d.strs.get(a[:i]))
		if i < len(a) {
			setB(ev, idx("args"), a[i+1:])
		} else {
			setB(ev, idx("args"), nil)
		}
	} else if v.hasExe {
		setS(ev, idx("exe"), d.strs.get(v.exe))
	}
	if v.hasEnv {
		setB(ev, idx("env"), v.env)
	}
	if v.hasExe {
		setS(ev, idx("filename"), d.strs.get(v.exe))
	}
	// proc.exepath: the kernel's path of the new program's file (symlinks
	// resolved, as Falco shows it); without it (too deep or too long for
	// the kernel's walk) the state resolves the filename instead.
	if v.hasExePath && len(v.exePath) > 0 && v.exePath[0] == '/' {
		setS(ev, idx("trusted_exepath"), d.strs.get(v.exePath))
	}
	n := 0
	for n < len(h.Comm) && h.Comm[n] != 0 {
		n++
	}
	setS(ev, idx("comm"), d.strs.get(h.Comm[:n]))
	if cg := d.cgroups[h.CgroupID]; cg != nil && len(cg.enc) > 0 {
		setB(ev, idx("cgroups"), cg.enc)
	}
	setU(ev, idx("uid"), uint64(h.EUID))
	setU(ev, idx("gid"), uint64(h.EGID))
	setU(ev, idx("loginuid"), uint64(h.LoginUID))
	if v.hasExec {
		x := &v.exec
		setU(ev, idx("tty"), uint64(x.TTY))
		setU(ev, idx("cap_inheritable"), x.CapInheritable)
		setU(ev, idx("cap_permitted"), x.CapPermitted)
		setU(ev, idx("cap_effective"), x.CapEffective)
		setU(ev, idx("exe_ino"), x.ExeIno)
		setU(ev, idx("exe_ino_ctime"), uint64(x.ExeCtime.UnixNano()))
		setU(ev, idx("exe_ino_mtime"), uint64(x.ExeMtime.UnixNano()))
		setU(ev, idx("flags"), execFlags(x.Flags))
	}
}

// noteCgroup learns a new cgroup id: its paths (for exec events) and its
// class (for the kernel's container dimension).
func (d *Decoder) noteCgroup(id uint64, pid uint32) {
	if id == 0 || pid == 0 {
		return
	}
	if _, ok := d.cgroups[id]; ok {
		return
	}
	d.stats.CgroupReads++
	b, err := os.ReadFile(d.procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/cgroup")
	if err != nil {
		return // the task is gone; a later record of the cgroup retries
	}
	cgs := container.ParseProcCgroup(string(b))
	info := &cgroupInfo{class: bpf.ContainerHost}
	if _, _, _, ok := d.parser.FromCgroups(cgs); ok {
		info.class = bpf.ContainerContainer
	}
	for _, c := range cgs {
		info.enc = append(info.enc, c.Controllers...)
		info.enc = append(info.enc, '=')
		info.enc = append(info.enc, c.Path...)
		info.enc = append(info.enc, 0)
	}
	if len(d.cgroups) >= maxCgroups {
		clear(d.cgroups)
	}
	d.cgroups[id] = info
	if d.onCgroup != nil {
		d.onCgroup(id, info.class)
	}
}

// interner returns one string per distinct byte sequence, so that paths
// and names seen again cost no allocation. It is bounded: when full it
// starts over.
type interner struct {
	m map[string]string
}

const maxInterned = 8192

func newInterner() interner { return interner{m: make(map[string]string, 256)} }

func (in *interner) get(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if len(b) > 512 {
		return string(b)
	}
	if len(in.m) >= maxInterned {
		clear(in.m)
	}
	s := string(b)
	in.m[s] = s
	return s
}

// execFlags maps the kernel's exec bits to execve's flags argument as
// Falco encodes it (EXE_WRITABLE 1, EXE_UPPER_LAYER 2, EXE_FROM_MEMFD 4,
// EXE_LOWER_LAYER 8), which proc.is_exe_* read.
func execFlags(k uint32) uint64 {
	var f uint64
	if k&bpf.ExecWritable != 0 {
		f |= 1
	}
	if k&bpf.ExecUpper != 0 {
		f |= 2
	}
	if k&bpf.ExecMemfd != 0 {
		f |= 4
	}
	if k&bpf.ExecLower != 0 {
		f |= 8
	}
	return f
}
