package prefilter

import (
	"slices"
	"strings"
)

// Judger is [Judge] prepared for repeated use: the path prefix table is
// probed only at the lengths it holds, longest first, instead of at every
// length of the path. It gives exactly Judge's answer (a test checks it on
// generated views). A Judger is safe for concurrent use; the plan must not
// change while it is in use.
type Judger struct {
	p          *Plan
	gate       [numSyscalls]Mask
	dims       [numSyscalls]Dim
	prefixLens []int // distinct lengths of PathPrefix keys, longest first
}

// NewJudger prepares p for judging.
func NewJudger(p *Plan) *Judger {
	j := &Judger{p: p}
	for id, m := range p.Tables.Gate {
		if id >= 0 && id < numSyscalls {
			j.gate[id] = m
		}
	}
	for id, d := range p.Tables.DimsPerSyscall {
		if id >= 0 && id < numSyscalls {
			j.dims[id] = d
		}
	}
	seen := map[int]bool{}
	for k := range p.Tables.PathPrefix {
		if !seen[len(k)] {
			seen[len(k)] = true
			j.prefixLens = append(j.prefixLens, len(k))
		}
	}
	slices.Sort(j.prefixLens)
	slices.Reverse(j.prefixLens)
	return j
}

// Plan returns the plan the Judger judges by.
func (j *Judger) Plan() *Plan { return j.p }

// Judge returns the clause mask the kernel computes for v; see [Judge].
func (j *Judger) Judge(v KernelView) Mask {
	if v.Syscall < 0 || v.Syscall >= numSyscalls {
		return Mask{}
	}
	m := j.gate[v.Syscall]
	if m.IsZero() {
		return m
	}
	return judgeRest(&j.p.Tables, v, m, j.dims[v.Syscall], j.lookupPath)
}

func (j *Judger) lookupPath(t *Tables, v KernelView) Mask {
	p := v.Path
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if v.PathUnreadable || !PathKnown(p) {
		return t.PathUnknown
	}
	if x, ok := t.PathExact[p]; ok {
		return x
	}
	for _, l := range j.prefixLens {
		if l > len(p) {
			continue
		}
		if x, ok := t.PathPrefix[p[:l]]; ok {
			return x
		}
	}
	return t.PathDefault
}
