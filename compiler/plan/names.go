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

// KernelLine is a rule's [RulePlan.Kernel] line for its clause bit c: it
// is derived from the clause, so the artifact does not store it.
func KernelLine(bit int, c *Clause) string {
	return fmt.Sprintf("clause %d on %s: %s", bit, SyscallNames(c.Syscalls), c.Text)
}
