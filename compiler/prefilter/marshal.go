package prefilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Version is the version of the binary plan format written by
// [Plan.MarshalBinary] (the artifact's Prefilter.Version).
const Version = 2

// ErrFormat is wrapped by every error of [Plan.UnmarshalBinary].
var ErrFormat = errors.New("invalid prefilter plan")

var magic = [4]byte{'F', 'K', 'P', 'L'}

// The format, all integers unsigned varints unless noted:
//
//	"FKPL" version
//	rules:   n { name, syscalls[], unbounded(byte), clauses[], kernel[], residual[], widened[] }
//	clauses: n { rules[], syscalls[], text }
//	notes[]
//	tables:  gate{id mask} dims{id dim} always[] captured[]
//	         comm{str mask} commDefault uid{u32 mask} uidDefault
//	         containerHost containerInside containerUnknown openflags[16]
//	         pathExact{str mask} pathPrefix{str mask} pathDefault pathUnknown
//	         sock{family port mask} sockFamily{family mask} sockDefault sockUnknown
//	         ptrace{u32 mask} ptraceDefault exeExact{str mask} exePrefix{str mask}
//	         exeDefault exeUnknown
//
// A mask is 4 little-endian uint64; maps are written in key order.

type enc struct{ b []byte }

func (e *enc) u(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *enc) s(x string) { e.u(uint64(len(x))); e.b = append(e.b, x...) }
func (e *enc) m(x Mask) {
	for _, w := range x {
		e.b = binary.LittleEndian.AppendUint64(e.b, w)
	}
}
func (e *enc) ints(x []int) {
	e.u(uint64(len(x)))
	for _, v := range x {
		e.u(uint64(v))
	}
}
func (e *enc) strs(x []string) {
	e.u(uint64(len(x)))
	for _, v := range x {
		e.s(v)
	}
}

// MarshalBinary encodes the plan; the same plan always gives the same
// bytes.
func (p *Plan) MarshalBinary() ([]byte, error) {
	e := &enc{b: append([]byte{}, magic[:]...)}
	e.u(Version)
	e.u(uint64(len(p.Rules)))
	for _, r := range p.Rules {
		e.s(r.Name)
		e.ints(r.Syscalls)
		if r.Unbounded {
			e.u(1)
		} else {
			e.u(0)
		}
		e.ints(r.Clauses)
		e.strs(r.Kernel)
		e.strs(r.Residual)
		e.strs(r.Widened)
	}
	e.u(uint64(len(p.Clauses)))
	for _, c := range p.Clauses {
		e.ints(c.Rules)
		e.ints(c.Syscalls)
		e.s(c.Text)
	}
	e.strs(p.Notes)
	t := &p.Tables
	ids := sortedMaskKeys(t.Gate)
	e.u(uint64(len(ids)))
	for _, id := range ids {
		e.u(uint64(id))
		e.m(t.Gate[id])
	}
	dids := make([]int, 0, len(t.DimsPerSyscall))
	for id := range t.DimsPerSyscall {
		dids = append(dids, id)
	}
	sort.Ints(dids)
	e.u(uint64(len(dids)))
	for _, id := range dids {
		e.u(uint64(id))
		e.u(uint64(t.DimsPerSyscall[id]))
	}
	e.ints(sortedKeysInt(t.Always))
	e.ints(sortedKeysInt(t.Captured))
	strMasks := func(m map[string]Mask) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.u(uint64(len(keys)))
		for _, k := range keys {
			e.s(k)
			e.m(m[k])
		}
	}
	u32Masks := func(m map[uint32]Mask) {
		keys := make([]uint32, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		e.u(uint64(len(keys)))
		for _, k := range keys {
			e.u(uint64(k))
			e.m(m[k])
		}
	}
	strMasks(t.Comm)
	e.m(t.CommDefault)
	u32Masks(t.UID)
	e.m(t.UIDDefault)
	e.m(t.ContainerHost)
	e.m(t.ContainerInside)
	e.m(t.ContainerUnknown)
	for _, m := range t.OpenFlags {
		e.m(m)
	}
	strMasks(t.PathExact)
	strMasks(t.PathPrefix)
	e.m(t.PathDefault)
	e.m(t.PathUnknown)
	socks := make([]SockKey, 0, len(t.Sock))
	for k := range t.Sock {
		socks = append(socks, k)
	}
	sort.Slice(socks, func(i, j int) bool {
		a, b := socks[i], socks[j]
		return a.Family < b.Family || a.Family == b.Family && a.Port < b.Port
	})
	e.u(uint64(len(socks)))
	for _, k := range socks {
		e.u(uint64(k.Family))
		e.u(uint64(k.Port))
		e.m(t.Sock[k])
	}
	fams := make(map[uint32]Mask, len(t.SockFamily))
	for f, m := range t.SockFamily {
		fams[uint32(f)] = m
	}
	u32Masks(fams)
	e.m(t.SockDefault)
	e.m(t.SockUnknown)
	u32Masks(t.Arg0)
	e.m(t.Arg0Default)
	strMasks(t.ExeExact)
	strMasks(t.ExePrefix)
	e.m(t.ExeDefault)
	e.m(t.ExeUnknown)
	return e.b, nil
}

func sortedMaskKeys(m map[int]Mask) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFormat, what)
	}
}

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or bad integer")
		return 0
	}
	d.b = d.b[n:]
	return x
}

// n reads a count; every counted item takes at least min bytes.
func (d *dec) n(min int) int {
	x := d.u()
	if x > uint64(len(d.b)/min) {
		d.fail("count larger than the data")
		return 0
	}
	return int(x)
}

func (d *dec) i(limit uint64) int {
	x := d.u()
	if x >= limit {
		d.fail(fmt.Sprintf("value %d out of range", x))
		return 0
	}
	return int(x)
}

func (d *dec) s() string {
	l := d.n(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:l])
	d.b = d.b[l:]
	return s
}

func (d *dec) m() Mask {
	var x Mask
	if d.err != nil {
		return x
	}
	if len(d.b) < 32 {
		d.fail("truncated mask")
		return x
	}
	for i := range x {
		x[i] = binary.LittleEndian.Uint64(d.b[8*i:])
	}
	d.b = d.b[32:]
	return x
}

func (d *dec) ints(limit uint64) []int {
	n := d.n(1)
	var out []int
	for range n {
		out = append(out, d.i(limit))
	}
	return out
}

func (d *dec) strs() []string {
	n := d.n(1)
	var out []string
	for range n {
		out = append(out, d.s())
	}
	return out
}

// UnmarshalBinary decodes a plan written by [Plan.MarshalBinary]. Any
// malformed input gives an error wrapping [ErrFormat].
func (p *Plan) UnmarshalBinary(data []byte) error {
	if len(data) < 4 || [4]byte(data[:4]) != magic {
		return fmt.Errorf("%w: bad magic", ErrFormat)
	}
	d := &dec{b: data[4:]}
	if v := d.u(); d.err == nil && v != Version {
		return fmt.Errorf("%w: version %d, want %d", ErrFormat, v, Version)
	}
	var out Plan
	nr := d.n(1)
	for range nr {
		var r RulePlan
		r.Name = d.s()
		r.Syscalls = d.ints(numSyscalls)
		r.Unbounded = d.i(2) == 1
		r.Clauses = d.ints(MaskBits)
		r.Kernel = d.strs()
		r.Residual = d.strs()
		r.Widened = d.strs()
		out.Rules = append(out.Rules, r)
	}
	nc := d.n(1)
	if nc > MaskBits {
		d.fail("more clauses than mask bits")
	}
	for range nc {
		var c Clause
		c.Rules = d.ints(math.MaxInt32)
		c.Syscalls = d.ints(numSyscalls)
		c.Text = d.s()
		out.Clauses = append(out.Clauses, c)
	}
	out.Notes = d.strs()
	for _, r := range out.Rules {
		for _, c := range r.Clauses {
			if c >= len(out.Clauses) {
				d.fail("rule clause out of range")
			}
		}
	}
	for _, c := range out.Clauses {
		for _, r := range c.Rules {
			if r >= len(out.Rules) {
				d.fail("clause rule out of range")
			}
		}
	}
	t := &out.Tables
	t.Gate = map[int]Mask{}
	for range d.n(33) {
		id := d.i(numSyscalls)
		t.Gate[id] = d.m()
	}
	t.DimsPerSyscall = map[int]Dim{}
	for range d.n(2) {
		id := d.i(numSyscalls)
		t.DimsPerSyscall[id] = Dim(d.i(1 << 8))
	}
	t.Always, t.Captured = map[int]bool{}, map[int]bool{}
	for _, id := range d.ints(numSyscalls) {
		t.Always[id] = true
	}
	for _, id := range d.ints(numSyscalls) {
		t.Captured[id] = true
	}
	strMasks := func() map[string]Mask {
		m := map[string]Mask{}
		for range d.n(33) {
			k := d.s()
			m[k] = d.m()
		}
		return m
	}
	u32Masks := func() map[uint32]Mask {
		m := map[uint32]Mask{}
		for range d.n(33) {
			k := uint32(d.i(1 << 32))
			m[k] = d.m()
		}
		return m
	}
	t.Comm = strMasks()
	t.CommDefault = d.m()
	t.UID = u32Masks()
	t.UIDDefault = d.m()
	t.ContainerHost, t.ContainerInside, t.ContainerUnknown = d.m(), d.m(), d.m()
	for i := range t.OpenFlags {
		t.OpenFlags[i] = d.m()
	}
	t.PathExact = strMasks()
	t.PathPrefix = strMasks()
	t.PathDefault, t.PathUnknown = d.m(), d.m()
	t.Sock = map[SockKey]Mask{}
	for range d.n(34) {
		f := uint16(d.i(1 << 16))
		port := uint16(d.i(1 << 16))
		t.Sock[SockKey{f, port}] = d.m()
	}
	t.SockFamily = map[uint16]Mask{}
	for range d.n(33) {
		f := uint16(d.i(1 << 16))
		t.SockFamily[f] = d.m()
	}
	t.SockDefault, t.SockUnknown = d.m(), d.m()
	t.Arg0 = u32Masks()
	t.Arg0Default = d.m()
	t.ExeExact = strMasks()
	t.ExePrefix = strMasks()
	t.ExeDefault, t.ExeUnknown = d.m(), d.m()
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return d.err
	}
	*p = out
	return nil
}
