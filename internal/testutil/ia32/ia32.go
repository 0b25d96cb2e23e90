//go:build linux && amd64

// Package ia32 makes 32-bit system calls (int 0x80) from a 64-bit
// process, for tests of what the capture sees of them. The kernel treats
// such a call as a compat syscall: 32-bit numbers and arguments, so every
// pointer passed must lie below 4 GiB (see [LowString]).
package ia32

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// 32-bit syscall numbers used by the tests.
const (
	SysOpen  = 5
	SysClose = 6
)

// Syscall makes the 32-bit system call nr with up to three arguments and
// returns the kernel's result (a negative errno on failure).
func Syscall(nr, a1, a2, a3 uintptr) int64

// LowString copies s, NUL-terminated, into memory mapped below 4 GiB and
// returns its address. The mapping is never freed: tests call it a few
// times.
func LowString(s string) (uintptr, error) {
	b, err := unix.Mmap(-1, 0, len(s)+1, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		return 0, fmt.Errorf("mmap below 4 GiB: %w", err)
	}
	copy(b, s)
	return uintptrOf(b), nil
}
