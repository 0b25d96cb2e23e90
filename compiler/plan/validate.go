package plan

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrInvalidTables is wrapped by every error of [Tables.Validate].
var ErrInvalidTables = errors.New("invalid prefilter tables")

// dimAll is every dimension the kernel knows.
const dimAll = DimComm | DimUID | DimContainer | DimOpenFlags | DimPath | DimSock | DimArg0 | DimExe | DimSuffix

// Validate checks the tables against the kernel ABI's limits (ids below
// [NumSyscalls], known dimensions, at most [TableCeiling] entries per
// table, comm and path keys the kernel can hold). The error wraps
// [ErrInvalidTables].
func (t *Tables) Validate() error { return t.ValidateCapacity(MaxCapacity) }

// ValidateCapacity is [Tables.Validate] with the table capacities c (the
// maps' sizes, e.g.).
func (t *Tables) ValidateCapacity(c Capacity) error {
	if t == nil {
		return fmt.Errorf("%w: nil", ErrInvalidTables)
	}
	if err := t.validWords(); err != nil {
		return err
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
		if len(c) == 0 || len(c) > CommMax || strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("%w: comm %q: want 1 to %d bytes without NUL", ErrInvalidTables, c, CommMax)
		}
	}
	if err := checkPaths("path", t.PathExact, t.PathPrefix, c.Path); err != nil {
		return err
	}
	if err := checkPaths("exe", t.ExeExact, t.ExePrefix, c.Exe); err != nil {
		return err
	}
	for _, s := range sortedKeys(t.Suffix) {
		if len(s) == 0 || len(s) > SuffixMax || strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: suffix %q: want 1 to %d bytes without NUL", ErrInvalidTables, s, SuffixMax)
		}
	}
	for _, c := range []struct {
		name     string
		n, limit int
	}{
		{"comm", len(t.Comm), c.Comm},
		{"uid", len(t.UID), c.UID},
		{"sock", len(t.Sock) + len(t.SockFamily), c.Sock},
		{"arg0", len(t.Arg0), c.Arg0},
		{"suffix", len(t.Suffix), c.Suffix},
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

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
