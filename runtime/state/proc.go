package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/runtime/state/container"
)

// clockTicks is USER_HZ, the unit of the start time in /proc/<pid>/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// maxProcFile bounds what is read from one /proc file.
const maxProcFile = 1 << 20

// SeedStats report what [Table.Seed] found.
type SeedStats struct {
	Processes int
	Threads   int
	FDs       int
	// Errors counts processes or threads that vanished or could not be
	// read while seeding; they are skipped.
	Errors int
}

// Seed fills the table from /proc: every process and thread with its
// stat, status, cmdline, environ, executable, cwd, cgroups, loginuid and
// open descriptors. Entries already in the table are replaced. It fails
// only when /proc itself cannot be read.
func (t *Table) Seed() (SeedStats, error) {
	var st SeedStats
	ents, err := os.ReadDir(t.opts.ProcRoot)
	if err != nil {
		return st, fmt.Errorf("seed process table: %w", err)
	}
	sc := t.newSocketIndex()
	for _, e := range ents {
		pid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || pid <= 0 {
			continue
		}
		p, err := t.readProcess(pid, sc)
		if err != nil {
			st.Errors++
			continue
		}
		st.Processes++
		st.FDs += p.fds.Len()
		threads, terr := t.readThreads(p, 0)
		st.Errors += terr
		st.Threads += len(threads)
		for _, th := range threads {
			t.insert(th)
		}
	}
	// Parents were possibly read after their children. A process whose
	// parent is not in the table (it exited during the scan) gets ppid 0,
	// as in libsinsp's dependencies after its /proc scan.
	for _, p := range t.procs {
		if pp := t.procs[p.PPid]; pp != nil && pp != p {
			pp.addChild(p.Pid)
			continue
		}
		orphanIfParentUnknown(t, p)
	}
	return st, nil
}

// loadLazy reads one thread (and its process) from /proc on a lookup
// miss. As libsinsp does when it adds a thread, the parent is looked up
// in the table only: a thread whose parent is not there gets ppid 0, so
// its ancestry stops at it (proc.pname and proc.aname[N] are then
// unknown) instead of being read from /proc too.
func (t *Table) loadLazy(tid int64) *Thread {
	if !t.allowProcRead() {
		return nil
	}
	th := t.readOne(tid)
	if th == nil {
		t.stats.ProcFailures++
		return nil
	}
	orphanIfParentUnknown(t, th.proc)
	return th
}

// orphanIfParentUnknown clears p's ppid when its parent is not in the
// table (init keeps its own, 0).
func orphanIfParentUnknown(t *Table, p *Process) {
	if p.Pid == 1 || p.PPid <= 0 {
		return
	}
	if pp := t.procs[p.PPid]; pp == nil || pp == p {
		p.PPid = 0
	}
}

// readOne reads thread tid and inserts it with its process.
func (t *Table) readOne(tid int64) *Thread {
	tgid, err := readTgid(filepath.Join(t.opts.ProcRoot, strconv.FormatInt(tid, 10), "status"))
	if err != nil {
		return nil
	}
	p := t.procs[tgid]
	if p == nil {
		if p, err = t.readProcess(tgid, nil); err != nil {
			return nil
		}
	}
	threads, _ := t.readThreads(p, tid)
	if len(threads) == 0 {
		return nil
	}
	for _, th := range threads {
		t.insert(th)
	}
	return t.threads[tid]
}

func readTgid(statusPath string) (int64, error) {
	b, err := readFile(statusPath)
	if err != nil {
		return 0, err
	}
	v, ok := statusField(b, "Tgid")
	if !ok {
		return 0, errors.New("no Tgid in status")
	}
	return strconv.ParseInt(v, 10, 64)
}

// readProcess reads the per-process files of pid. sc may be nil (no
// socket details).
func (t *Table) readProcess(pid int64, sc *socketIndex) (*Process, error) {
	dir := filepath.Join(t.opts.ProcRoot, strconv.FormatInt(pid, 10))
	stat, err := readFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	ps, err := parseStat(stat)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	p := &Process{
		Pid:     pid,
		Vpid:    pid,
		PPid:    ps.ppid,
		Pgid:    ps.pgrp,
		Vpgid:   ps.pgrp,
		Sid:     ps.session,
		Vsid:    ps.session,
		TTY:     uint32(ps.tty),
		StartTS: t.bootTime() + ps.start*(1e9/clockTicks),
	}
	if status, err := readFile(filepath.Join(dir, "status")); err == nil {
		if v, ok := statusField(status, "NStgid"); ok {
			p.Vpid = lastInt(v, pid)
		}
		if v, ok := statusField(status, "NSpgid"); ok {
			p.Vpgid = lastInt(v, p.Pgid)
		}
		if v, ok := statusField(status, "NSsid"); ok {
			p.Vsid = lastInt(v, p.Sid)
		}
	}
	if b, err := readFile(filepath.Join(dir, "cmdline")); err == nil && len(b) > 0 {
		argv := splitNUL(b)
		if len(argv) > 0 {
			p.exe, p.args = argv[0], argv[1:]
		}
	}
	if b, err := readFile(filepath.Join(dir, "environ")); err == nil {
		p.env = splitNUL(b)
	}
	if s, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		s, _ = strings.CutSuffix(s, " (deleted)")
		p.exePath = s
		p.ExeFromMemfd = strings.HasPrefix(s, "/memfd:")
		var fi syscall.Stat_t
		if syscall.Stat(filepath.Join(dir, "exe"), &fi) == nil {
			p.ExeIno = fi.Ino
			p.ExeCtime = uint64(fi.Ctim.Sec)*1e9 + uint64(fi.Ctim.Nsec)
			p.ExeMtime = uint64(fi.Mtim.Sec)*1e9 + uint64(fi.Mtim.Nsec)
		}
	}
	if s, err := os.Readlink(filepath.Join(dir, "ns", "pid")); err == nil {
		p.PidNS = inodeOf(s)
	}
	if s, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.cwd = s
	}
	if b, err := readFile(filepath.Join(dir, "cgroup")); err == nil {
		p.setCgroups(t.parser, container.ParseProcCgroup(string(b)))
	} else {
		p.ContainerID, p.ContainerFullID, p.ContainerType = container.HostID, container.HostID, container.TypeHost
	}
	p.LoginUID = 0xffffffff
	if b, err := readFile(filepath.Join(dir, "loginuid")); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil {
			p.LoginUID = uint32(v)
		}
	}
	p.fds = readFDs(filepath.Join(dir, "fd"), sc)
	p.gen = 1
	return p, nil
}

// readThreads reads the tasks of p (only tid when tid > 0) as threads.
func (t *Table) readThreads(p *Process, only int64) ([]*Thread, int) {
	dir := filepath.Join(t.opts.ProcRoot, strconv.FormatInt(p.Pid, 10), "task")
	var tids []int64
	if only > 0 {
		tids = []int64{only}
	} else {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, 1
		}
		for _, e := range ents {
			if n, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
				tids = append(tids, n)
			}
		}
	}
	var out []*Thread
	errs := 0
	for _, tid := range tids {
		tdir := filepath.Join(dir, strconv.FormatInt(tid, 10))
		stat, err := readFile(filepath.Join(tdir, "stat"))
		if err != nil {
			errs++
			continue
		}
		ps, err := parseStat(stat)
		if err != nil {
			errs++
			continue
		}
		th := &Thread{Tid: tid, Vtid: tid, comm: ps.comm, proc: p, table: t,
			StartTS: t.bootTime() + ps.start*(1e9/clockTicks)}
		if status, err := readFile(filepath.Join(tdir, "status")); err == nil {
			parseCreds(status, th)
			if v, ok := statusField(status, "NSpid"); ok {
				th.Vtid = lastInt(v, tid)
			}
		}
		out = append(out, th)
	}
	return out, errs
}

func parseCreds(status []byte, th *Thread) {
	if v, ok := statusField(status, "Uid"); ok {
		f := strings.Fields(v)
		if len(f) == 4 {
			th.Creds.UID, th.Creds.EUID, th.Creds.SUID, th.Creds.FSUID = u32(f[0]), u32(f[1]), u32(f[2]), u32(f[3])
		}
	}
	if v, ok := statusField(status, "Gid"); ok {
		f := strings.Fields(v)
		if len(f) == 4 {
			th.Creds.GID, th.Creds.EGID, th.Creds.SGID, th.Creds.FSGID = u32(f[0]), u32(f[1]), u32(f[2]), u32(f[3])
		}
	}
	for name, dst := range map[string]*uint64{"CapInh": &th.Caps.Inheritable, "CapPrm": &th.Caps.Permitted, "CapEff": &th.Caps.Effective} {
		if v, ok := statusField(status, name); ok {
			*dst, _ = strconv.ParseUint(v, 16, 64)
		}
	}
}

func u32(s string) uint32 {
	v, _ := strconv.ParseUint(s, 10, 32)
	return uint32(v)
}

// lastInt returns the last number of a space-separated list, or def.
func lastInt(list string, def int64) int64 {
	f := strings.Fields(list)
	if len(f) == 0 {
		return def
	}
	v, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		return def
	}
	return v
}

type procStat struct {
	comm                string
	ppid, pgrp, session int64
	tty                 int64
	start               uint64
}

// parseStat parses /proc/<pid>/stat. The name is in parentheses and may
// itself contain spaces and parentheses.
func parseStat(b []byte) (procStat, error) {
	var ps procStat
	open := bytes.IndexByte(b, '(')
	closeIdx := bytes.LastIndexByte(b, ')')
	if open < 0 || closeIdx < open {
		return ps, errors.New("malformed stat")
	}
	ps.comm = string(b[open+1 : closeIdx])
	f := strings.Fields(string(b[closeIdx+1:]))
	// f[0] is the state; stat field n (1-based) is f[n-3].
	if len(f) < 20 {
		return ps, errors.New("short stat")
	}
	ps.ppid, _ = strconv.ParseInt(f[1], 10, 64)
	ps.pgrp, _ = strconv.ParseInt(f[2], 10, 64)
	ps.session, _ = strconv.ParseInt(f[3], 10, 64)
	ps.tty, _ = strconv.ParseInt(f[4], 10, 64)
	ps.start, _ = strconv.ParseUint(f[19], 10, 64)
	return ps, nil
}

// statusField returns the value of "Name:\tvalue" in a status file.
func statusField(b []byte, name string) (string, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > len(name) && line[len(name)] == ':' && string(line[:len(name)]) == name {
			return strings.TrimSpace(string(line[len(name)+1:])), true
		}
	}
	return "", false
}

func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxProcFile))
}

// bootTime returns the boot time in nanoseconds since the epoch.
func (t *Table) bootTime() uint64 {
	if t.boot == 0 {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) == nil {
			now := t.opts.Now().UnixNano()
			t.boot = uint64(now - ts.Nano())
		}
	}
	return t.boot
}

// readFDs reads a /proc/<pid>/fd directory.
func readFDs(dir string, sc *socketIndex) *FDTable {
	fds := newFDTable()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fds
	}
	for _, e := range ents {
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		fds.put(fdFromLink(n, link, sc))
	}
	return fds
}

// fdFromLink builds a descriptor from its /proc/<pid>/fd link text.
func fdFromLink(n int64, link string, sc *socketIndex) *FD {
	f := &FD{Num: n, name: link, NameRaw: link}
	switch {
	case strings.HasPrefix(link, "/memfd:"):
		f.Type = FDMemfd
		name, _ := strings.CutSuffix(link[1:], " (deleted)")
		f.name, f.NameRaw = name, name
	case strings.HasPrefix(link, "/"):
		f.Type = FDFile
		var st syscall.Stat_t
		if syscall.Stat(link, &st) == nil {
			if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
				f.Type = FDDirectory
			}
			f.Ino, f.Dev = st.Ino, uint32(st.Dev)
		}
	case strings.HasPrefix(link, "pipe:["):
		f.Type = FDPipe
		f.Ino = inodeOf(link)
	case strings.HasPrefix(link, "socket:["):
		ino := inodeOf(link)
		f.name, f.NameRaw, f.Ino = "", "", ino
		f.Type = FDUnknown
		if sc != nil {
			if s, ok := sc.byIno[ino]; ok {
				s.Num, s.Ino = n, ino
				cp := s
				return &cp
			}
		}
	case strings.HasPrefix(link, "anon_inode:"):
		kind := strings.Trim(link[len("anon_inode:"):], "[]")
		f.Type = anonType(kind)
	}
	return f
}

func anonType(kind string) FDType {
	switch {
	case kind == "eventfd":
		return FDEvent
	case kind == "eventpoll":
		return FDEventPoll
	case kind == "inotify":
		return FDInotify
	case kind == "signalfd":
		return FDSignalfd
	case kind == "timerfd":
		return FDTimerfd
	case strings.HasPrefix(kind, "bpf"):
		return FDBPF
	case kind == "userfaultfd":
		return FDUserfaultfd
	case kind == "io_uring":
		return FDIOUring
	}
	return FDUnknown
}

func inodeOf(link string) uint64 {
	i := strings.IndexByte(link, '[')
	j := strings.LastIndexByte(link, ']')
	if i < 0 || j < i {
		return 0
	}
	v, _ := strconv.ParseUint(link[i+1:j], 10, 64)
	return v
}

// socketIndex maps socket inodes to descriptors, read from /proc/net.
type socketIndex struct {
	byIno map[uint64]FD
}

// newSocketIndex reads the host network namespace's sockets. Sockets of
// other namespaces stay of unknown type.
func (t *Table) newSocketIndex() *socketIndex {
	sc := &socketIndex{byIno: make(map[uint64]FD)}
	listen := make(map[uint16]bool)
	type entry struct {
		fd    FD
		state string
		ino   uint64
	}
	var ents []entry
	for _, src := range []struct {
		file   string
		typ    FDType
		family uint16
		proto  L4Proto
	}{
		{"tcp", FDIPv4, afInet, L4TCP}, {"tcp6", FDIPv6, afInet6, L4TCP},
		{"udp", FDIPv4, afInet, L4UDP}, {"udp6", FDIPv6, afInet6, L4UDP},
		{"raw", FDIPv4, afInet, L4Raw}, {"raw6", FDIPv6, afInet6, L4Raw},
	} {
		b, err := readFile(filepath.Join(t.opts.ProcRoot, "net", src.file))
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[min(1, len(lines)):] {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			local, ok1 := parseHexAddr(f[1])
			remote, ok2 := parseHexAddr(f[2])
			ino, err := strconv.ParseUint(f[9], 10, 64)
			if !ok1 || !ok2 || err != nil || ino == 0 {
				continue
			}
			if src.proto == L4TCP && f[3] == "0A" {
				listen[local.Port()] = true
			}
			ents = append(ents, entry{FD{Type: src.typ, Family: src.family, L4Proto: src.proto, Local: local, Remote: remote}, f[3], ino})
		}
	}
	for _, e := range ents {
		fd := e.fd
		switch {
		case fd.L4Proto == L4TCP && e.state == "0A", fd.Remote.Port() == 0:
			fd.Server = true
			fd.name = string(appendAddrPort(nil, fd.Local))
		default:
			fd.Connected = true
			fd.Server = fd.L4Proto == L4TCP && listen[fd.Local.Port()]
			fd.name = tuple(fd.Client(), fd.ServerAddr())
		}
		fd.NameRaw = fd.name
		sc.byIno[e.ino] = fd
	}
	if b, err := readFile(filepath.Join(t.opts.ProcRoot, "net", "unix")); err == nil {
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[min(1, len(lines)):] {
			f := strings.Fields(line)
			if len(f) < 7 {
				continue
			}
			ino, err := strconv.ParseUint(f[6], 10, 64)
			if err != nil {
				continue
			}
			fd := FD{Type: FDUnix, Family: afUnix}
			if len(f) >= 8 {
				fd.UnixPath, fd.name, fd.NameRaw = f[7], f[7], f[7]
			}
			sc.byIno[ino] = fd
		}
	}
	return sc
}

// parseHexAddr parses an address of /proc/net/tcp: "0100007F:1F90" or
// the 32-digit IPv6 form. The address words are in host byte order.
func parseHexAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	// Each 32-bit word is printed as a host-order number.
	for i := 0; i+4 <= len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}
