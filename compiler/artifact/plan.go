package artifact

import (
	"cmp"
	"maps"
	"math"
	"math/bits"
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
//	         commDefault comm{str mask} uidDefault uid{u32 mask}
//	         containerHost containerInside containerUnknown openflags[16]
//	         pathDefault pathUnknown pathExact{str mask} pathPrefix{str mask}
//	         sockDefault sockUnknown sock{family port mask} sockFamily{family mask}
//	         arg0Default arg0{u32 mask} exeDefault exeUnknown exeExact{str mask}
//	         exePrefix{str mask}
//
// A mask is written as its XOR with a base (a map entry's: the table's
// default mask, which entries mostly repeat; else zero), in the shorter
// of two forms: 2n+1 and the n set bits' positions (the first, then each
// one's distance from the previous less one), or 0 and words uvarints
// (words 0 to words-1). Version 5 had four plain uvarints per mask, no
// words field, and the defaults after their maps. Maps are written in key
// order.

func (e *encoder) mask(m plan.Mask) { e.maskFrom(m, plan.Mask{}) }

// maskFrom writes m as its XOR with base.
func (e *encoder) maskFrom(m, base plan.Mask) {
	x := m[:e.words]
	dense, sparse, n := 1, 0, 0
	prev := -1
	for i, w := range x {
		w ^= base[i]
		dense += uvarintLen(w)
		for w != 0 {
			b := i*64 + bits.TrailingZeros64(w)
			sparse += uvarintLen(uint64(b - prev - 1))
			prev = b
			n++
			w &= w - 1
		}
	}
	sparse += uvarintLen(uint64(2*n + 1))
	if dense <= sparse {
		e.uvarint(0)
		for i, w := range x {
			e.uvarint(w ^ base[i])
		}
		return
	}
	e.uvarint(uint64(2*n + 1))
	prev = -1
	for i, w := range x {
		w ^= base[i]
		for w != 0 {
			b := i*64 + bits.TrailingZeros64(w)
			e.uvarint(uint64(b - prev - 1))
			prev = b
			w &= w - 1
		}
	}
}

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func (e *encoder) ints(s []int) {
	e.int(len(s))
	for _, v := range s {
		e.int(v)
	}
}

func encodeMap[K cmp.Ordered](e *encoder, m map[K]plan.Mask, base plan.Mask, key func(K)) {
	keys := slices.Sorted(maps.Keys(m))
	e.int(len(keys))
	for _, k := range keys {
		key(k)
		e.maskFrom(m[k], base)
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
	encodeMap(e, t.Gate, plan.Mask{}, e.int)
	dims := slices.Sorted(maps.Keys(t.DimsPerSyscall))
	e.int(len(dims))
	for _, id := range dims {
		e.int(id)
		e.uvarint(uint64(t.DimsPerSyscall[id]))
	}
	e.ints(trueKeys(t.Always))
	e.ints(trueKeys(t.Captured))
	u32 := func(k uint32) { e.uvarint(uint64(k)) }
	e.mask(t.CommDefault)
	encodeMap(e, t.Comm, t.CommDefault, e.str)
	e.mask(t.UIDDefault)
	encodeMap(e, t.UID, t.UIDDefault, u32)
	e.mask(t.ContainerHost)
	e.mask(t.ContainerInside)
	e.mask(t.ContainerUnknown)
	for _, m := range t.OpenFlags {
		e.mask(m)
	}
	e.mask(t.PathDefault)
	e.mask(t.PathUnknown)
	encodeMap(e, t.PathExact, t.PathDefault, e.str)
	encodeMap(e, t.PathPrefix, t.PathDefault, e.str)
	e.mask(t.SockDefault)
	e.mask(t.SockUnknown)
	socks := slices.SortedFunc(maps.Keys(t.Sock), func(a, b plan.SockKey) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.Port, b.Port))
	})
	e.int(len(socks))
	for _, k := range socks {
		e.uvarint(uint64(k.Family))
		e.uvarint(uint64(k.Port))
		e.maskFrom(t.Sock[k], t.SockDefault)
	}
	encodeMap(e, t.SockFamily, t.SockDefault, func(f uint16) { e.uvarint(uint64(f)) })
	e.mask(t.Arg0Default)
	encodeMap(e, t.Arg0, t.Arg0Default, u32)
	e.mask(t.ExeDefault)
	e.mask(t.ExeUnknown)
	encodeMap(e, t.ExeExact, t.ExeDefault, e.str)
	encodeMap(e, t.ExePrefix, t.ExeDefault, e.str)
	e.mask(t.SuffixDefault)
	e.mask(t.SuffixUnknown)
	encodeMap(e, t.Suffix, t.SuffixDefault, e.str)
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

func (d *decoder) mask() plan.Mask { return d.maskFrom(plan.Mask{}) }

// maskFrom reads a mask written as its XOR with base.
func (d *decoder) maskFrom(base plan.Mask) plan.Mask {
	m := base
	v := d.uvarint()
	if v&1 == 0 {
		if v != 0 {
			d.fail(ErrMalformed, "mask form %d", v)
			return m
		}
		for i := range d.words {
			m[i] ^= d.uvarint()
		}
		return m
	}
	limit := 64 * d.words
	if v>>1 > uint64(limit) {
		d.fail(ErrMalformed, "mask of %d bits, at most %d", v>>1, limit)
		return m
	}
	b := -1
	for range v >> 1 {
		if d.err != nil {
			return m
		}
		b += int(d.below(uint64(limit), "mask bit distance")) + 1
		if b >= limit {
			d.fail(ErrMalformed, "mask bit %d out of range", b)
			return m
		}
		m[b/64] ^= 1 << (b % 64)
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

// Every map entry takes at least a key byte and a mask byte.
func decodeMap[K comparable](d *decoder, base plan.Mask, key func() K) map[K]plan.Mask {
	n := d.count(2)
	m := make(map[K]plan.Mask, n)
	for range n {
		k := key()
		m[k] = d.maskFrom(base)
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
	t.Gate = decodeMap(d, plan.Mask{}, sys)
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
	t.CommDefault = d.mask()
	t.Comm = decodeMap(d, t.CommDefault, d.str)
	t.UIDDefault = d.mask()
	t.UID = decodeMap(d, t.UIDDefault, u32)
	t.ContainerHost, t.ContainerInside, t.ContainerUnknown = d.mask(), d.mask(), d.mask()
	for i := range t.OpenFlags {
		t.OpenFlags[i] = d.mask()
	}
	t.PathDefault, t.PathUnknown = d.mask(), d.mask()
	t.PathExact = decodeMap(d, t.PathDefault, d.str)
	t.PathPrefix = decodeMap(d, t.PathDefault, d.str)
	t.SockDefault, t.SockUnknown = d.mask(), d.mask()
	t.Sock = decodeMap(d, t.SockDefault, func() plan.SockKey { return plan.SockKey{Family: u16(), Port: u16()} })
	t.SockFamily = decodeMap(d, t.SockDefault, u16)
	t.Arg0Default = d.mask()
	t.Arg0 = decodeMap(d, t.Arg0Default, u32)
	t.ExeDefault, t.ExeUnknown = d.mask(), d.mask()
	t.ExeExact = decodeMap(d, t.ExeDefault, d.str)
	t.ExePrefix = decodeMap(d, t.ExeDefault, d.str)
	t.SuffixDefault, t.SuffixUnknown = d.mask(), d.mask()
	t.Suffix = decodeMap(d, t.SuffixDefault, d.str)
	if d.err != nil {
		return nil
	}
	return p
}
