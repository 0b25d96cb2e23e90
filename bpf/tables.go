package bpf

import (
	"sort"

	"github.com/falcoc/falcoc/compiler/plan"
)

// Per-set capacity of each table. The maps hold two sets (see
// [Capture.SetTables]), so each map is twice this size. They are the
// plan's limits ([plan.Tables.Validate]).
const (
	MaxComm   = plan.MaxComm
	MaxUID    = plan.MaxUID
	MaxSock   = plan.MaxSock
	MaxPtrace = plan.MaxArg0
	MaxPath   = plan.MaxPath // exact and prefix entries together
	MaxExe    = plan.MaxExe  // exact and prefix entries together
	MaxSuffix = plan.MaxSuffix
)

// ErrInvalidTables is wrapped by every error of [Tables.Validate].
var ErrInvalidTables = plan.ErrInvalidTables

// SockKey is a socket family and port (host byte order). The port is 0 for
// families without ports.
type SockKey = plan.SockKey

// Tables is the kernel prefilter as data: the plan's tables, which
// [Capture.SetTables] loads as they are (no conversion). The zero value
// drops every syscall. A dimension is only consulted for the syscalls
// whose DimsPerSyscall entry names it, and only in [ModeFull]; the Arg0
// table is the kernel's ptrace table (FALCOC_DIM_PTRACE).
type Tables = plan.Tables

type ordered interface {
	~int | ~uint16 | ~uint32 | ~string
}

func sortedKeys[K ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// suffixKey builds the suffix table's key for suffix s: s reversed, as a
// prefix of the reversed path the kernel looks up.
func suffixKey(set uint8, s string) captureFalcocPathKey {
	r := make([]byte, len(s))
	for i := range len(s) {
		r[i] = s[len(s)-1-i]
	}
	return pathKey(set, string(r), false)
}

// pathKey builds an LPM key; exact keys include the terminating NUL.
func pathKey(set uint8, p string, exact bool) captureFalcocPathKey {
	var k captureFalcocPathKey
	k.Set = set
	n := copy(k.Path[:], p)
	bits := 8 * (1 + n)
	if exact {
		bits += 8 // the NUL, already zero in k.Path[n]
	}
	k.Prefixlen = uint32(bits)
	return k
}

func commKey(set uint32, c string) captureFalcocCommKey {
	k := captureFalcocCommKey{Set: set}
	for i := 0; i < len(c) && i < 15; i++ {
		k.Comm[i] = int8(c[i])
	}
	return k
}
