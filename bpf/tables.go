package bpf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Per-set capacity of each table. The maps hold two sets (see
// [Capture.SetTables]), so each map is twice this size.
const (
	MaxComm   = 4096
	MaxUID    = 4096
	MaxSock   = 4096
	MaxPtrace = 128
	MaxPath   = 8192 // exact and prefix entries together
	MaxExe    = 8192 // exact and prefix entries together
)

// ErrInvalidTables is wrapped by every error of [Tables.Validate].
var ErrInvalidTables = errors.New("invalid prefilter tables")

// SockKey is a socket family and port (host byte order). The port is 0 for
// families without ports.
type SockKey struct {
	Family uint16
	Port   uint16
}

// Tables is the kernel prefilter as data: what the planner produces and
// [Capture.SetTables] loads. It is a plain value, independent of the
// kernel; the zero value drops every syscall.
//
// Every lookup table follows the same rule: the mask stored for a key (or
// for the longest matching path entry) must hold every clause that is
// possibly true for a value matching that key, including clauses that do
// not constrain the dimension at all; the Default mask is used for values
// that match no key, and the Unknown mask when the kernel cannot see or
// trust the value (relative or unnormalised paths, unreadable addresses).
// A dimension is only consulted for the syscalls whose DimsPerSyscall
// entry names it, and only in [ModeFull].
type Tables struct {
	// Gate is the clause mask per syscall id (x86_64); a missing id is 0.
	Gate map[int]Mask
	// DimsPerSyscall lists the dimensions each syscall is checked against.
	DimsPerSyscall map[int]Dim
	// Always lists syscalls sent in every mode even when no clause
	// survives (state the userspace tables need, e.g. close or chdir).
	Always map[int]bool
	// Captured lists the syscalls sent in [ModeOff] (besides those with a
	// gate mask and Always).
	Captured map[int]bool

	// Comm is keyed by the task name (at most 15 bytes).
	Comm        map[string]Mask
	CommDefault Mask

	// UID is keyed by the effective uid.
	UID        map[uint32]Mask
	UIDDefault Mask

	// Container masks by the class of the task's cgroup.
	ContainerHost, ContainerInside, ContainerUnknown Mask

	// OpenFlags is indexed by an OR of OpenRead, OpenWrite, OpenCreate and
	// OpenTrunc, for open, openat, openat2 and creat.
	OpenFlags [16]Mask

	// PathExact and PathPrefix match the first path argument of file
	// syscalls (absolute, normalised, at most PathMax bytes). A prefix is
	// a plain byte prefix ("/etc" matches "/etcfoo"); the longest match
	// wins, an exact entry beats a prefix entry of the same length.
	PathExact, PathPrefix    map[string]Mask
	PathDefault, PathUnknown Mask

	// Sock is keyed by family and port of the remote (connect, sendto,
	// sendmsg, accept) or bound (bind) address; SockFamily is the default
	// per family, SockDefault for other families. listen uses the
	// address the socket is bound to.
	Sock                     map[SockKey]Mask
	SockFamily               map[uint16]Mask
	SockDefault, SockUnknown Mask

	// Ptrace is keyed by the ptrace request.
	Ptrace        map[uint32]Mask
	PtraceDefault Mask

	// ExeExact and ExePrefix match the path of the program an execve or
	// execveat runs (as the caller passed it), like PathExact/PathPrefix.
	ExeExact, ExePrefix    map[string]Mask
	ExeDefault, ExeUnknown Mask
}

// Validate checks the tables against the ABI's limits. The error wraps
// [ErrInvalidTables].
func (t *Tables) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil", ErrInvalidTables)
	}
	for _, m := range []struct {
		name string
		ids  []int
	}{
		{"gate", sortedKeys(t.Gate)},
		{"dims per syscall", sortedKeys(t.DimsPerSyscall)},
		{"always", sortedKeys(t.Always)},
		{"captured", sortedKeys(t.Captured)},
	} {
		for _, id := range m.ids {
			if id < 0 || id >= NumSyscalls {
				return fmt.Errorf("%w: %s: syscall id %d out of range [0,%d)", ErrInvalidTables, m.name, id, NumSyscalls)
			}
		}
	}
	for _, id := range sortedKeys(t.DimsPerSyscall) {
		if d := t.DimsPerSyscall[id]; d&^dimAll != 0 {
			return fmt.Errorf("%w: dims per syscall: syscall %d: unknown dimension bits %#x", ErrInvalidTables, id, uint32(d&^dimAll))
		}
	}
	for _, c := range sortedKeys(t.Comm) {
		if len(c) == 0 || len(c) > 15 || strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("%w: comm %q: want 1 to 15 bytes without NUL", ErrInvalidTables, c)
		}
	}
	if err := checkPaths("path", t.PathExact, t.PathPrefix, MaxPath); err != nil {
		return err
	}
	if err := checkPaths("exe", t.ExeExact, t.ExePrefix, MaxExe); err != nil {
		return err
	}
	for _, c := range []struct {
		name     string
		n, limit int
	}{
		{"comm", len(t.Comm), MaxComm},
		{"uid", len(t.UID), MaxUID},
		{"sock", len(t.Sock) + len(t.SockFamily), MaxSock},
		{"ptrace", len(t.Ptrace), MaxPtrace},
	} {
		if c.n > c.limit {
			return fmt.Errorf("%w: %s: %d entries, at most %d", ErrInvalidTables, c.name, c.n, c.limit)
		}
	}
	return nil
}

func checkPaths(name string, exact, prefix map[string]Mask, limit int) error {
	if n := len(exact) + len(prefix); n > limit {
		return fmt.Errorf("%w: %s: %d entries, at most %d", ErrInvalidTables, name, n, limit)
	}
	for _, kind := range []struct {
		what string
		m    map[string]Mask
	}{{"exact", exact}, {"prefix", prefix}} {
		for _, p := range sortedKeys(kind.m) {
			switch {
			case len(p) == 0 || p[0] != '/':
				return fmt.Errorf("%w: %s %s %q: not an absolute path", ErrInvalidTables, name, kind.what, p)
			case len(p) > PathMax:
				return fmt.Errorf("%w: %s %s %q: longer than %d bytes", ErrInvalidTables, name, kind.what, p, PathMax)
			case strings.IndexByte(p, 0) >= 0:
				return fmt.Errorf("%w: %s %s %q: contains NUL", ErrInvalidTables, name, kind.what, p)
			}
		}
	}
	return nil
}

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

func cmask(m Mask) captureFalcocMask { return captureFalcocMask{W: m} }
