package artifact

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/falcoc/falcoc/compiler/plan"
)

// The plan section, in the body's encoding (uvarints unless noted):
//
//	present(bool)  false: no kernel prefilter, and nothing follows
//	words    the masks' width in 64-bit words (plan.Tables.Words; version 6)
//	rules:   n { name, syscalls[], unbounded(bool), clauses[], residual[], widened[] }
//	clauses: n { rules[], syscalls[], text }
//	notes[]
//	tables:  gate{id mask} dims{id dim} always[] captured[]
//	         comm{str mask} commDefault uid{u32 mask} uidDefault
//	         containerHost containerInside containerUnknown openflags[16]
//	         pathExact{str mask} pathPrefix{str mask} pathDefault pathUnknown
//	         sock{family port mask} sockFamily{family mask} sockDefault sockUnknown
//	         arg0{u32 mask} arg0Default exeExact{str mask} exePrefix{str mask}
//	         exeDefault exeUnknown
//
// A mask is words uvarints (words 0 to words-1; version 5 had four, and
// no words field); maps are written in key order.
// A rule's Kernel lines are not stored: the reader derives them from the
// rule's clauses ([plan.KernelLine]); they repeat a shared clause's text
// for every rule of it (version 3 stored them).

func (e *encoder) mask(m plan.Mask) {
	for _, w := range m[:e.words] {
		e.uvarint(w)
	}
}

func (e *encoder) ints(s []int) {
	e.int(len(s))
	for _, v := range s {
		e.int(v)
	}
}

func encodeMap[K cmp.Ordered](e *encoder, m map[K]plan.Mask, key func(K)) {
	keys := slices.Sorted(maps.Keys(m))
	e.int(len(keys))
	for _, k := range keys {
		key(k)
		e.mask(m[k])
	}
}

func (e *encoder) plan(p *plan.Plan) {
	e.bool(p != nil)
	if p == nil {
		return
	}
	e.words = p.Tables.MaskWords()
	e.int(e.words)
	e.int(len(p.Rules))
	for _, r := range p.Rules {
		e.str(r.Name)
		e.ints(r.Syscalls)
		e.bool(r.Unbounded)
		e.ints(r.Clauses)
		e.strs(r.Residual)
		e.strs(r.Widened)
	}
	e.int(len(p.Clauses))
	for _, c := range p.Clauses {
		e.int(c.Bit)
		e.ints(c.Rules)
		e.ints(c.Syscalls)
		e.str(c.Text)
	}
	e.strs(p.Notes)
	t := &p.Tables
	encodeMap(e, t.Gate, e.int)
	dims := slices.Sorted(maps.Keys(t.DimsPerSyscall))
	e.int(len(dims))
	for _, id := range dims {
		e.int(id)
		e.uvarint(uint64(t.DimsPerSyscall[id]))
	}
	e.ints(trueKeys(t.Always))
	e.ints(trueKeys(t.Captured))
	u32 := func(k uint32) { e.uvarint(uint64(k)) }
	encodeMap(e, t.Comm, e.str)
	e.mask(t.CommDefault)
	encodeMap(e, t.UID, u32)
	e.mask(t.UIDDefault)
	e.mask(t.ContainerHost)
	e.mask(t.ContainerInside)
	e.mask(t.ContainerUnknown)
	for _, m := range t.OpenFlags {
		e.mask(m)
	}
	encodeMap(e, t.PathExact, e.str)
	encodeMap(e, t.PathPrefix, e.str)
	e.mask(t.PathDefault)
	e.mask(t.PathUnknown)
	socks := slices.SortedFunc(maps.Keys(t.Sock), func(a, b plan.SockKey) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.Port, b.Port))
	})
	e.int(len(socks))
	for _, k := range socks {
		e.uvarint(uint64(k.Family))
		e.uvarint(uint64(k.Port))
		e.mask(t.Sock[k])
	}
	encodeMap(e, t.SockFamily, func(f uint16) { e.uvarint(uint64(f)) })
	e.mask(t.SockDefault)
	e.mask(t.SockUnknown)
	encodeMap(e, t.Arg0, u32)
	e.mask(t.Arg0Default)
	encodeMap(e, t.ExeExact, e.str)
	encodeMap(e, t.ExePrefix, e.str)
	e.mask(t.ExeDefault)
	e.mask(t.ExeUnknown)
	encodeMap(e, t.Suffix, e.str)
	e.mask(t.SuffixDefault)
	e.mask(t.SuffixUnknown)
}

func trueKeys(m map[int]bool) []int {
	var out []int
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (d *decoder) mask() plan.Mask {
	var m plan.Mask
	for i := range d.words {
		m[i] = d.uvarint()
	}
	return m
}

// below reads a uvarint that must be less than limit.
func (d *decoder) below(limit uint64, what string) uint64 {
	v := d.uvarint()
	if d.err == nil && v >= limit {
		d.fail(ErrMalformed, "%s %d out of range", what, v)
		return 0
	}
	return v
}

func (d *decoder) ints(limit uint64, what string) []int {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	s := make([]int, n)
	for i := range s {
		s[i] = int(d.below(limit, what))
	}
	return s
}

// Every map entry takes at least a key byte and a byte per mask word.
func decodeMap[K comparable](d *decoder, key func() K) map[K]plan.Mask {
	n := d.count(1 + d.words)
	m := make(map[K]plan.Mask, n)
	for range n {
		k := key()
		m[k] = d.mask()
	}
	return m
}

func (d *decoder) plan() *plan.Plan {
	if !d.bool() {
		return nil
	}
	p := &plan.Plan{}
	d.words = int(d.below(plan.MaskWordsMax+1, "mask words"))
	if d.err == nil && (d.words < plan.MaskHeadWords || d.words%plan.MaskHeadWords != 0) {
		d.fail(ErrMalformed, "mask of %d words: want a multiple of %d", d.words, plan.MaskHeadWords)
		return nil
	}
	if d.words > plan.MaskHeadWords {
		p.Tables.Words = d.words // 0 stands for the narrowest
	}
	p.Rules = make([]plan.RulePlan, d.count(7))
	for i := range p.Rules {
		r := &p.Rules[i]
		r.Name = d.str()
		r.Syscalls = d.ints(plan.NumSyscalls, "syscall")
		r.Unbounded = d.bool()
		r.Clauses = d.ints(math.MaxInt32, "clause")
		r.Residual = d.strs()
		r.Widened = d.strs()
	}
	nc := d.count(4)
	p.Clauses = make([]plan.Clause, nc)
	used := map[[2]int]int{} // (syscall, bit) -> clause
	for i := range p.Clauses {
		c := &p.Clauses[i]
		c.Bit = int(d.below(uint64(64*d.words), "clause bit"))
		c.Rules = d.ints(uint64(len(p.Rules)), "clause rule")
		c.Syscalls = d.ints(plan.NumSyscalls, "syscall")
		c.Text = d.str()
		for _, s := range c.Syscalls {
			if j, ok := used[[2]int{s, c.Bit}]; ok {
				d.fail(ErrMalformed, "clauses %d and %d share bit %d on syscall %d", j, i, c.Bit, s)
				return nil
			}
			used[[2]int{s, c.Bit}] = i
		}
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		for _, c := range r.Clauses {
			if c >= len(p.Clauses) {
				d.fail(ErrMalformed, "rule %q: clause %d out of range", r.Name, c)
				return nil
			}
			r.Kernel = append(r.Kernel, plan.KernelLine(c, &p.Clauses[c]))
		}
	}
	p.Notes = d.strs()
	t := &p.Tables
	sys := func() int { return int(d.below(plan.NumSyscalls, "syscall")) }
	u32 := func() uint32 { return uint32(d.below(math.MaxUint32+1, "key")) }
	u16 := func() uint16 { return uint16(d.below(math.MaxUint16+1, "key")) }
	t.Gate = decodeMap(d, sys)
	n := d.count(2)
	t.DimsPerSyscall = make(map[int]plan.Dim, n)
	for range n {
		id := sys()
		t.DimsPerSyscall[id] = plan.Dim(d.below(math.MaxUint32+1, "dimension set"))
	}
	t.Always, t.Captured = map[int]bool{}, map[int]bool{}
	for _, id := range d.ints(plan.NumSyscalls, "syscall") {
		t.Always[id] = true
	}
	for _, id := range d.ints(plan.NumSyscalls, "syscall") {
		t.Captured[id] = true
	}
	t.Comm = decodeMap(d, d.str)
	t.CommDefault = d.mask()
	t.UID = decodeMap(d, u32)
	t.UIDDefault = d.mask()
	t.ContainerHost, t.ContainerInside, t.ContainerUnknown = d.mask(), d.mask(), d.mask()
	for i := range t.OpenFlags {
		t.OpenFlags[i] = d.mask()
	}
	t.PathExact = decodeMap(d, d.str)
	t.PathPrefix = decodeMap(d, d.str)
	t.PathDefault, t.PathUnknown = d.mask(), d.mask()
	t.Sock = decodeMap(d, func() plan.SockKey { return plan.SockKey{Family: u16(), Port: u16()} })
	t.SockFamily = decodeMap(d, u16)
	t.SockDefault, t.SockUnknown = d.mask(), d.mask()
	t.Arg0 = decodeMap(d, u32)
	t.Arg0Default = d.mask()
	t.ExeExact = decodeMap(d, d.str)
	t.ExePrefix = decodeMap(d, d.str)
	t.ExeDefault, t.ExeUnknown = d.mask(), d.mask()
	t.Suffix = decodeMap(d, d.str)
	t.SuffixDefault, t.SuffixUnknown = d.mask(), d.mask()
	if d.err != nil {
		return nil
	}
	return p
}
