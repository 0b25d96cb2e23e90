package state

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// FDType is the kind of object a file descriptor refers to.
type FDType uint8

// File descriptor types. [FDType.String] gives Falco's fd.type and
// [FDType.Char] its fd.typechar.
const (
	FDUnknown FDType = iota
	FDFile
	FDDirectory
	FDIPv4
	FDIPv6
	FDUnix
	FDPipe
	FDEvent
	FDSignalfd
	FDEventPoll
	FDInotify
	FDTimerfd
	FDNetlink
	FDBPF
	FDUserfaultfd
	FDIOUring
	FDMemfd
	fdTypeEnd
)

var fdTypeInfo = [fdTypeEnd]struct {
	name string
	char byte
}{
	FDUnknown:     {"<NA>", 'o'}, // Falco's fd.type for a type it cannot name
	FDFile:        {"file", 'f'},
	FDDirectory:   {"directory", 'd'},
	FDIPv4:        {"ipv4", '4'},
	FDIPv6:        {"ipv6", '6'},
	FDUnix:        {"unix", 'u'},
	FDPipe:        {"pipe", 'p'},
	FDEvent:       {"event", 'e'},
	FDSignalfd:    {"signalfd", 's'},
	FDEventPoll:   {"eventpoll", 'l'},
	FDInotify:     {"inotify", 'i'},
	FDTimerfd:     {"timerfd", 't'},
	FDNetlink:     {"netlink", 'n'},
	FDBPF:         {"bpf", 'b'},
	FDUserfaultfd: {"userfaultfd", 'u'},
	FDIOUring:     {"io_uring", 'r'},
	FDMemfd:       {"memfd", 'm'},
}

// String returns fd.type for the type.
func (t FDType) String() string {
	if t >= fdTypeEnd {
		return fdTypeInfo[FDUnknown].name
	}
	return fdTypeInfo[t].name
}

// Char returns fd.typechar for the type.
func (t FDType) Char() byte {
	if t >= fdTypeEnd {
		return fdTypeInfo[FDUnknown].char
	}
	return fdTypeInfo[t].char
}

// IsSocket reports whether the type is a socket.
func (t FDType) IsSocket() bool {
	return t == FDIPv4 || t == FDIPv6 || t == FDUnix || t == FDNetlink
}

// L4Proto is the transport protocol of an IP socket.
type L4Proto uint8

// Transport protocols; [L4Proto.String] gives fd.l4proto.
const (
	L4Unknown L4Proto = iota
	L4TCP
	L4UDP
	L4ICMP
	L4Raw
)

// String returns fd.l4proto for the protocol.
func (p L4Proto) String() string {
	switch p {
	case L4TCP:
		return "tcp"
	case L4UDP:
		return "udp"
	case L4ICMP:
		return "icmp"
	case L4Raw:
		return "raw"
	}
	return ""
}

// Linux constants the API takes as plain values.
const (
	// AtFDCWD is the dirfd value meaning "the current directory".
	AtFDCWD = -100

	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16

	sockStream   = 1
	sockDgram    = 2
	sockRaw      = 3
	sockTypeMask = 0xf

	ipprotoICMP   = 1
	ipprotoTCP    = 6
	ipprotoUDP    = 17
	ipprotoICMPv6 = 58

	// OCloexec is O_CLOEXEC; descriptors carrying it are closed by Exec.
	OCloexec = 0o2000000
	// ODirectory is O_DIRECTORY.
	ODirectory = 0o200000
	// SockCloexec is SOCK_CLOEXEC, the same bit as O_CLOEXEC.
	SockCloexec = OCloexec

	closeRangeUnshare = 2
	closeRangeCloexec = 4
)

// FD is one open file descriptor. Its fields are set by the [Table]
// methods; the engine may fill Dev, Ino and the layer flags after [Table.Open]
// when the event carries them. An FD is owned by its table, which reuses
// the FD of a descriptor that is closed or opened again: do not keep FD
// pointers across events.
type FD struct {
	Num  int64
	Type FDType
	// name is fd.name (see [FD.Name]); with lazy set it is not built
	// yet.
	name string
	lazy bool
	// NameRaw is fd.nameraw: the path as given to the syscall.
	NameRaw string
	// Flags are the open flags (O_*), Mode the creation mode.
	Flags uint32
	Mode  uint32
	Dev   uint32
	Ino   uint64

	UpperLayer bool
	LowerLayer bool

	// Socket fields.
	Family  uint16
	L4Proto L4Proto
	Local   netip.AddrPort
	Remote  netip.AddrPort
	// Server is fd.is_server: true for accepted and listening sockets,
	// false for the side that connected.
	Server    bool
	Connected bool
	// UnixPath is the path of a unix socket.
	UnixPath string
	// NameChanged is fd.name_changed: the last update of this
	// descriptor changed a name it already had.
	NameChanged bool
}

// Client returns the client address (fd.cip / fd.cport).
func (f *FD) Client() netip.AddrPort {
	if f.Server {
		return f.Remote
	}
	return f.Local
}

// ServerAddr returns the server address (fd.sip / fd.sport).
func (f *FD) ServerAddr() netip.AddrPort {
	if f.Server {
		return f.Local
	}
	return f.Remote
}

// Directory returns fd.directory: the directory of a file, the path of a
// directory, "" for other types.
func (f *FD) Directory() string {
	switch f.Type {
	case FDFile, FDMemfd:
		return Dir(f.Name())
	case FDDirectory:
		return f.Name()
	}
	return ""
}

// Filename returns fd.filename: the last path element of a file, "" for
// other types.
func (f *FD) Filename() string {
	if f.Type != FDFile && f.Type != FDMemfd {
		return ""
	}
	return Filename(f.Name())
}

func (f *FD) setName(name string) {
	f.NameChanged = f.hasName() && f.Name() != name
	f.name, f.lazy = name, false
}

// Name returns fd.name: the absolute, cleaned path for files, the
// connection tuple "cip:cport->sip:sport" for IP sockets, the path for
// unix sockets. The tuple of a descriptor that connect named is built
// the first time it is asked for (a connect allocates nothing).
func (f *FD) Name() string {
	if f.lazy {
		f.name, f.lazy = tuple(f.Client(), f.ServerAddr()), false
	}
	return f.name
}

// AppendName appends fd.name to b, without building the string of a
// tuple not built yet.
func (f *FD) AppendName(b []byte) []byte {
	if f.lazy {
		return appendTuple(b, f.Client(), f.ServerAddr())
	}
	return append(b, f.name...)
}

// SetName sets fd.name.
func (f *FD) SetName(name string) { f.name, f.lazy = name, false }

// hasName reports whether fd.name is not empty.
func (f *FD) hasName() bool { return f.lazy || f.name != "" }

// Dir returns the directory part of a path as fd.directory does: "/etc"
// for "/etc/passwd", "/" for "/passwd", "" when there is no slash.
func Dir(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return ""
	case i == 0:
		return "/"
	}
	return p[:i]
}

// Filename returns the last element of a path as fd.filename does.
func Filename(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// ResolvePath returns p made absolute against dir and cleaned textually:
// "." and ".." resolved, repeated slashes collapsed, no trailing slash. A
// relative p with an empty or relative dir is only cleaned.
func ResolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if p[0] != '/' && dir != "" {
		p = dir + "/" + p
	}
	if !needsClean(p) {
		return p
	}
	return path.Clean(p)
}

// needsClean reports whether path.Clean would change p (not empty),
// without allocating: an empty element other than the root ("//", a
// trailing slash) or a "." or ".." element.
func needsClean(p string) bool {
	if p == "/" {
		return false
	}
	if p[len(p)-1] == '/' {
		return true
	}
	// Each case needs a dot at the start, or a slash followed by a slash
	// or a dot. Look for those eight bytes at a time; where one is found,
	// the byte loop decides.
	if p[0] == '.' {
		return needsCleanBytes(p)
	}
	const ones, highs, lows = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	// eq has the high bit of each byte of x equal to c set (exact: no
	// carry crosses a byte).
	eq := func(x, c uint64) uint64 {
		y := x ^ ones*c
		return ^((y&lows + lows) | y) & highs
	}
	i := 0
	var prev uint64 // high bit of the lowest byte: the byte before the word is a slash
	for ; i+8 <= len(p); i += 8 {
		x := uint64(p[i]) | uint64(p[i+1])<<8 | uint64(p[i+2])<<16 | uint64(p[i+3])<<24 |
			uint64(p[i+4])<<32 | uint64(p[i+5])<<40 | uint64(p[i+6])<<48 | uint64(p[i+7])<<56
		sl := eq(x, '/')
		if (sl<<8|prev)&(sl|eq(x, '.')) != 0 {
			return needsCleanBytes(p)
		}
		prev = sl >> 56
	}
	for i = max(i, 1); i < len(p); i++ {
		if p[i-1] == '/' && (p[i] == '/' || p[i] == '.') {
			return needsCleanBytes(p)
		}
	}
	return false
}

// needsCleanBytes is needsClean byte by byte, for a p that does not end
// in a slash.
func needsCleanBytes(p string) bool {
	// One pass: an empty element ("//") is a slash after a slash; a "."
	// or ".." element starts with a dot at the start or after a slash,
	// and ends at the end or a slash.
	slash := false // the previous byte is a slash
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			if slash {
				return true
			}
			slash = true
			continue
		case c == '.' && (i == 0 || slash):
			k := i + 1
			if k < len(p) && p[k] == '.' {
				k++
			}
			if k == len(p) || p[k] == '/' {
				return true
			}
		}
		slash = false
	}
	return false
}

// FDTable is the descriptor table of one process, shared by the processes
// created with CLONE_FILES. It is not safe for concurrent use.
//
// Descriptors below maxLowFD (nearly all of them) live in a slice indexed
// by number; the others in a map.
type FDTable struct {
	low  []*FD
	high map[int64]*FD
	n    int // open descriptors
	refs int // processes sharing the table
}

// maxLowFD bounds the descriptor numbers kept in FDTable.low.
const maxLowFD = 1024

func newFDTable() *FDTable { return &FDTable{refs: 1} }

// Get returns descriptor num, or nil.
func (t *FDTable) Get(num int64) *FD {
	if t == nil {
		return nil
	}
	if uint64(num) < uint64(len(t.low)) {
		return t.low[num]
	}
	if num >= 0 && num < maxLowFD {
		return nil
	}
	return t.high[num]
}

// Len returns the number of open descriptors (proc.fdopencount).
func (t *FDTable) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// Each calls fn for every descriptor, in no particular order, until fn
// returns false. fn may remove the descriptor it is given (see del).
func (t *FDTable) Each(fn func(*FD) bool) {
	if t == nil {
		return
	}
	for _, f := range t.low {
		if f != nil && !fn(f) {
			return
		}
	}
	for _, f := range t.high {
		if !fn(f) {
			return
		}
	}
}

func (t *FDTable) clone() *FDTable {
	c := &FDTable{low: make([]*FD, len(t.low)), n: t.n, refs: 1}
	for i, f := range t.low {
		if f != nil {
			cp := *f
			c.low[i] = &cp
		}
	}
	if len(t.high) > 0 {
		c.high = make(map[int64]*FD, len(t.high))
		for k, f := range t.high {
			cp := *f
			c.high[k] = &cp
		}
	}
	return c
}

// put stores f as descriptor f.Num, replacing what was there.
func (t *FDTable) put(f *FD) *FD {
	num := f.Num
	if num >= 0 && num < maxLowFD {
		if num >= int64(len(t.low)) {
			t.low = slices.Grow(t.low, int(num)+1-len(t.low))
			t.low = t.low[:cap(t.low)]
			if len(t.low) > maxLowFD {
				t.low = t.low[:maxLowFD]
			}
		}
		if t.low[num] == nil {
			t.n++
		}
		t.low[num] = f
		return f
	}
	if t.high == nil {
		t.high = make(map[int64]*FD)
	}
	if t.high[num] == nil {
		t.n++
	}
	t.high[num] = f
	return f
}

// del removes descriptor num and returns it, or nil when it was not open.
func (t *FDTable) del(num int64) *FD {
	if num >= 0 && num < maxLowFD {
		if num >= int64(len(t.low)) || t.low[num] == nil {
			return nil
		}
		f := t.low[num]
		t.low[num] = nil
		t.n--
		return f
	}
	f := t.high[num]
	if f != nil {
		delete(t.high, num)
		t.n--
	}
	return f
}

func (t *FDTable) closeExec() {
	t.Each(func(f *FD) bool {
		if f.Flags&OCloexec != 0 {
			t.del(f.Num)
		}
		return true
	})
}

// tuple formats an IP connection as Falco's fd.name does.
func tuple(client, server netip.AddrPort) string {
	return string(appendTuple(make([]byte, 0, 64), client, server))
}

// appendTuple appends the tuple "cip:cport->sip:sport" to b.
func appendTuple(b []byte, client, server netip.AddrPort) []byte {
	b = appendAddrPort(b, client)
	b = append(b, "->"...)
	return appendAddrPort(b, server)
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.IsValid() {
		b = a.AppendTo(b)
	} else {
		b = append(b, "0.0.0.0"...)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

func l4For(family, typ, proto int) L4Proto {
	if family != afInet && family != afInet6 {
		return L4Unknown
	}
	switch typ & sockTypeMask {
	case sockStream:
		return L4TCP
	case sockDgram:
		if proto == ipprotoICMP || proto == ipprotoICMPv6 {
			return L4ICMP
		}
		return L4UDP
	case sockRaw:
		return L4Raw
	}
	switch proto {
	case ipprotoTCP:
		return L4TCP
	case ipprotoUDP:
		return L4UDP
	}
	return L4Unknown
}

func ipType(a netip.Addr, fallback FDType) FDType {
	switch {
	case !a.IsValid():
		return fallback
	case a.Is4() || a.Is4In6():
		return FDIPv4
	}
	return FDIPv6
}

// unshareFDs gives p its own copy of a table it shares with other
// processes (exec, unshare(CLONE_FILES), close_range with
// CLOSE_RANGE_UNSHARE).
func (p *Process) unshareFDs() {
	if p.fds == nil {
		p.fds = newFDTable()
		return
	}
	if p.fds.refs > 1 {
		p.fds.refs--
		p.fds = p.fds.clone()
	}
}
