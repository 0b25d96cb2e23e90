package scap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MachineInfo is the machine info block.
type MachineInfo struct {
	NumCPUs     uint32
	MemoryBytes uint64
	MaxPid      uint64
	Hostname    string
	BootTS      uint64
	Flags       uint64
}

// Thread is one entry of a process list block: a thread as libscap saw
// it when the capture started. Strings longer than libscap's limits are
// rejected by the reader.
type Thread struct {
	Tid, Pid, PTid int64
	Sid, Vpgid     int64
	Pgid           int64
	Comm, Exe      string
	ExePath        string
	// Args are the arguments after argv[0] (Exe).
	Args []string
	Env  []string
	Cwd  string
	Root string
	// Cgroups are "controller=path" entries.
	Cgroups        []string
	FDLimit        uint64
	Flags          uint32 // PPM_CL_* flags
	UID, GID       uint32
	VmSizeKB       uint32
	VmRSSKB        uint32
	VmSwapKB       uint32
	PfMajor        uint64
	PfMinor        uint64
	Vtid, Vpid     int64
	PidnsInitStart uint64
	TTY            uint32
	LoginUID       uint32
	ExeWritable    bool
	CapInheritable uint64
	CapPermitted   uint64
	CapEffective   uint64
	ExeUpperLayer  bool
	ExeLowerLayer  bool
	ExeFromMemfd   bool
	ExeIno         uint64
	ExeInoCtime    uint64
	ExeInoMtime    uint64
	FDs            []FD
	hasFDs         bool
}

// FD types of fd list entries (scap_fd_type).
const (
	FDUnknown     = 0
	FDFile        = 1
	FDDirectory   = 2
	FDIPv4Sock    = 3
	FDIPv6Sock    = 4
	FDIPv4Serv    = 5
	FDIPv6Serv    = 6
	FDFifo        = 7
	FDUnixSock    = 8
	FDEvent       = 9
	FDUnsupported = 10
	FDSignalfd    = 11
	FDEventpoll   = 12
	FDInotify     = 13
	FDTimerfd     = 14
	FDNetlink     = 15
	FDFileV2      = 16
	FDBPF         = 17
	FDUserfaultfd = 18
	FDIOUring     = 19
	FDMemfd       = 20
	FDPidfd       = 21
)

// L4 protocols of socket fd entries (scap_l4_proto).
const (
	L4Unknown = 0
	L4NA      = 1
	L4TCP     = 2
	L4UDP     = 3
	L4ICMP    = 4
	L4Raw     = 5
)

// FD is one entry of an fd list block.
type FD struct {
	Num  int64
	Ino  uint64
	Type uint8
	// Name is the path for files and the rest, the path of a unix
	// socket.
	Name string
	// OpenFlags (PPM_O_* values) and Dev are set for FDFileV2.
	OpenFlags uint32
	Dev       uint32
	// Socket ends: for client sockets SIP:SPort -> DIP:DPort; a server
	// socket has only SIP:SPort.
	SIP, DIP     netip.Addr
	SPort, DPort uint16
	L4Proto      uint8
	// Unix sockets: the kernel addresses of both ends.
	Source, Dest uint64
}

// User is one user of a user list block.
type User struct {
	UID, GID          uint32
	Name, Home, Shell string
}

// Group is one group of a user list block.
type Group struct {
	GID  uint32
	Name string
}

// Interface types of interface list entries (scap_ifinfo_type).
const (
	IfIPv4            = 1
	IfIPv6            = 2
	IfIPv4NoLinkSpeed = 3
	IfIPv6NoLinkSpeed = 4
)

// Interface is one address of an interface list block.
type Interface struct {
	Type                 uint16
	Name                 string
	Addr, Netmask, Bcast netip.Addr
	LinkSpeed            uint64
}

// Header is what a capture says before (and between) its events.
type Header struct {
	Major, Minor uint16
	Machine      *MachineInfo
	// Threads are in the order of the process list blocks; ThreadByTid
	// indexes them.
	Threads     []*Thread
	ThreadByTid map[int64]*Thread
	Users       []User
	Groups      []Group
	Interfaces  []Interface
	// OrphanFDs counts fd list entries of a tid no process list entry
	// describes (they are dropped, as libscap drops them).
	OrphanFDs int
}

// cursor reads little-endian fields of one block body; base is the
// stream offset of b[0], for errors.
type cursor struct {
	b     []byte
	i     int
	base  int64
	block string
}

func (c *cursor) fail(format string, args ...any) error {
	return &FormatError{Offset: c.base + int64(c.i), Block: c.block, Msg: fmt.Sprintf(format, args...)}
}

func (c *cursor) left() int { return len(c.b) - c.i }

func (c *cursor) need(n int, what string) error {
	if n < 0 || c.left() < n {
		return c.fail("%s: need %d bytes, %d left in the block", what, n, c.left())
	}
	return nil
}

func (c *cursor) u8(what string) (uint8, error) {
	if err := c.need(1, what); err != nil {
		return 0, err
	}
	v := c.b[c.i]
	c.i++
	return v, nil
}

func (c *cursor) u16(what string) (uint16, error) {
	if err := c.need(2, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(c.b[c.i:])
	c.i += 2
	return v, nil
}

func (c *cursor) u32(what string) (uint32, error) {
	if err := c.need(4, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(c.b[c.i:])
	c.i += 4
	return v, nil
}

func (c *cursor) u64(what string) (uint64, error) {
	if err := c.need(8, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(c.b[c.i:])
	c.i += 8
	return v, nil
}

func (c *cursor) bytes(n int, what string) ([]byte, error) {
	if err := c.need(n, what); err != nil {
		return nil, err
	}
	v := c.b[c.i : c.i+n]
	c.i += n
	return v, nil
}

// str16 reads a string with a u16 length of at most max bytes (libscap
// rejects longer ones), dropping a trailing NUL.
func (c *cursor) str16(max int, what string) (string, error) {
	at := c.i
	n, err := c.u16(what + " length")
	if err != nil {
		return "", err
	}
	if int(n) > max {
		c.i = at
		return "", c.fail("%s length %d is over the limit %d", what, n, max)
	}
	b, err := c.bytes(int(n), what)
	if err != nil {
		return "", err
	}
	return cstr(b), nil
}

// cstr returns b up to its first NUL.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// splitNUL splits a NUL-separated list (a final NUL is optional).
func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, string(b[start:]))
	}
	return out
}

func parseMachine(c *cursor) (*MachineInfo, error) {
	m := &MachineInfo{}
	var err error
	if m.NumCPUs, err = c.u32("num_cpus"); err != nil {
		return nil, err
	}
	if m.MemoryBytes, err = c.u64("memory_size_bytes"); err != nil {
		return nil, err
	}
	if m.MaxPid, err = c.u64("max_pid"); err != nil {
		return nil, err
	}
	h, err := c.bytes(128, "hostname")
	if err != nil {
		return nil, err
	}
	m.Hostname = cstr(h)
	// boot_ts_epoch and flags were reserved fields in older captures.
	if c.left() >= 8 {
		m.BootTS, _ = c.u64("boot_ts_epoch")
	}
	if c.left() >= 8 {
		m.Flags, _ = c.u64("flags")
	}
	return m, nil
}

// parseProcList reads the entries of a process list block of version v.
func parseProcList(c *cursor, v int, h *Header) error {
	for c.left() >= 4 {
		start := c.i
		var subLen uint32
		var err error
		if v >= 9 {
			if subLen, err = c.u32("entry length"); err != nil {
				return err
			}
			if int(subLen) > c.left()+4 || subLen < 4 {
				c.i = start
				return c.fail("process entry length %d does not fit in the %d bytes left", subLen, c.left())
			}
		}
		t, err := parseThread(c, v, start, subLen)
		if err != nil {
			return err
		}
		if subLen != 0 {
			read := c.i - start
			if read > int(subLen) {
				return c.fail("process entry read %d bytes past its length %d", read-int(subLen), subLen)
			}
			c.i = start + int(subLen) // fields this reader does not know
		}
		h.addThread(t)
	}
	return nil
}

func (h *Header) addThread(t *Thread) {
	if h.ThreadByTid == nil {
		h.ThreadByTid = map[int64]*Thread{}
	}
	if old, ok := h.ThreadByTid[t.Tid]; ok {
		*old = *t
		return
	}
	h.ThreadByTid[t.Tid] = t
	h.Threads = append(h.Threads, t)
}

func parseThread(c *cursor, v int, start int, subLen uint32) (*Thread, error) {
	t := &Thread{Vtid: -1, Vpid: -1, Sid: -1, Vpgid: -1, Pgid: -1, LoginUID: ^uint32(0)}
	var err error
	u64 := func(dst *int64, what string) {
		if err == nil {
			var x uint64
			x, err = c.u64(what)
			*dst = int64(x)
		}
	}
	u64(&t.Tid, "tid")
	u64(&t.Pid, "pid")
	u64(&t.PTid, "ptid")
	if v >= 6 {
		u64(&t.Sid, "sid")
	}
	if v >= 8 {
		u64(&t.Vpgid, "vpgid")
	}
	if err != nil {
		return nil, err
	}
	if t.Comm, err = c.str16(maxPath, "comm"); err != nil {
		return nil, err
	}
	if t.Exe, err = c.str16(maxPath, "exe"); err != nil {
		return nil, err
	}
	if v >= 7 {
		if t.ExePath, err = c.str16(maxPath, "exepath"); err != nil {
			return nil, err
		}
	}
	at := c.i
	n, err := c.u16("args length")
	if err != nil {
		return nil, err
	}
	if n > maxArgs {
		c.i = at
		return nil, c.fail("args length %d is over the limit %d", n, maxArgs)
	}
	b, err := c.bytes(int(n), "args")
	if err != nil {
		return nil, err
	}
	t.Args = splitNUL(b)
	if t.Cwd, err = c.str16(maxPath, "cwd"); err != nil {
		return nil, err
	}
	var fdlimit uint64
	if fdlimit, err = c.u64("fdlimit"); err != nil {
		return nil, err
	}
	t.FDLimit = fdlimit
	if t.Flags, err = c.u32("flags"); err != nil {
		return nil, err
	}
	if t.UID, err = c.u32("uid"); err != nil {
		return nil, err
	}
	if t.GID, err = c.u32("gid"); err != nil {
		return nil, err
	}
	if v >= 2 {
		if t.VmSizeKB, err = c.u32("vmsize_kb"); err != nil {
			return nil, err
		}
		if t.VmRSSKB, err = c.u32("vmrss_kb"); err != nil {
			return nil, err
		}
		if t.VmSwapKB, err = c.u32("vmswap_kb"); err != nil {
			return nil, err
		}
		if t.PfMajor, err = c.u64("pfmajor"); err != nil {
			return nil, err
		}
		if t.PfMinor, err = c.u64("pfminor"); err != nil {
			return nil, err
		}
	}
	if v >= 3 {
		at := c.i
		n, err := c.u16("env length")
		if err != nil {
			return nil, err
		}
		if n > maxEnv {
			c.i = at
			return nil, c.fail("env length %d is over the limit %d", n, maxEnv)
		}
		b, err := c.bytes(int(n), "env")
		if err != nil {
			return nil, err
		}
		t.Env = splitNUL(b)
	}
	if v >= 4 {
		u64(&t.Vtid, "vtid")
		u64(&t.Vpid, "vpid")
		if err != nil {
			return nil, err
		}
		at := c.i
		n, err := c.u16("cgroups length")
		if err != nil {
			return nil, err
		}
		if n > maxCgroups {
			c.i = at
			return nil, c.fail("cgroups length %d is over the limit %d", n, maxCgroups)
		}
		b, err := c.bytes(int(n), "cgroups")
		if err != nil {
			return nil, err
		}
		t.Cgroups = splitNUL(b)
	}
	if v >= 5 {
		if t.Root, err = c.str16(maxPath, "root"); err != nil {
			return nil, err
		}
	}
	if subLen == 0 {
		return t, nil
	}
	// PL_V9's fields appended since: each read only when the entry is
	// long enough. libs 0.10 inserted pidns_init_start_ts and tty before
	// loginuid; an entry with at most 29 bytes left was written before.
	fits := func(n int) bool { return c.i-start+n <= int(subLen) }
	if int(subLen)-(c.i-start) > 29 {
		if fits(8) {
			t.PidnsInitStart, _ = c.u64("pidns_init_start_ts")
		}
		if fits(4) {
			t.TTY, _ = c.u32("tty")
		}
	}
	if fits(4) {
		t.LoginUID, _ = c.u32("loginuid")
	}
	if fits(1) {
		x, _ := c.u8("exe_writable")
		t.ExeWritable = x != 0
	}
	if fits(8) {
		t.CapInheritable, _ = c.u64("cap_inheritable")
	}
	if fits(8) {
		t.CapPermitted, _ = c.u64("cap_permitted")
	}
	if fits(8) {
		t.CapEffective, _ = c.u64("cap_effective")
	}
	if fits(1) {
		x, _ := c.u8("exe_upper_layer")
		t.ExeUpperLayer = x != 0
	}
	if fits(8) {
		t.ExeIno, _ = c.u64("exe_ino")
	}
	if fits(8) {
		t.ExeInoCtime, _ = c.u64("exe_ino_ctime")
	}
	if fits(8) {
		t.ExeInoMtime, _ = c.u64("exe_ino_mtime")
	}
	if fits(1) {
		x, _ := c.u8("exe_from_memfd")
		t.ExeFromMemfd = x != 0
	}
	if fits(1) {
		x, _ := c.u8("exe_lower_layer")
		t.ExeLowerLayer = x != 0
	}
	if fits(8) {
		u64(&t.Pgid, "pgid")
	}
	return t, err
}

// parseFDList reads an fd list block: a tid, then its descriptors.
func parseFDList(c *cursor, v2 bool, h *Header) error {
	tid, err := c.u64("tid")
	if err != nil {
		return err
	}
	var fds []FD
	for c.left() >= 4 {
		start := c.i
		var subLen uint32
		if v2 {
			if subLen, err = c.u32("entry length"); err != nil {
				return err
			}
			if int(subLen) > c.left()+4 || subLen < 4 {
				c.i = start
				return c.fail("fd entry length %d does not fit in the %d bytes left", subLen, c.left())
			}
		}
		f, err := parseFD(c, start, subLen)
		if err != nil {
			return err
		}
		if subLen != 0 {
			if read := c.i - start; read > int(subLen) {
				return c.fail("fd entry read %d bytes past its length %d", read-int(subLen), subLen)
			}
			c.i = start + int(subLen)
		}
		fds = append(fds, f)
	}
	t := h.ThreadByTid[int64(tid)]
	if t == nil {
		h.OrphanFDs += len(fds)
		return nil
	}
	t.FDs = append(t.FDs, fds...)
	t.hasFDs = true
	return nil
}

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }

func parseFD(c *cursor, start int, subLen uint32) (FD, error) {
	var f FD
	num, err := c.u64("fd")
	if err != nil {
		return f, err
	}
	f.Num = int64(num)
	if f.Ino, err = c.u64("ino"); err != nil {
		return f, err
	}
	if f.Type, err = c.u8("type"); err != nil {
		return f, err
	}
	switch f.Type {
	case FDIPv4Sock:
		b, err := c.bytes(13, "ipv4 socket")
		if err != nil {
			return f, err
		}
		f.SIP, f.DIP = addr4(b[0:4]), addr4(b[4:8])
		f.SPort, f.DPort = binary.LittleEndian.Uint16(b[8:]), binary.LittleEndian.Uint16(b[10:])
		f.L4Proto = b[12]
	case FDIPv4Serv:
		b, err := c.bytes(7, "ipv4 server socket")
		if err != nil {
			return f, err
		}
		f.SIP, f.SPort, f.L4Proto = addr4(b[0:4]), binary.LittleEndian.Uint16(b[4:]), b[6]
	case FDIPv6Sock:
		b, err := c.bytes(37, "ipv6 socket")
		if err != nil {
			return f, err
		}
		f.SIP, f.DIP = netip.AddrFrom16([16]byte(b[0:16])), netip.AddrFrom16([16]byte(b[16:32]))
		f.SPort, f.DPort = binary.LittleEndian.Uint16(b[32:]), binary.LittleEndian.Uint16(b[34:])
		f.L4Proto = b[36]
	case FDIPv6Serv:
		b, err := c.bytes(19, "ipv6 server socket")
		if err != nil {
			return f, err
		}
		f.SIP, f.SPort, f.L4Proto = netip.AddrFrom16([16]byte(b[0:16])), binary.LittleEndian.Uint16(b[16:]), b[18]
	case FDUnixSock:
		if f.Source, err = c.u64("unix source"); err != nil {
			return f, err
		}
		if f.Dest, err = c.u64("unix destination"); err != nil {
			return f, err
		}
		if f.Name, err = c.str16(maxPath-1, "unix path"); err != nil {
			return f, err
		}
	case FDFileV2:
		if f.OpenFlags, err = c.u32("open flags"); err != nil {
			return f, err
		}
		if f.Name, err = c.str16(maxPath-1, "file name"); err != nil {
			return f, err
		}
		if subLen != 0 && c.i-start+4 <= int(subLen) {
			if f.Dev, err = c.u32("dev"); err != nil {
				return f, err
			}
		}
	case FDFifo, FDFile, FDDirectory, FDUnsupported, FDEvent, FDSignalfd, FDEventpoll, FDInotify,
		FDTimerfd, FDNetlink, FDBPF, FDUserfaultfd, FDIOUring, FDMemfd, FDPidfd:
		if f.Name, err = c.str16(maxPath-1, "name"); err != nil {
			return f, err
		}
	case FDUnknown:
		// libscap writes nothing more.
	default:
		// A type from a newer libscap: as libscap does, keep it as
		// unsupported; its entry length (FDL_V2) skips the rest.
		if subLen == 0 {
			return f, c.fail("fd %d has unknown type %d and no entry length", f.Num, f.Type)
		}
		f.Name = fmt.Sprintf("unknown-type:[%d]", f.Type)
		f.Type = FDUnsupported
	}
	return f, nil
}

func parseUserList(c *cursor, v2 bool, h *Header) error {
	for c.left() >= 4 {
		start := c.i
		var subLen uint32
		var err error
		if v2 {
			if subLen, err = c.u32("entry length"); err != nil {
				return err
			}
			if int(subLen) > c.left()+4 || subLen < 4 {
				c.i = start
				return c.fail("user entry length %d does not fit in the %d bytes left", subLen, c.left())
			}
		}
		typ, err := c.u8("entry type")
		if err != nil {
			return err
		}
		if typ == 0 {
			var u User
			if u.UID, err = c.u32("uid"); err != nil {
				return err
			}
			if u.GID, err = c.u32("gid"); err != nil {
				return err
			}
			if u.Name, err = c.str16(maxCredStr-1, "user name"); err != nil {
				return err
			}
			if u.Home, err = c.str16(maxCredStr-1, "home"); err != nil {
				return err
			}
			if u.Shell, err = c.str16(maxCredStr-1, "shell"); err != nil {
				return err
			}
			h.Users = append(h.Users, u)
		} else {
			var g Group
			if g.GID, err = c.u32("gid"); err != nil {
				return err
			}
			if g.Name, err = c.str16(maxCredStr-1, "group name"); err != nil {
				return err
			}
			h.Groups = append(h.Groups, g)
		}
		if subLen != 0 {
			if read := c.i - start; read > int(subLen) {
				return c.fail("user entry read %d bytes past its length %d", read-int(subLen), subLen)
			}
			c.i = start + int(subLen)
		}
	}
	return nil
}

func parseIfList(c *cursor, v2 bool, h *Header) error {
	var list []Interface
	for c.left() >= 4 {
		start := c.i
		var entry uint32
		var err error
		if v2 {
			if entry, err = c.u32("entry length"); err != nil {
				return err
			}
		}
		typ, err := c.u16("type")
		if err != nil {
			return err
		}
		nameLen, err := c.u16("name length")
		if err != nil {
			return err
		}
		if int(nameLen) >= maxPath {
			c.i -= 2
			return c.fail("interface name length %d is over the limit %d", nameLen, maxPath-1)
		}
		it := Interface{Type: typ}
		switch typ {
		case IfIPv4, IfIPv4NoLinkSpeed:
			b, err := c.bytes(12, "ipv4 addresses")
			if err != nil {
				return err
			}
			it.Addr, it.Netmask, it.Bcast = addr4(b[0:4]), addr4(b[4:8]), addr4(b[8:12])
		case IfIPv6, IfIPv6NoLinkSpeed:
			b, err := c.bytes(48, "ipv6 addresses")
			if err != nil {
				return err
			}
			it.Addr = netip.AddrFrom16([16]byte(b[0:16]))
			it.Netmask = netip.AddrFrom16([16]byte(b[16:32]))
			it.Bcast = netip.AddrFrom16([16]byte(b[32:48]))
		default:
			c.i -= 4
			return c.fail("unknown interface type %d", typ)
		}
		if typ == IfIPv4 || typ == IfIPv6 {
			if it.LinkSpeed, err = c.u64("link speed"); err != nil {
				return err
			}
		}
		name, err := c.bytes(int(nameLen), "interface name")
		if err != nil {
			return err
		}
		it.Name = cstr(name)
		if v2 {
			end := start + 4 + int(entry)
			if end < c.i || end > len(c.b) {
				return c.fail("interface entry length %d does not match its content", entry)
			}
			c.i = end
		}
		list = append(list, it)
	}
	// A later interface block replaces the list, as in libscap.
	h.Interfaces = list
	return nil
}
