package plan

import (
	"fmt"
	"io"
	"strings"
)

// Describe writes a readable account of the plan: per rule, the clauses
// the kernel checks, what only userspace can decide, and any widening.
// ruleNames selects rules by name (all when empty); a name that was not
// planned is reported as such. Errors of w are returned.
func (p *Plan) Describe(w io.Writer, ruleNames []string) error {
	var b strings.Builder
	width := 64 * p.Tables.MaskWords()
	if used := p.MaxBitsPerSyscall(); len(p.Clauses) > width {
		fmt.Fprintf(&b, "prefilter plan: %d rules, %d clauses, at most %d bits of %d on one syscall\n", len(p.Rules), len(p.Clauses), used, width)
	} else {
		fmt.Fprintf(&b, "prefilter plan: %d rules, %d clauses of %d\n", len(p.Rules), len(p.Clauses), width)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "always sent (state): %s\n", SyscallNames(sortedKeysInt(p.Tables.Always)))
	describeRule := func(r *RulePlan) {
		fmt.Fprintf(&b, "\nrule %q\n", r.Name)
		switch {
		case r.Unbounded:
			fmt.Fprintf(&b, "  syscalls: every captured syscall (no bounded event types)\n")
		case len(r.Syscalls) == 0:
			fmt.Fprintf(&b, "  syscalls: none (no syscall event type: only scheduler or non-syscall events)\n")
		default:
			fmt.Fprintf(&b, "  syscalls: %s\n", SyscallNames(r.Syscalls))
		}
		if len(r.Clauses) == 0 && len(r.Syscalls) > 0 {
			fmt.Fprintf(&b, "  kernel: never true (no clause survives)\n")
		}
		for _, k := range r.Kernel {
			fmt.Fprintf(&b, "  %s\n", k)
		}
		narrow := false
		for _, c := range r.Clauses {
			if p.Clauses[c].Text != "any" {
				narrow = true
			}
		}
		if len(r.Clauses) > 0 && !narrow {
			fmt.Fprintf(&b, "  kernel cannot narrow this rule beyond its syscalls\n")
		}
		for _, s := range r.Residual {
			fmt.Fprintf(&b, "  userspace: %s\n", s)
		}
		for _, s := range r.Widened {
			fmt.Fprintf(&b, "  widened: %s\n", s)
		}
	}
	if len(ruleNames) == 0 {
		for i := range p.Rules {
			describeRule(&p.Rules[i])
		}
	} else {
		for _, n := range ruleNames {
			found := false
			for i := range p.Rules {
				if p.Rules[i].Name == n {
					describeRule(&p.Rules[i])
					found = true
				}
			}
			if !found {
				fmt.Fprintf(&b, "\nrule %q: not planned (unknown, disabled, or not a syscall rule)\n", n)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MaxBitsPerSyscall returns the largest number of clause bits one
// syscall's gate holds.
func (p *Plan) MaxBitsPerSyscall() int {
	per := map[int]int{}
	best := 0
	for _, c := range p.Clauses {
		for _, s := range c.Syscalls {
			per[s]++
			best = max(best, per[s])
		}
	}
	return best
}

func sortedKeysInt(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortInts(out)
	return out
}
