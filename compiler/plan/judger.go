package plan

import (
	"cmp"
	"slices"
	"strings"
)

// Judger is [Judge] prepared for repeated use: array lookups for the gate
// and the dimensions per syscall, and an index of the path prefix table
// by the prefixes' first bytes, so that a path costs one probe of the index
// and a few byte comparisons instead of a map probe per length. It gives
// exactly Judge's answer (the soundness property test checks it on every
// generated view). A Judger is safe for concurrent use; the plan must not
// change while it is in use.
type Judger struct {
	p    *Plan
	gate [NumSyscalls]Mask
	dims [NumSyscalls]Dim
	// byHead holds the prefix entries of at least headLen bytes, keyed by
	// their first headLen bytes; short holds the shorter ones. Both are
	// sorted longest first.
	byHead map[string][]prefixEntry
	short  []prefixEntry
	// suffixLens are the lengths of the suffix entries, longest first.
	suffixLens []int
}

const headLen = 4

type prefixEntry struct {
	prefix string
	mask   Mask
}

// NewJudger prepares p for judging.
func NewJudger(p *Plan) *Judger {
	j := &Judger{p: p, byHead: map[string][]prefixEntry{}}
	for id, m := range p.Tables.Gate {
		if id >= 0 && id < NumSyscalls {
			j.gate[id] = m
		}
	}
	for id, d := range p.Tables.DimsPerSyscall {
		if id >= 0 && id < NumSyscalls {
			j.dims[id] = d
		}
	}
	for k, m := range p.Tables.PathPrefix {
		e := prefixEntry{k, m}
		if len(k) >= headLen {
			j.byHead[k[:headLen]] = append(j.byHead[k[:headLen]], e)
		} else {
			j.short = append(j.short, e)
		}
	}
	longestFirst := func(a, b prefixEntry) int {
		return cmp.Or(cmp.Compare(len(b.prefix), len(a.prefix)), strings.Compare(a.prefix, b.prefix))
	}
	for _, l := range j.byHead {
		slices.SortFunc(l, longestFirst)
	}
	slices.SortFunc(j.short, longestFirst)
	seen := map[int]bool{}
	for k := range p.Tables.Suffix {
		if !seen[len(k)] {
			seen[len(k)] = true
			j.suffixLens = append(j.suffixLens, len(k))
		}
	}
	slices.SortFunc(j.suffixLens, func(a, b int) int { return cmp.Compare(b, a) })
	return j
}

// Plan returns the plan the Judger judges by.
func (j *Judger) Plan() *Plan { return j.p }

// Judge returns the clause mask the kernel computes for v; see [Judge].
func (j *Judger) Judge(v KernelView) Mask { return j.JudgeView(&v) }

// JudgeView is [Judger.Judge] without copying the view.
func (j *Judger) JudgeView(v *KernelView) Mask {
	if v.Syscall < 0 || v.Syscall >= NumSyscalls {
		return Mask{}
	}
	m := j.gate[v.Syscall]
	if m.IsZero() {
		return m
	}
	return judgeRest(&j.p.Tables, v, m, j.dims[v.Syscall], j)
}

// longestPrefix returns the mask of the longest prefix entry of p, or the
// path default. Every prefix of p at least headLen long shares p's first
// headLen bytes, so it is in p's bucket; shorter ones are in short.
func (j *Judger) longestPrefix(p string) Mask {
	if len(p) >= headLen {
		for _, e := range j.byHead[p[:headLen]] {
			if strings.HasPrefix(p, e.prefix) {
				return e.mask
			}
		}
	}
	for _, e := range j.short {
		if strings.HasPrefix(p, e.prefix) {
			return e.mask
		}
	}
	return j.p.Tables.PathDefault
}
