package artifact

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"

	"github.com/falcoc/falcoc/runtime/vm"
)

// encoder appends the body encoding to buf.
type encoder struct {
	buf   []byte
	words int // the plan's mask width (plan section)
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) int(v int)        { e.uvarint(uint64(v)) }
func (e *encoder) str(s string)     { e.int(len(s)); e.buf = append(e.buf, s...) }
func (e *encoder) bytes(b []byte)   { e.int(len(b)); e.buf = append(e.buf, b...) }

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) strs(s []string) {
	e.int(len(s))
	for _, x := range s {
		e.str(x)
	}
}

func (e *encoder) i32s(s []int32) {
	e.int(len(s))
	for _, x := range s {
		e.varint(int64(x))
	}
}

func (e *encoder) addr(a netip.Addr) {
	b, _ := a.MarshalBinary() // never fails
	e.bytes(b)
}

func (e *encoder) prefix(p netip.Prefix) {
	e.addr(p.Addr())
	e.varint(int64(p.Bits()))
}

// Write encodes a to w. The output depends only on a.
func Write(w io.Writer, a *Artifact) error {
	raw, err := encodeBody(a)
	if err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	body, err := compress(raw)
	if err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	var h [HeaderSize]byte
	copy(h[:4], Magic)
	binary.LittleEndian.PutUint16(h[4:], FormatVersion)
	binary.LittleEndian.PutUint64(h[8:], uint64(len(body)))
	sum := sha256.Sum256(body)
	copy(h[16:], sum[:])
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	return nil
}

// compress returns the body as stored: the raw encoding's length, then
// the raw encoding compressed with DEFLATE (level 2: generated rule sets
// repeat their texts, and 10,000 rules shrink about 8 times in 30 ms).
func compress(raw []byte) ([]byte, error) {
	b := bytes.NewBuffer(binary.AppendUvarint(make([]byte, 0, len(raw)/4), uint64(len(raw))))
	z, err := flate.NewWriter(b, 2)
	if err != nil {
		return nil, err
	}
	if _, err := z.Write(raw); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeBody(a *Artifact) ([]byte, error) {
	if a == nil || a.Consts == nil {
		return nil, fmt.Errorf("no constant pool")
	}
	e := &encoder{}
	e.str(a.CompilerVersion)
	e.str(a.EngineVersion)
	e.operands(a.Consts)
	e.constants(a.Consts)
	e.int(len(a.Rules))
	for i := range a.Rules {
		if err := e.rule(&a.Rules[i]); err != nil {
			return nil, err
		}
	}
	e.strs(a.Syscalls)
	e.plan(a.Plan)
	return e.buf, nil
}

// operands writes the field and operand tables.
func (e *encoder) operands(c *vm.Consts) {
	e.int(len(c.Fields))
	for _, f := range c.Fields {
		e.str(f.Name)
		e.str(f.Arg)
		e.bool(f.HasArg)
		e.varint(int64(f.Index))
	}
	e.int(len(c.Operands))
	for _, o := range c.Operands {
		e.uvarint(uint64(o.Kind))
		e.varint(int64(o.Field))
		e.uvarint(uint64(o.Transform))
		e.i32s(o.Args)
		e.str(o.TransformArg)
		e.bool(o.HasTransformArg)
		e.str(o.Const)
	}
}

// constants writes the constant pool.
func (e *encoder) constants(c *vm.Consts) {
	e.strs(c.Strings)
	e.int(len(c.Bytes))
	for _, b := range c.Bytes {
		e.bytes(b)
	}
	e.int(len(c.Ints))
	for _, v := range c.Ints {
		e.varint(v)
	}
	e.int(len(c.Uints))
	for _, v := range c.Uints {
		e.uvarint(v)
	}
	e.int(len(c.Floats))
	for _, v := range c.Floats {
		e.uvarint(math.Float64bits(v))
	}
	e.int(len(c.Addrs))
	for _, v := range c.Addrs {
		e.addr(v)
	}
	e.int(len(c.Nets))
	for _, v := range c.Nets {
		e.prefix(v)
	}
	e.int(len(c.StrSets))
	for _, s := range c.StrSets {
		e.strs(s)
	}
	e.int(len(c.IntSets))
	for _, s := range c.IntSets {
		e.int(len(s))
		for _, v := range s {
			e.varint(v)
		}
	}
	e.int(len(c.UintSets))
	for _, s := range c.UintSets {
		e.int(len(s))
		for _, v := range s {
			e.uvarint(v)
		}
	}
	e.int(len(c.AddrSets))
	for _, s := range c.AddrSets {
		e.int(len(s))
		for _, v := range s {
			e.addr(v)
		}
	}
	e.int(len(c.NetSets))
	for _, s := range c.NetSets {
		e.int(len(s))
		for _, v := range s {
			e.prefix(v)
		}
	}
	e.strs(c.Globs)
	e.strs(c.Regexes)
	e.int(len(c.PrefixTrees))
	for _, s := range c.PrefixTrees {
		e.strs(s)
	}
	e.int(len(c.Dyns))
	for _, d := range c.Dyns {
		e.uvarint(uint64(d.Op))
		e.str(d.Text)
		e.varint(d.Int)
		e.bool(d.IsInt)
	}
	e.int(len(c.Mods))
	for _, m := range c.Mods {
		e.uvarint(uint64(m.Op))
		e.i32s(m.Args)
	}
}

// rule writes one rule with its program.
func (e *encoder) rule(r *Rule) error {
	if r.Program == nil {
		return fmt.Errorf("rule %q has no program", r.Name)
	}
	e.str(r.Name)
	e.str(r.Desc)
	e.varint(int64(r.Priority))
	e.str(r.Source)
	e.strs(r.Tags)
	e.bool(r.Enabled)
	e.str(r.Output)
	e.str(r.Template.Format)
	e.int(len(r.Template.Segments))
	for _, s := range r.Template.Segments {
		e.str(s.Text)
		e.varint(int64(s.Operand))
		e.str(s.Token)
		e.varint(int64(s.Width))
	}
	e.str(r.Condition)
	e.str(r.Compiled)
	e.bool(r.EventTypes != nil)
	if r.EventTypes != nil {
		e.strs(r.EventTypes)
	}
	p := r.Program
	if len(p.Args) != len(p.Code) || len(p.Locs) != len(p.Code) {
		return fmt.Errorf("rule %q: program arrays differ in length", r.Name)
	}
	e.int(len(p.Code))
	for k, op := range p.Code {
		e.buf = append(e.buf, byte(op))
		e.varint(int64(p.Args[k]))
		l := p.Locs[k]
		e.varint(int64(l.Origin))
		e.varint(int64(l.Line))
		e.varint(int64(l.Column))
	}
	e.str(r.File)
	e.varint(int64(r.Line))
	return nil
}
