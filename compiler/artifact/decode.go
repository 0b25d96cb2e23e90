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

// decoder reads the body. The first error sticks: later reads return zero
// values, and err reports where decoding stopped.
type decoder struct {
	b   []byte
	off int
	err error
	at  string // the section being decoded, for messages
	// words is the plan's mask width (plan section).
	words int
}

func (d *decoder) fail(err error, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at body offset %d: %w: %s", d.at, d.off, err, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			d.fail(ErrMalformed, "unexpected end of body")
		} else {
			d.fail(ErrMalformed, "varint overflow")
		}
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			d.fail(ErrMalformed, "unexpected end of body")
		} else {
			d.fail(ErrMalformed, "varint overflow")
		}
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) i32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(ErrMalformed, "value %d out of int32 range", v)
		return 0
	}
	return int32(v)
}

// count reads a count of elements that each take at least min bytes, and
// checks it against what is left.
func (d *decoder) count(min int) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if left := len(d.b) - d.off; v > uint64(left/min) {
		d.fail(ErrMalformed, "count %d exceeds the %d bytes left", v, left)
		return 0
	}
	return int(v)
}

func (d *decoder) raw() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) bytes() []byte { return bytes.Clone(d.raw()) }

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if d.off >= len(d.b) {
		d.fail(ErrMalformed, "unexpected end of body")
		return false
	}
	c := d.b[d.off]
	d.off++
	if c > 1 {
		d.fail(ErrMalformed, "bad boolean %d", c)
	}
	return c == 1
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(ErrMalformed, "unexpected end of body")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	s := make([]string, n)
	for i := range s {
		s[i] = d.str()
	}
	return s
}

func (d *decoder) i32s() []int32 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	s := make([]int32, n)
	for i := range s {
		s[i] = d.i32()
	}
	return s
}

func (d *decoder) addr() netip.Addr {
	var a netip.Addr
	b := d.raw()
	if d.err == nil {
		if err := a.UnmarshalBinary(b); err != nil {
			d.fail(ErrMalformed, "address: %v", err)
		}
	}
	return a
}

func (d *decoder) prefix() netip.Prefix {
	a := d.addr()
	bits := d.varint()
	if d.err != nil {
		return netip.Prefix{}
	}
	if !a.IsValid() || bits < 0 || bits > int64(a.BitLen()) {
		d.fail(ErrMalformed, "bad network %v/%d", a, bits)
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, int(bits))
}

// Header is the fixed header of a .fbc file.
type Header struct {
	Version  uint16
	BodyLen  uint64
	Checksum [sha256.Size]byte
}

// ReadHeader decodes and checks the fixed header at the start of data:
// magic, format version and reserved bytes. It does not look at the body.
func ReadHeader(data []byte) (Header, error) {
	var h Header
	if len(data) < 4 || string(data[:4]) != Magic {
		if len(data) < 4 && string(data) == Magic[:len(data)] {
			return h, fmt.Errorf("read artifact: %w: %d bytes, the header has %d", ErrTruncated, len(data), HeaderSize)
		}
		return h, fmt.Errorf("read artifact: %w", ErrMagic)
	}
	if len(data) < HeaderSize {
		return h, fmt.Errorf("read artifact: %w: %d bytes, the header has %d", ErrTruncated, len(data), HeaderSize)
	}
	h.Version = binary.LittleEndian.Uint16(data[4:])
	if h.Version != FormatVersion {
		return h, fmt.Errorf("read artifact: %w: format version %d, this falcoc reads version %d", ErrVersion, h.Version, FormatVersion)
	}
	if r := binary.LittleEndian.Uint16(data[6:]); r != 0 {
		return h, fmt.Errorf("read artifact: %w: reserved header bytes are %#04x, want 0", ErrMalformed, r)
	}
	h.BodyLen = binary.LittleEndian.Uint64(data[8:])
	copy(h.Checksum[:], data[16:HeaderSize])
	return h, nil
}

// Read decodes an artifact. Every problem is an error wrapping one of
// [ErrMagic], [ErrVersion], [ErrTruncated], [ErrChecksum] or
// [ErrMalformed]; Read never panics. The result's programs are validated
// and its pool prepared.
func Read(data []byte) (a *Artifact, err error) {
	defer func() {
		if r := recover(); r != nil { // defence in depth: decoding is bounds-checked
			a, err = nil, fmt.Errorf("read artifact: %w: %v", ErrMalformed, r)
		}
	}()
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	body := data[HeaderSize:]
	if uint64(len(body)) < h.BodyLen {
		return nil, fmt.Errorf("read artifact: %w: body has %d bytes, header says %d", ErrTruncated, len(body), h.BodyLen)
	}
	if uint64(len(body)) > h.BodyLen {
		return nil, fmt.Errorf("read artifact: %w: %d bytes after the body", ErrMalformed, uint64(len(body))-h.BodyLen)
	}
	if sum := sha256.Sum256(body); sum != h.Checksum {
		return nil, fmt.Errorf("read artifact: %w", ErrChecksum)
	}
	raw, err := decompress(body)
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	a, err = decodeBody(raw)
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	return a, nil
}

// MaxRawBody bounds the decoded size of a body (1 GiB): a length beyond
// it is refused before anything is decompressed.
const MaxRawBody = 1 << 30

// decompress returns the raw encoding of a stored body (see compress):
// exactly the length it states, or an error.
func decompress(body []byte) ([]byte, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 {
		return nil, fmt.Errorf("%w: the body's length does not decode", ErrMalformed)
	}
	if n > MaxRawBody {
		return nil, fmt.Errorf("%w: the body says %d bytes decompressed, more than %d", ErrMalformed, n, MaxRawBody)
	}
	// DEFLATE expands at most about 1032 times: a stated length beyond
	// that cannot be true, so no buffer is sized from a lie.
	if n > 1032*uint64(len(body)-k)+1024 {
		return nil, fmt.Errorf("%w: the body says %d bytes decompressed from %d", ErrMalformed, n, len(body)-k)
	}
	raw := make([]byte, n)
	z := flate.NewReader(bytes.NewReader(body[k:]))
	if _, err := io.ReadFull(z, raw); err != nil {
		return nil, fmt.Errorf("%w: the body does not decompress to the %d bytes it states: %v", ErrMalformed, n, err)
	}
	var one [1]byte
	if m, err := z.Read(one[:]); m != 0 || err != io.EOF {
		return nil, fmt.Errorf("%w: the body decompresses to more than the %d bytes it states", ErrMalformed, n)
	}
	return raw, nil
}

func decodeBody(body []byte) (*Artifact, error) {
	d := &decoder{b: body, at: "versions"}
	a := &Artifact{Consts: &vm.Consts{}}
	a.CompilerVersion = d.str()
	a.EngineVersion = d.str()
	if d.err == nil && a.EngineVersion != EngineVersion {
		return nil, fmt.Errorf("%w: built for engine version %q, this falcoc runs %q", ErrVersion, a.EngineVersion, EngineVersion)
	}
	c := a.Consts
	d.operands(c)
	d.scalars(c)
	d.sets(c)
	if d.err != nil {
		return nil, d.err
	}
	if err := c.Prepare(); err != nil {
		return nil, fmt.Errorf("%w: constants: %w", ErrMalformed, err)
	}

	d.at = "rules"
	a.Rules = make([]Rule, d.count(15))
	for i := range a.Rules {
		if err := d.rule(&a.Rules[i], i, c); err != nil {
			return nil, err
		}
	}
	d.at = "syscalls"
	a.Syscalls = d.strs()
	d.at = "plan"
	a.Plan = d.plan()
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d unused bytes at the end of the body", ErrMalformed, len(d.b)-d.off)
	}
	return a, nil
}

// operands reads the field and operand tables into c.
func (d *decoder) operands(c *vm.Consts) {
	d.at = "fields"
	c.Fields = make([]vm.FieldRef, d.count(4))
	for i := range c.Fields {
		f := &c.Fields[i]
		f.Name = d.str()
		f.Arg = d.str()
		f.HasArg = d.bool()
		f.Index = int(d.i32())
	}
	d.at = "operands"
	c.Operands = make([]vm.Operand, d.count(7))
	for i := range c.Operands {
		o := &c.Operands[i]
		o.Kind = vm.OperandKind(d.byteValue())
		o.Field = d.i32()
		o.Transform = vm.Transform(d.byteValue())
		o.Args = d.i32s()
		o.TransformArg = d.str()
		o.HasTransformArg = d.bool()
		o.Const = d.str()
	}
}

// scalars reads the constant pool's strings, bytes, numbers, addresses
// and networks into c.
func (d *decoder) scalars(c *vm.Consts) {
	d.at = "constants"
	c.Strings = d.strs()
	if n := d.count(1); n > 0 {
		c.Bytes = make([][]byte, n)
		for i := range c.Bytes {
			c.Bytes[i] = d.bytes()
		}
	}
	if n := d.count(1); n > 0 {
		c.Ints = make([]int64, n)
		for i := range c.Ints {
			c.Ints[i] = d.varint()
		}
	}
	c.Uints = d.uints()
	if n := d.count(1); n > 0 {
		c.Floats = make([]float64, n)
		for i := range c.Floats {
			c.Floats[i] = math.Float64frombits(d.uvarint())
		}
	}
	if n := d.count(1); n > 0 {
		c.Addrs = make([]netip.Addr, n)
		for i := range c.Addrs {
			c.Addrs[i] = d.addr()
		}
	}
	if n := d.count(2); n > 0 {
		c.Nets = make([]netip.Prefix, n)
		for i := range c.Nets {
			c.Nets[i] = d.prefix()
		}
	}
}

// sets reads the constant pool's sets, globs, regexes, prefix trees,
// dynamic comparisons and modifiers into c.
func (d *decoder) sets(c *vm.Consts) {
	if n := d.count(1); n > 0 {
		c.StrSets = make([][]string, n)
		for i := range c.StrSets {
			c.StrSets[i] = d.strs()
		}
	}
	if n := d.count(1); n > 0 {
		c.IntSets = make([][]int64, n)
		for i := range c.IntSets {
			s := make([]int64, d.count(1))
			for k := range s {
				s[k] = d.varint()
			}
			c.IntSets[i] = s
		}
	}
	if n := d.count(1); n > 0 {
		c.UintSets = make([][]uint64, n)
		for i := range c.UintSets {
			c.UintSets[i] = d.uints()
		}
	}
	if n := d.count(1); n > 0 {
		c.AddrSets = make([][]netip.Addr, n)
		for i := range c.AddrSets {
			s := make([]netip.Addr, d.count(1))
			for k := range s {
				s[k] = d.addr()
			}
			c.AddrSets[i] = s
		}
	}
	if n := d.count(1); n > 0 {
		c.NetSets = make([][]netip.Prefix, n)
		for i := range c.NetSets {
			s := make([]netip.Prefix, d.count(2))
			for k := range s {
				s[k] = d.prefix()
			}
			c.NetSets[i] = s
		}
	}
	c.Globs = d.strs()
	c.Regexes = d.strs()
	if n := d.count(1); n > 0 {
		c.PrefixTrees = make([][]string, n)
		for i := range c.PrefixTrees {
			c.PrefixTrees[i] = d.strs()
		}
	}
	if n := d.count(4); n > 0 {
		c.Dyns = make([]vm.Dyn, n)
		for i := range c.Dyns {
			c.Dyns[i] = vm.Dyn{Op: vm.CmpOp(d.byteValue()), Text: d.str(), Int: d.varint(), IsInt: d.bool()}
		}
	}
	if n := d.count(2); n > 0 {
		c.Mods = make([]vm.Mod, n)
		for i := range c.Mods {
			c.Mods[i] = vm.Mod{Op: vm.Opcode(d.byteValue()), Args: d.i32s()}
		}
	}
}

// rule reads rule i, whose program uses the pool c.
func (d *decoder) rule(r *Rule, i int, c *vm.Consts) error {
	r.Name = d.str()
	d.at = fmt.Sprintf("rule %d", i)
	r.Desc = d.str()
	r.Priority = int(d.i32())
	r.Source = d.str()
	r.Tags = d.strs()
	r.Enabled = d.bool()
	r.Output = d.str()
	r.Template.Format = d.str()
	if n := d.count(4); n > 0 {
		r.Template.Segments = make([]vm.Segment, n)
		for k := range r.Template.Segments {
			s := &r.Template.Segments[k]
			s.Text = d.str()
			s.Operand = d.i32()
			s.Token = d.str()
			s.Width = d.i32()
			if d.err == nil && (s.Operand < -1 || int(s.Operand) >= len(c.Operands)) {
				d.fail(ErrMalformed, "output operand %d out of range", s.Operand)
			}
		}
	}
	r.Condition = d.str()
	r.Compiled = d.str()
	if d.bool() {
		r.EventTypes = d.strs()
		if r.EventTypes == nil {
			r.EventTypes = []string{}
		}
	}
	p := &vm.Program{Consts: c}
	n := d.count(5)
	p.Code = make([]vm.Opcode, n)
	p.Args = make([]int32, n)
	p.Locs = make([]vm.Location, n)
	for k := range n {
		p.Code[k] = vm.Opcode(d.byte())
		p.Args[k] = d.i32()
		p.Locs[k] = vm.Location{Origin: d.i32(), Line: d.i32(), Column: d.i32()}
	}
	r.File = d.str()
	r.Line = int(d.i32())
	if d.err != nil {
		return d.err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: rule %q: %w", ErrMalformed, r.Name, err)
	}
	r.Program = p
	return nil
}

// byteValue reads a small enumeration written as a uvarint.
func (d *decoder) byteValue() uint8 {
	v := d.uvarint()
	if v > math.MaxUint8 {
		d.fail(ErrMalformed, "enumeration value %d", v)
		return 0
	}
	return uint8(v)
}

func (d *decoder) uints() []uint64 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	s := make([]uint64, n)
	for i := range s {
		s[i] = d.uvarint()
	}
	return s
}
