package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// NumSyscalls bounds the syscall ids the tables hold (the kernel's gate
// array has one entry per id below it).
const NumSyscalls = 512

// SyscallNames renders syscall ids as names for plan descriptions: the
// first twelve, then a count.
func SyscallNames(ids []int) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := catalog.SyscallName(id); ok {
			names[i] = n
		} else {
			names[i] = strconv.Itoa(id)
		}
	}
	if len(names) > 12 {
		return strings.Join(names[:12], ", ") + fmt.Sprintf(", ... (%d syscalls)", len(names))
	}
	return strings.Join(names, ", ")
}

func sortInts(s []int) { sort.Ints(s) }

// KernelLine is a rule's [RulePlan.Kernel] line for its clause c, the
// clause's index i: it is derived from the clause, so the artifact does
// not store it. The bit is shown when it is not i.
func KernelLine(i int, c *Clause) string {
	if c.Bit != i {
		return fmt.Sprintf("clause %d (bit %d) on %s: %s", i, c.Bit, SyscallNames(c.Syscalls), c.Text)
	}
	return fmt.Sprintf("clause %d on %s: %s", i, SyscallNames(c.Syscalls), c.Text)
}
