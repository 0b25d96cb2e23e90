package event

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// flagBit is the Linux value of one named flag: a value matches when
// value&mask == bits. A mask of 0 marks a name that has no Linux value
// (Falco-internal names such as O_NONE): it never matches.
type flagBit struct {
	bits, mask uint64
}

// b is a plain bit (or a group of bits that must all be set).
func b(v uint64) flagBit { return flagBit{v, v} }

// zero matches only the value 0.
var zero = flagBit{0, ^uint64(0)}

// never marks a name without a Linux value.
var never = flagBit{1, 0}

// flagValues gives the Linux (x86_64) value of the names of each flag set
// of the catalog, keyed by the first name of the set as the catalog lists
// it. Sets whose names are not here render as plain numbers.
//
// Falco's kernel drivers translate flags into their own bit layout before
// rendering; falcoc's events carry the Linux values, so the names are
// mapped back here. The few Falco-only names (O_F_CREATED, FD_UPPER_LAYER,
// FD_LOWER_LAYER, EXE_*) get bits that Linux leaves unused.
var flagValues = map[string]map[string]flagBit{
	"O_LARGEFILE": openFlags,
	"O_NONBLOCK":  {"O_NONBLOCK": b(0o4000), "O_TRUNC": b(0o1000)},
	"AF_NFC": {
		"AF_UNSPEC": {0, ^uint64(0)}, "AF_UNIX": b(1), "AF_LOCAL": b(1), "AF_INET": b(2), "AF_AX25": b(3),
		"AF_IPX": b(4), "AF_APPLETALK": b(5), "AF_NETROM": b(6), "AF_BRIDGE": b(7), "AF_ATMPVC": b(8),
		"AF_X25": b(9), "AF_INET6": b(10), "AF_ROSE": b(11), "AF_DECnet": b(12), "AF_NETBEUI": b(13),
		"AF_SECURITY": b(14), "AF_KEY": b(15), "AF_NETLINK": b(16), "AF_ROUTE": b(16), "AF_PACKET": b(17),
		"AF_ASH": b(18), "AF_ECONET": b(19), "AF_ATMSVC": b(20), "AF_RDS": b(21), "AF_SNA": b(22),
		"AF_IRDA": b(23), "AF_PPPOX": b(24), "AF_WANPIPE": b(25), "AF_LLC": b(26), "AF_CAN": b(29),
		"AF_TIPC": b(30), "AF_BLUETOOTH": b(31), "AF_IUCV": b(32), "AF_RXRPC": b(33), "AF_ISDN": b(34),
		"AF_PHONET": b(35), "AF_IEEE802154": b(36), "AF_CAIF": b(37), "AF_ALG": b(38), "AF_NFC": b(39),
	},
	"SHUT_UNKNOWN": {"SHUT_RD": zero, "SHUT_WR": b(1), "SHUT_RDWR": b(2), "SHUT_UNKNOWN": never},
	"SEEK_END":     {"SEEK_SET": zero, "SEEK_CUR": b(1), "SEEK_END": b(2)},
	"F_GETPIPE_SZ": {
		"F_DUPFD": zero, "F_GETFD": b(1), "F_SETFD": b(2), "F_GETFL": b(3), "F_SETFL": b(4),
		"F_GETLK": b(5), "F_SETLK": b(6), "F_SETLKW": b(7), "F_SETOWN": b(8), "F_GETOWN": b(9),
		"F_SETSIG": b(10), "F_GETSIG": b(11), "F_SETOWN_EX": b(15), "F_GETOWN_EX": b(16),
		"F_GETLK64": never, "F_SETLK64": never, "F_SETLKW64": never,
		"F_OFD_GETLK": b(36), "F_OFD_SETLK": b(37), "F_OFD_SETLKW": b(38),
		"F_SETLEASE": b(1024), "F_GETLEASE": b(1025), "F_NOTIFY": b(1026), "F_CANCELLK": b(1029),
		"F_DUPFD_CLOEXEC": b(1030), "F_SETPIPE_SZ": b(1031), "F_GETPIPE_SZ": b(1032), "UNKNOWN": never,
	},
	"PROT_READ": {
		"PROT_READ": b(1), "PROT_WRITE": b(2), "PROT_EXEC": b(4), "PROT_SEM": b(8),
		"PROT_GROWSDOWN": b(0x01000000), "PROT_GROWSUP": b(0x02000000), "PROT_SAO": b(0x10), "PROT_NONE": zero,
	},
	"MAP_SHARED": {
		"MAP_SHARED": {1, 3}, "MAP_PRIVATE": {2, 3}, "MAP_FIXED": b(0x10), "MAP_ANONYMOUS": b(0x20),
		"MAP_32BIT": b(0x40), "MAP_RENAME": never, "MAP_NORESERVE": b(0x4000), "MAP_POPULATE": b(0x8000),
		"MAP_NONBLOCK": b(0x10000), "MAP_GROWSDOWN": b(0x100), "MAP_DENYWRITE": b(0x800),
		"MAP_EXECUTABLE": b(0x1000), "MAP_INHERIT": never, "MAP_FILE": never, "MAP_LOCKED": b(0x2000),
	},
	"PTRACE_SINGLEBLOCK": {
		"PTRACE_TRACEME": zero, "PTRACE_PEEKTEXT": b(1), "PTRACE_PEEKDATA": b(2), "PTRACE_PEEKUSR": b(3),
		"PTRACE_POKETEXT": b(4), "PTRACE_POKEDATA": b(5), "PTRACE_POKEUSR": b(6), "PTRACE_CONT": b(7),
		"PTRACE_KILL": b(8), "PTRACE_SINGLESTEP": b(9), "PTRACE_GETREGS": b(12), "PTRACE_SETREGS": b(13),
		"PTRACE_GETFPREGS": b(14), "PTRACE_SETFPREGS": b(15), "PTRACE_ATTACH": b(16), "PTRACE_DETACH": b(17),
		"PTRACE_GETFPXREGS": b(18), "PTRACE_SETFPXREGS": b(19), "PTRACE_OLDSETOPTIONS": b(21),
		"PTRACE_SYSCALL": b(24), "PTRACE_GET_THREAD_AREA": b(25), "PTRACE_SET_THREAD_AREA": b(26),
		"PTRACE_ARCH_PRCTL": b(30), "PTRACE_SYSEMU": b(31), "PTRACE_SYSEMU_SINGLESTEP": b(32),
		"PTRACE_SINGLEBLOCK": b(33), "PTRACE_SETOPTIONS": b(0x4200), "PTRACE_GETEVENTMSG": b(0x4201),
		"PTRACE_GETSIGINFO": b(0x4202), "PTRACE_SETSIGINFO": b(0x4203), "PTRACE_GETREGSET": b(0x4204),
		"PTRACE_SETREGSET": b(0x4205), "PTRACE_SEIZE": b(0x4206), "PTRACE_INTERRUPT": b(0x4207),
		"PTRACE_LISTEN": b(0x4208), "PTRACE_PEEKSIGINFO": b(0x4209), "PTRACE_GETSIGMASK": b(0x420a),
		"PTRACE_SETSIGMASK": b(0x420b), "PTRACE_UNKNOWN": never,
	},
	"CLONE_FILES": {
		"CLONE_VM": b(0x100), "CLONE_FS": b(0x200), "CLONE_FILES": b(0x400), "CLONE_SIGHAND": b(0x800),
		"CLONE_PTRACE": b(0x2000), "CLONE_VFORK": b(0x4000), "CLONE_PARENT": b(0x8000),
		"CLONE_THREAD": b(0x10000), "CLONE_NEWNS": b(0x20000), "CLONE_SYSVSEM": b(0x40000),
		"CLONE_SETTLS": b(0x80000), "CLONE_PARENT_SETTID": b(0x100000), "CLONE_CHILD_CLEARTID": b(0x200000),
		"CLONE_UNTRACED": b(0x800000), "CLONE_CHILD_SETTID": b(0x1000000), "CLONE_NEWCGROUP": b(0x2000000),
		"CLONE_NEWUTS": b(0x4000000), "CLONE_NEWIPC": b(0x8000000), "CLONE_NEWUSER": b(0x10000000),
		"CLONE_NEWPID": b(0x20000000), "CLONE_NEWNET": b(0x40000000), "CLONE_IO": b(0x80000000),
		"CLONE_STOPPED": never, "CLONE_INVERTED": never, "NAME_CHANGED": never, "CLOSED": never,
		"CLONE_CHILD_IN_PIDNS": never,
	},
	"RDONLY": {
		"RDONLY": b(1), "NOSUID": b(2), "NODEV": b(4), "NOEXEC": b(8), "SYNCHRONOUS": b(16),
		"REMOUNT": b(32), "MANDLOCK": b(64), "DIRSYNC": b(128), "NOATIME": b(1024), "NODIRATIME": b(2048),
		"BIND": b(4096), "MOVE": b(8192), "REC": b(16384), "SILENT": b(32768), "POSIXACL": b(1 << 16),
		"UNBINDABLE": b(1 << 17), "PRIVATE": b(1 << 18), "SLAVE": b(1 << 19), "SHARED": b(1 << 20),
		"RELATIME": b(1 << 21), "KERNMOUNT": b(1 << 22), "I_VERSION": b(1 << 23), "STRICTATIME": b(1 << 24),
		"LAZYTIME": b(1 << 25), "NOSEC": b(1 << 28), "BORN": b(1 << 29), "ACTIVE": b(1 << 30), "NOUSER": b(1 << 31),
	},
	"F_OK":                {"F_OK": zero, "R_OK": b(4), "W_OK": b(2), "X_OK": b(1)},
	"EXE_WRITABLE":        {"EXE_WRITABLE": b(1), "EXE_UPPER_LAYER": b(2), "EXE_FROM_MEMFD": b(4), "EXE_LOWER_LAYER": b(8)},
	"AT_REMOVEDIR":        {"AT_REMOVEDIR": b(0x200)},
	"AT_SYMLINK_FOLLOW":   {"AT_SYMLINK_FOLLOW": b(0x400), "AT_EMPTY_PATH": b(0x1000)},
	"AT_SYMLINK_NOFOLLOW": {"AT_SYMLINK_NOFOLLOW": b(0x100), "AT_EMPTY_PATH": b(0x1000)},
	"AT_EMPTY_PATH":       {"AT_EMPTY_PATH": b(0x1000), "AT_NO_AUTOMOUNT": b(0x800), "AT_SYMLINK_NOFOLLOW": b(0x100)},
	"RENAME_NOREPLACE":    {"RENAME_NOREPLACE": b(1), "RENAME_EXCHANGE": b(2), "RENAME_WHITEOUT": b(4)},
	"RESOLVE_BENEATH": {
		"RESOLVE_NO_XDEV": b(1), "RESOLVE_NO_MAGICLINKS": b(2), "RESOLVE_NO_SYMLINKS": b(4),
		"RESOLVE_BENEATH": b(8), "RESOLVE_IN_ROOT": b(0x10), "RESOLVE_CACHED": b(0x20),
	},
	"LOCK_SH":        {"LOCK_SH": b(1), "LOCK_EX": b(2), "LOCK_NB": b(4), "LOCK_UN": b(8), "LOCK_NONE": zero},
	"FORCE":          {"FORCE": b(1), "DETACH": b(2), "EXPIRE": b(4), "NOFOLLOW": b(8)},
	"EPOLL_CLOEXEC":  {"EPOLL_CLOEXEC": b(0o2000000)},
	"PIDFD_NONBLOCK": {"PIDFD_NONBLOCK": b(0o4000)},
	"MCL_CURRENT":    {"MCL_CURRENT": b(1), "MCL_FUTURE": b(2), "MCL_ONFAULT": b(4)},
	"MLOCK_ONFAULT":  {"MLOCK_ONFAULT": b(1)},
	"PR_GET_DUMPABLE": {
		"PR_GET_DUMPABLE": b(3), "PR_SET_DUMPABLE": b(4), "PR_GET_KEEPCAPS": b(7), "PR_SET_KEEPCAPS": b(8),
		"PR_SET_NAME": b(15), "PR_GET_NAME": b(16), "PR_GET_SECCOMP": b(21), "PR_SET_SECCOMP": b(22),
		"PR_CAPBSET_READ": b(23), "PR_CAPBSET_DROP": b(24), "PR_GET_SECUREBITS": b(27),
		"PR_SET_SECUREBITS": b(28), "PR_MCE_KILL": b(33), "PR_SET_MM": b(35),
		"PR_SET_CHILD_SUBREAPER": b(36), "PR_GET_CHILD_SUBREAPER": b(37), "PR_SET_NO_NEW_PRIVS": b(38),
		"PR_GET_NO_NEW_PRIVS": b(39), "PR_GET_TID_ADDRESS": b(40), "PR_SET_THP_DISABLE": b(41),
		"PR_GET_THP_DISABLE": b(42), "PR_CAP_AMBIENT": b(47),
	},
	"MFD_CLOEXEC":          {"MFD_CLOEXEC": b(1), "MFD_ALLOW_SEALING": b(2), "MFD_HUGETLB": b(4)},
	"CLOSE_RANGE_UNSHARE":  {"CLOSE_RANGE_UNSHARE": b(2), "CLOSE_RANGE_CLOEXEC": b(4)},
	"FD_UPPER_LAYER_CREAT": {"FD_UPPER_LAYER_CREAT": b(1), "FD_LOWER_LAYER_CREAT": b(2)},
}

// Linux open flags (x86_64). The access mode is a 2-bit field.
var openFlags = map[string]flagBit{
	"O_RDONLY": {0, 3}, "O_WRONLY": {1, 3}, "O_RDWR": {2, 3},
	"O_CREAT": b(0o100), "O_EXCL": b(0o200), "O_TRUNC": b(0o1000), "O_APPEND": b(0o2000),
	"O_NONBLOCK": b(0o4000), "O_DSYNC": b(0o10000), "O_DIRECT": b(0o40000), "O_LARGEFILE": b(0o100000),
	"O_DIRECTORY": b(0o200000), "O_CLOEXEC": b(0o2000000), "O_SYNC": b(0o4010000),
	"O_TMPFILE": b(0o20200000), "O_NONE": never,
	"O_F_CREATED": b(OFCreated), "FD_UPPER_LAYER": b(FDUpperLayer), "FD_LOWER_LAYER": b(FDLowerLayer),
}

// Linux open flag values the package and its users test.
const (
	ORdonly    = 0
	OWronly    = 0o1
	ORdwr      = 0o2
	OAccMode   = 0o3
	OCreat     = 0o100
	OTrunc     = 0o1000
	OAppend    = 0o2000
	ODirectory = 0o200000
	OCloexec   = 0o2000000
	OTmpfile   = 0o20200000
	// OFCreated is set in an open's flags when the call created the file
	// (Falco's O_F_CREATED); FDUpperLayer and FDLowerLayer say in which
	// overlayfs layer the file is. Linux does not use these bits.
	OFCreated    = 1 << 28
	FDUpperLayer = 1 << 29
	FDLowerLayer = 1 << 30
)

// FlagSet is the flag names of a catalog parameter with their values, in
// catalog order (see [FlagsOf]). It is read-only and safe for concurrent
// use.
type FlagSet struct {
	enum  bool
	names []string
	bits  []flagBit
	index map[string]int
}

// flagSets maps the first element of a catalog flag-name slice to its set.
var flagSets = buildFlagSets()

func buildFlagSets() map[*string]*FlagSet {
	sets := make(map[*string]*FlagSet)
	for _, e := range catalog.Events() {
		for _, p := range e.Params {
			if len(p.Flags) == 0 || sets[&p.Flags[0]] != nil {
				continue
			}
			vals, ok := flagValues[p.Flags[0]]
			if !ok {
				continue
			}
			fs := &FlagSet{index: make(map[string]int, len(p.Flags))}
			switch p.Type {
			case catalog.ParamEnumFlags8, catalog.ParamEnumFlags16, catalog.ParamEnumFlags32:
				fs.enum = true
			}
			for _, n := range p.Flags {
				v, ok := vals[n]
				if !ok {
					continue
				}
				if _, dup := fs.index[n]; dup {
					continue
				}
				fs.index[n] = len(fs.names)
				fs.names = append(fs.names, n)
				fs.bits = append(fs.bits, v)
			}
			sets[&p.Flags[0]] = fs
		}
	}
	return sets
}

// FlagsOf returns the flag set of parameter p; nil when p has no flag
// names this package knows.
func FlagsOf(p *catalog.Param) *FlagSet {
	if len(p.Flags) == 0 {
		return nil
	}
	return flagSets[&p.Flags[0]]
}

// appendNames appends the names of the flags set in v, "|"-separated in
// the catalog's order; for an enumeration, the first name whose value is
// v. It appends nothing when no name matches.
func (fs *FlagSet) appendNames(dst []byte, v uint64) []byte {
	first := true
	for i, fb := range fs.bits {
		if fb.mask == 0 || v&fb.mask != fb.bits {
			continue
		}
		if fs.enum {
			if v != fb.bits {
				continue
			}
			return append(dst, fs.names[i]...)
		}
		if !first {
			dst = append(dst, '|')
		}
		dst = append(dst, fs.names[i]...)
		first = false
	}
	return dst
}

// FlagNames returns the names of value v of parameter p as Falco renders
// them ("O_RDONLY|O_CLOEXEC", "AF_INET", "PTRACE_ATTACH"): "" when p has
// no named values we know or no name matches.
func FlagNames(p *catalog.Param, v uint64) string {
	fs := FlagsOf(p)
	if fs == nil {
		return ""
	}
	return string(fs.appendNames(nil, v))
}

// AppendFlagNames is [FlagNames] appending to dst.
func AppendFlagNames(dst []byte, p *catalog.Param, v uint64) []byte {
	fs := FlagsOf(p)
	if fs == nil {
		return dst
	}
	return fs.appendNames(dst, v)
}

// FlagValue returns the Linux value of one flag name of parameter p.
func FlagValue(p *catalog.Param, name string) (uint64, bool) {
	fs := FlagsOf(p)
	if fs == nil {
		return 0, false
	}
	i, ok := fs.index[name]
	if !ok || fs.bits[i].mask == 0 {
		return 0, false
	}
	return fs.bits[i].bits, true
}

// ParseFlags parses the text form of parameter p's value: a number, or
// names joined by "|" ("O_WRONLY|O_CREAT"), each of which may itself be a
// number. Unknown names are an error.
func ParseFlags(p *catalog.Param, s string) (uint64, error) {
	var v uint64
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty flags")
	}
	for part := range strings.SplitSeq(s, "|") {
		part = strings.TrimSpace(part)
		if n, err := strconv.ParseUint(part, 0, 64); err == nil {
			v |= n
			continue
		}
		n, ok := FlagValue(p, part)
		if !ok {
			return 0, fmt.Errorf("unknown flag %q for %s", part, p.Name)
		}
		v |= n
	}
	return v, nil
}

// Parse is [ParseFlags] for a parameter with flag set fs (nil when it has
// none we know: only numbers parse), without allocating; false where
// ParseFlags fails.
func (fs *FlagSet) Parse(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	var v uint64
	for len(s) > 0 {
		part := s
		if i := strings.IndexByte(s, '|'); i >= 0 {
			part, s = s[:i], s[i+1:]
			if s == "" {
				return 0, false // a trailing empty name
			}
		} else {
			s = ""
		}
		part = strings.TrimSpace(part)
		if part != "" && '0' <= part[0] && part[0] <= '9' {
			n, err := strconv.ParseUint(part, 0, 64)
			if err != nil {
				return 0, false
			}
			v |= n
			continue
		}
		if fs == nil {
			return 0, false
		}
		j, ok := fs.index[part]
		if !ok || fs.bits[j].mask == 0 {
			return 0, false
		}
		v |= fs.bits[j].bits
	}
	return v, true
}

// Names returns the names of fs that [FlagSet.Parse] accepts, in catalog
// order.
func (fs *FlagSet) Names() []string {
	if fs == nil {
		return nil
	}
	var out []string
	for i, n := range fs.names {
		if fs.bits[i].mask != 0 {
			out = append(out, n)
		}
	}
	return out
}
