package vm

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"
)

// VM evaluates [Program]s sharing one [Consts] pool against events. It
// caches every operand it loads (fields and transformer results) until the
// next [VM.BeginEvent], so rules evaluated on the same event share
// extractions. A VM is not safe for concurrent use.
type VM struct {
	consts *Consts
	gen    uint32
	slots  []slot
}

// slot is the per-event cache entry of an operand.
type slot struct {
	gen uint32 // the event generation the entry belongs to
	ok  bool   // the operand has a value
	v   Value
	buf []byte // storage for transformer results
	lst []string
}

// New returns a VM for programs using the pool c. c must have been
// prepared ([Consts.Prepare]); New prepares it otherwise.
func New(c *Consts) (*VM, error) {
	if err := c.Prepare(); err != nil {
		return nil, fmt.Errorf("new vm: %w", err)
	}
	return &VM{consts: c, gen: 1, slots: make([]slot, len(c.Operands))}, nil
}

// BeginEvent starts a new event: every cached operand is forgotten.
func (m *VM) BeginEvent() {
	m.gen++
	if m.gen == 0 { // wrapped: clear the generations so none matches by chance
		for i := range m.slots {
			m.slots[i].gen = 0
		}
		m.gen = 1
	}
}

// Eval runs p against the current event, reading fields from env, and
// returns the value of the condition. p must use the pool the VM was
// created with and be valid ([Program.Validate]); a program that is not
// gives an error, never a panic. env must describe the same event for
// every call between two [VM.BeginEvent] calls.
func (m *VM) Eval(p *Program, env Env) (result bool, err error) {
	if p.Consts != m.consts {
		return false, fmt.Errorf("eval: %w: program uses another constant pool", ErrInvalid)
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = false, fmt.Errorf("eval: %w: %v", ErrInvalid, r)
		}
	}()
	c := m.consts
	code, args := p.Code, p.Args
	var (
		acc       bool
		reg, reg2 *Value
		ok, ok2   bool
	)
	for pc := 0; pc < len(code); pc++ {
		op, arg := code[pc], args[pc]
		switch op {
		case OpTrue:
			acc = true
		case OpFalse:
			acc = false
		case OpNot:
			acc = !acc
		case OpJumpIfFalse:
			if !acc {
				pc += int(arg)
			}
		case OpJumpIfTrue:
			if acc {
				pc += int(arg)
			}
		case OpReturn:
			return acc, nil
		case OpLoad:
			reg, ok = m.load(env, int(arg))
		case OpLoad2:
			reg2, ok2 = m.load(env, int(arg))
		case OpExists:
			acc = ok
		case OpInStrSet:
			acc = ok && inStrSet(c.strSets[arg], reg)
		case OpAllInStrSet:
			acc = ok && allInStrSet(c.strSets[arg], reg)
		case OpInBytesSet:
			acc = ok && reg.Kind == KindBytes && inBytesSet(c.strSets[arg], reg.B)
		case OpPmatch:
			acc = ok && c.pmatch(arg, reg)
		case OpInIntSet:
			acc = false
			if ok {
				if x, isNum := asInt(reg); isNum {
					_, acc = c.intSets[arg][x]
				}
			}
		case OpInUintSet:
			acc = false
			if ok {
				if x, isNum := asUint(reg); isNum {
					_, acc = c.uintSets[arg][x]
				} else if reg.Kind == KindList {
					acc = inUintSetList(c.uintSets[arg], reg.L)
				}
			}
		case OpAllInUintSet:
			acc = false
			if ok {
				if x, isNum := asUint(reg); isNum {
					_, acc = c.uintSets[arg][x]
				} else if reg.Kind == KindList {
					acc = allInUintSetList(c.uintSets[arg], reg.L)
				}
			}
		case OpInAddrSet:
			acc = false
			if ok && reg.Kind == KindAddr {
				_, acc = c.addrSets[arg][reg.A.Unmap()]
			}
		case OpInNetSet:
			acc = ok && reg.Kind == KindAddr && inNetSet(c.NetSets[arg], reg.A.Unmap())
		case OpCmpRegs:
			acc = ok && ok2 && cmpValues(CmpOp(arg), reg, reg2)
		case OpOneOf, OpAnyOf, OpAllOf:
			acc = ok && c.modifier(op, arg, reg)
		default:
			acc = ok && c.compare(op, arg, reg)
		}
	}
	return acc, nil
}

// inNetSet reports whether one of nets contains a.
func inNetSet(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// load returns the value of operand i for the current event, extracting or
// computing it on first use.
func (m *VM) load(env Env, i int) (*Value, bool) {
	s := &m.slots[i]
	if s.gen == m.gen {
		return &s.v, s.ok
	}
	o := &m.consts.Operands[i]
	switch o.Kind {
	case OperandField:
		s.ok = env.Extract(int(o.Field), &s.v)
	case OperandConst:
		s.v = Value{Kind: KindString, S: o.Const}
		s.ok = true
	case OperandList:
		s.lst = s.lst[:0]
		s.ok = true
		for _, a := range o.Args {
			v, ok := m.load(env, int(a))
			if !ok {
				s.ok = false
				break
			}
			switch v.Kind {
			case KindString:
				s.lst = append(s.lst, v.S)
			case KindList:
				s.lst = append(s.lst, v.L...)
			default:
				s.lst = append(s.lst, v.String())
			}
		}
		s.v = Value{Kind: KindList, L: s.lst}
	case OperandTransform:
		s.ok = m.transform(env, s, o)
	}
	s.gen = m.gen
	return &s.v, s.ok
}

// pmatch reports whether reg (a path, or a list of paths of which some
// must match) is under one of the tree's paths.
func (c *Consts) pmatch(arg int32, reg *Value) bool {
	t := c.trees[arg]
	switch reg.Kind {
	case KindString:
		return t.match(reg.S)
	case KindList:
		for _, s := range reg.L {
			if t.match(s) {
				return true
			}
		}
	}
	return false
}

func inStrSet(set map[string]struct{}, v *Value) bool {
	switch v.Kind {
	case KindString:
		_, ok := set[v.S]
		return ok
	case KindList:
		for _, s := range v.L {
			if _, ok := set[s]; ok {
				return true
			}
		}
	}
	return false
}

func allInStrSet(set map[string]struct{}, v *Value) bool {
	switch v.Kind {
	case KindString:
		_, ok := set[v.S]
		return ok
	case KindList:
		for _, s := range v.L {
			if _, ok := set[s]; !ok {
				return false
			}
		}
		return true
	}
	return false
}

// inUintSetList reports whether some element of a list of decimal numbers
// (a numeric list field such as ka.req.pod.containers.run_as_user) is in
// set.
func inUintSetList(set map[uint64]struct{}, l []string) bool {
	for _, s := range l {
		if x, err := strconv.ParseUint(s, 10, 64); err == nil {
			if _, ok := set[x]; ok {
				return true
			}
		}
	}
	return false
}

// allInUintSetList reports whether every element of a list of decimal
// numbers is in set (Falco's `in` on a list field).
func allInUintSetList(set map[uint64]struct{}, l []string) bool {
	for _, s := range l {
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return false
		}
		if _, ok := set[x]; !ok {
			return false
		}
	}
	return true
}

func inBytesSet(set map[string]struct{}, b []byte) bool {
	_, ok := set[string(b)]
	return ok
}

// modifier applies a oneof/anyof/allof comparison.
func (c *Consts) modifier(op Opcode, arg int32, v *Value) bool {
	md := &c.Mods[arg]
	n := 0
	for _, a := range md.Args {
		if c.compare(md.Op, a, v) {
			n++
			if op == OpAnyOf {
				return true
			}
		} else if op == OpAllOf {
			return false
		}
	}
	switch op {
	case OpOneOf:
		return n == 1
	case OpAllOf:
		return true
	}
	return false
}

// compare applies a single-value comparison to v. A list value (a field
// yielding several values, such as proc.aname without an index) matches
// when some element does.
func (c *Consts) compare(op Opcode, arg int32, v *Value) bool {
	switch v.Kind {
	case KindString:
		return c.compareStr(op, arg, v.S)
	case KindList:
		for _, s := range v.L {
			if c.compareStr(op, arg, s) {
				return true
			}
		}
		return false
	}
	switch op {
	case OpEqBytes:
		return v.Kind == KindBytes && bytes.Equal(v.B, c.Bytes[arg])
	case OpNeBytes:
		return v.Kind == KindBytes && !bytes.Equal(v.B, c.Bytes[arg])
	case OpContainsBytes:
		return v.Kind == KindBytes && bytes.Contains(v.B, c.Bytes[arg])
	case OpStartsWithBytes:
		return v.Kind == KindBytes && bytes.HasPrefix(v.B, c.Bytes[arg])
	case OpEndsWithBytes:
		return v.Kind == KindBytes && bytes.HasSuffix(v.B, c.Bytes[arg])
	case OpEqInt, OpNeInt, OpLtInt, OpLeInt, OpGtInt, OpGeInt:
		x, ok := asInt(v)
		return ok && cmpOrdered(CmpEq+CmpOp(op-OpEqInt), x, c.Ints[arg])
	case OpEqUint, OpNeUint, OpLtUint, OpLeUint, OpGtUint, OpGeUint:
		x, ok := asUint(v)
		return ok && cmpOrdered(CmpEq+CmpOp(op-OpEqUint), x, c.Uints[arg])
	case OpEqFloat, OpNeFloat, OpLtFloat, OpLeFloat, OpGtFloat, OpGeFloat:
		x, ok := asFloat(v)
		return ok && cmpOrdered(CmpEq+CmpOp(op-OpEqFloat), x, c.Floats[arg])
	case OpEqBool:
		b, ok := asBool(v)
		return ok && b == (arg != 0)
	case OpNeBool:
		b, ok := asBool(v)
		return ok && b != (arg != 0)
	case OpEqAddr:
		return v.Kind == KindAddr && v.A.Unmap() == c.Addrs[arg]
	case OpNeAddr:
		return v.Kind == KindAddr && v.A.Unmap() != c.Addrs[arg]
	case OpInNet:
		return v.Kind == KindAddr && c.Nets[arg].Contains(v.A.Unmap())
	case OpNotInNet:
		return v.Kind == KindAddr && !c.Nets[arg].Contains(v.A.Unmap())
	case OpCmpDyn:
		return cmpDyn(&c.Dyns[arg], v)
	}
	return false
}

// compareStr applies a single-value comparison to the text s.
func (c *Consts) compareStr(op Opcode, arg int32, s string) bool {
	switch op {
	case OpEqStr:
		return s == c.Strings[arg]
	case OpNeStr:
		return s != c.Strings[arg]
	case OpLtStr:
		return s < c.Strings[arg]
	case OpLeStr:
		return s <= c.Strings[arg]
	case OpGtStr:
		return s > c.Strings[arg]
	case OpGeStr:
		return s >= c.Strings[arg]
	case OpContainsStr:
		return strings.Contains(s, c.Strings[arg])
	case OpIContainsStr:
		return containsFold(s, c.Strings[arg])
	case OpStartsWithStr:
		return strings.HasPrefix(s, c.Strings[arg])
	case OpEndsWithStr:
		return strings.HasSuffix(s, c.Strings[arg])
	case OpGlob:
		return globMatch(c.Globs[arg], s, false)
	case OpIGlob:
		return globMatch(c.Globs[arg], s, true)
	case OpRegex:
		return c.regexes[arg].MatchString(s)
	case OpCmpDyn:
		d := &c.Dyns[arg]
		return cmpStrings(d.Op, s, d.Text)
	}
	return false
}

func cmpOrdered[T int64 | uint64 | float64 | string](op CmpOp, a, b T) bool {
	switch op {
	case CmpEq:
		return a == b
	case CmpNe:
		return a != b
	case CmpLt:
		return a < b
	case CmpLe:
		return a <= b
	case CmpGt:
		return a > b
	case CmpGe:
		return a >= b
	}
	return false
}

func asInt(v *Value) (int64, bool) {
	switch v.Kind {
	case KindInt:
		return v.I, true
	case KindUint, KindBool:
		if v.U > 1<<63-1 {
			return 0, false
		}
		return int64(v.U), true
	}
	return 0, false
}

func asUint(v *Value) (uint64, bool) {
	switch v.Kind {
	case KindUint, KindBool:
		return v.U, true
	case KindInt:
		if v.I < 0 {
			return 0, false
		}
		return uint64(v.I), true
	}
	return 0, false
}

func asFloat(v *Value) (float64, bool) {
	switch v.Kind {
	case KindDouble:
		return math.Float64frombits(v.U), true
	case KindInt:
		return float64(v.I), true
	case KindUint:
		return float64(v.U), true
	}
	return 0, false
}

func asBool(v *Value) (bool, bool) {
	switch v.Kind {
	case KindBool, KindUint:
		return v.U != 0, true
	case KindInt:
		return v.I != 0, true
	}
	return false, false
}

// cmpDyn compares a DYNAMIC value with its constant.
func cmpDyn(d *Dyn, v *Value) bool {
	if d.IsInt {
		switch v.Kind {
		case KindInt:
			return cmpOrdered(d.Op, v.I, d.Int)
		case KindUint, KindBool:
			if d.Int < 0 {
				return cmpOrdered(d.Op, int64(1), int64(0)) // any unsigned value is greater
			}
			return cmpOrdered(d.Op, v.U, uint64(d.Int))
		}
	}
	switch v.Kind {
	case KindString:
		return cmpStrings(d.Op, v.S, d.Text)
	case KindBytes:
		return cmpStrings(d.Op, bstr(v.B), d.Text)
	case KindAddr:
		return cmpStrings(d.Op, v.A.String(), d.Text)
	}
	return false
}

func cmpStrings(op CmpOp, a, b string) bool {
	switch op {
	case CmpContains:
		return strings.Contains(a, b)
	case CmpIContains:
		return containsFold(a, b)
	case CmpStartsWith:
		return strings.HasPrefix(a, b)
	case CmpEndsWith:
		return strings.HasSuffix(a, b)
	case CmpGlob:
		return globMatch(b, a, false)
	case CmpIGlob:
		return globMatch(b, a, true)
	}
	return cmpOrdered(op, a, b)
}

// cmpValues compares two field values (field-to-field comparisons): as
// numbers when both are numeric, as addresses when both are addresses, and
// as text otherwise. A list on the left matches when some element does.
func cmpValues(op CmpOp, a, b *Value) bool {
	if a.Kind == KindList {
		bs, ok := textOf(b)
		if !ok {
			return false
		}
		for _, s := range a.L {
			if cmpStrings(op, s, bs) {
				return true
			}
		}
		return false
	}
	switch a.Kind {
	case KindInt, KindUint, KindBool:
		if x, ok := asInt(a); ok {
			if y, ok := asInt(b); ok {
				return cmpOrdered(op, x, y)
			}
		}
		if x, ok := asUint(a); ok {
			if y, ok := asUint(b); ok {
				return cmpOrdered(op, x, y)
			}
		}
		if !isNumeric(b) {
			return false
		}
		// One is negative and the other above MaxInt64.
		if a.Kind == KindInt && a.I < 0 {
			return cmpOrdered(op, int64(0), int64(1))
		}
		return cmpOrdered(op, int64(1), int64(0))
	case KindDouble:
		x, _ := asFloat(a)
		if y, ok := asFloat(b); ok {
			return cmpOrdered(op, x, y)
		}
		return false
	case KindAddr:
		if b.Kind != KindAddr {
			return false
		}
		switch op {
		case CmpEq:
			return a.A.Unmap() == b.A.Unmap()
		case CmpNe:
			return a.A.Unmap() != b.A.Unmap()
		}
		return false
	case KindString:
		if b.Kind == KindString {
			return cmpStrings(op, a.S, b.S)
		}
		if b.Kind == KindBytes {
			return cmpStrings(op, a.S, bstr(b.B))
		}
	case KindBytes:
		if b.Kind == KindBytes || b.Kind == KindString {
			bs := b.S
			if b.Kind == KindBytes {
				bs = bstr(b.B)
			}
			return cmpStrings(op, bstr(a.B), bs)
		}
	}
	return false
}

// containsFold reports whether sub is in s, ignoring ASCII case. sub is
// already lower-case when it comes from the constant pool, but is folded
// anyway so that field-to-field comparisons work.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func isNumeric(v *Value) bool {
	return v.Kind == KindInt || v.Kind == KindUint || v.Kind == KindBool
}

// bstr views b as a string without copying; the string must not outlive
// the next change to b.
func bstr(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// textOf returns the text of a string or bytes value.
func textOf(v *Value) (string, bool) {
	switch v.Kind {
	case KindString:
		return v.S, true
	case KindBytes:
		return bstr(v.B), true
	}
	return "", false
}
