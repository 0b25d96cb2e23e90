// Package codegen compiles checked conditions (the typed IR of
// compiler/check) into VM bytecode, and output formats into templates.
//
// A [Generator] owns one constant pool ([vm.Consts]) shared by every rule
// it compiles: strings, sets, globs, regexes, prefix trees, networks and
// the field table are pooled across rules, so a field read by many rules
// is extracted once per event. Constants are numbered in order of first
// use, so the same rules in the same order give the same program.
//
// A Generator is not safe for concurrent use.
package codegen

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

// ErrUnsupported is returned (wrapped) for a construct the generator
// cannot compile, such as an operator on a type the checker should have
// refused.
var ErrUnsupported = errors.New("unsupported")

// Generator compiles conditions and outputs against one constant pool.
type Generator struct {
	c *vm.Consts

	fields   map[vm.FieldRef]int32
	operands map[string]int32
	strs     map[string]int32
	bytes    map[string]int32
	ints     map[int64]int32
	uints    map[uint64]int32
	floats   map[float64]int32
	addrs    map[netip.Addr]int32
	nets     map[netip.Prefix]int32
	sets     map[string]int32 // key: table letter + canonical content
	globs    map[string]int32
	regexes  map[string]int32
	trees    map[string]int32
	dyns     map[vm.Dyn]int32
	mods     map[string]int32
}

// New returns a Generator with an empty pool.
func New() *Generator {
	return &Generator{
		c:        &vm.Consts{},
		fields:   map[vm.FieldRef]int32{},
		operands: map[string]int32{},
		strs:     map[string]int32{},
		bytes:    map[string]int32{},
		ints:     map[int64]int32{},
		uints:    map[uint64]int32{},
		floats:   map[float64]int32{},
		addrs:    map[netip.Addr]int32{},
		nets:     map[netip.Prefix]int32{},
		sets:     map[string]int32{},
		globs:    map[string]int32{},
		regexes:  map[string]int32{},
		trees:    map[string]int32{},
		dyns:     map[vm.Dyn]int32{},
		mods:     map[string]int32{},
	}
}

// Consts returns the pool. It keeps growing while the Generator compiles;
// call [vm.Consts.Prepare] once everything is compiled.
func (g *Generator) Consts() *vm.Consts { return g.c }

// program is a program being emitted.
type program struct {
	g *Generator
	p *vm.Program
}

func (b *program) emit(op vm.Opcode, arg int32, pos syntax.Pos) int {
	b.p.Code = append(b.p.Code, op)
	b.p.Args = append(b.p.Args, arg)
	b.p.Locs = append(b.p.Locs, vm.Location{Origin: int32(pos.Origin), Line: int32(pos.Line), Column: int32(pos.Column)})
	return len(b.p.Code) - 1
}

// patchJump makes the jump at pc land on the next instruction emitted.
func (b *program) patchJump(pc int) {
	b.p.Args[pc] = int32(len(b.p.Code) - pc - 1)
}

// Condition compiles a checked condition into a program over the pool.
// The IR is constant-folded first ([check.Fold]).
func (g *Generator) Condition(e check.Expr) (*vm.Program, error) {
	if e == nil {
		return nil, fmt.Errorf("compile condition: %w: empty condition", ErrUnsupported)
	}
	return g.FoldedCondition(check.Fold(e))
}

// FoldedCondition is [Generator.Condition] for a condition already
// constant-folded ([check.Fold]).
func (g *Generator) FoldedCondition(e check.Expr) (*vm.Program, error) {
	if e == nil {
		return nil, fmt.Errorf("compile condition: %w: empty condition", ErrUnsupported)
	}
	b := &program{g: g, p: &vm.Program{Consts: g.c}}
	if err := b.expr(expandEither(e)); err != nil {
		return nil, fmt.Errorf("compile condition: %w", err)
	}
	b.emit(vm.OpReturn, 0, e.Position())
	threadJumps(b.p)
	return b.p, nil
}

// threadJumps retargets jumps that land on other jumps: a conditional
// jump taken with acc = x that lands on a jump on the same condition can
// go straight to that jump's target, and one that lands on a jump on the
// opposite condition can skip it. Nested and/or chains then leave in one
// jump.
func threadJumps(p *vm.Program) {
	for pc := len(p.Code) - 1; pc >= 0; pc-- {
		op := p.Code[pc]
		if op != vm.OpJumpIfFalse && op != vm.OpJumpIfTrue {
			continue
		}
		t := pc + 1 + int(p.Args[pc])
	follow:
		for {
			switch p.Code[t] {
			case op:
				t = t + 1 + int(p.Args[t])
			case vm.OpJumpIfFalse, vm.OpJumpIfTrue:
				t++ // always ends before RETURN
			default:
				break follow
			}
		}
		p.Args[pc] = int32(t - pc - 1)
	}
}

func (b *program) expr(e check.Expr) error {
	switch n := e.(type) {
	case *check.Const:
		if n.Value {
			b.emit(vm.OpTrue, 0, n.Pos)
		} else {
			b.emit(vm.OpFalse, 0, n.Pos)
		}
	case *check.Not:
		if err := b.expr(n.X); err != nil {
			return err
		}
		b.emit(vm.OpNot, 0, n.Pos)
	case *check.And:
		return b.terms(n.Pos, n.Terms, vm.OpJumpIfFalse)
	case *check.Or:
		return b.terms(n.Pos, n.Terms, vm.OpJumpIfTrue)
	case *check.Cmp:
		return b.cmp(n)
	default:
		return fmt.Errorf("%w: expression %T", ErrUnsupported, e)
	}
	return nil
}

// terms compiles an and (jump = JUMP_IF_FALSE) or an or (JUMP_IF_TRUE):
// every term but the last is followed by a jump to the end.
func (b *program) terms(pos syntax.Pos, ts []check.Expr, jump vm.Opcode) error {
	if len(ts) == 0 {
		if jump == vm.OpJumpIfFalse {
			b.emit(vm.OpTrue, 0, pos)
		} else {
			b.emit(vm.OpFalse, 0, pos)
		}
		return nil
	}
	var jumps []int
	for i, t := range ts {
		if err := b.expr(t); err != nil {
			return err
		}
		if i < len(ts)-1 {
			jumps = append(jumps, b.emit(jump, 0, t.Position()))
		}
	}
	for _, pc := range jumps {
		b.patchJump(pc)
	}
	return nil
}

// typeClass groups the catalog types by VM representation.
type typeClass uint8

const (
	classInvalid typeClass = iota
	classString
	classBytes
	classInt
	classUint
	classFloat
	classBool
	classAddr
	classNet
	classDyn
)

func classOf(t catalog.Type) typeClass {
	switch t {
	case catalog.TypeString, catalog.TypeFSPath:
		return classString
	case catalog.TypeBytes:
		return classBytes
	case catalog.TypeInt8, catalog.TypeInt16, catalog.TypeInt32, catalog.TypeInt64:
		return classInt
	case catalog.TypeUint8, catalog.TypeUint16, catalog.TypeUint32, catalog.TypeUint64,
		catalog.TypePort, catalog.TypeAbsTime, catalog.TypeRelTime:
		return classUint
	case catalog.TypeDouble:
		return classFloat
	case catalog.TypeBool:
		return classBool
	case catalog.TypeIPAddr:
		return classAddr
	case catalog.TypeIPNet:
		return classNet
	case catalog.TypeDyn:
		return classDyn
	}
	return classInvalid
}

// cmpOps maps the scalar operators to run-time comparison operators.
var cmpOps = map[syntax.Op]vm.CmpOp{
	syntax.OpEq: vm.CmpEq, syntax.OpEqEq: vm.CmpEq, syntax.OpNe: vm.CmpNe,
	syntax.OpLt: vm.CmpLt, syntax.OpLe: vm.CmpLe, syntax.OpGt: vm.CmpGt, syntax.OpGe: vm.CmpGe,
	syntax.OpContains: vm.CmpContains, syntax.OpBContains: vm.CmpContains, syntax.OpIContains: vm.CmpIContains,
	syntax.OpStartsWith: vm.CmpStartsWith, syntax.OpBStartsWith: vm.CmpStartsWith,
	syntax.OpEndsWith: vm.CmpEndsWith, syntax.OpGlob: vm.CmpGlob, syntax.OpIGlob: vm.CmpIGlob,
}

func (b *program) cmp(n *check.Cmp) error {
	if n.Left == nil {
		return fmt.Errorf("%w: comparison without a left operand", ErrUnsupported)
	}
	left, err := b.g.operand(n.Left, 0)
	if err != nil {
		return err
	}
	b.emit(vm.OpLoad, left, n.Pos)
	if n.Op == syntax.OpExists {
		b.emit(vm.OpExists, 0, n.Pos)
		return nil
	}
	if n.Right != nil {
		right, err := b.g.operand(n.Right, 0)
		if err != nil {
			return err
		}
		op := n.Op
		if n.Op == syntax.OpIn || n.Op == syntax.OpIntersects {
			op = syntax.OpEq
		}
		c, ok := cmpOps[op]
		if !ok || n.Mod != syntax.ModNone {
			return fmt.Errorf("%w: %s%s with a field on the right", ErrUnsupported, n.Op, modSuffix(n.Mod))
		}
		b.emit(vm.OpLoad2, right, n.Pos)
		b.emit(vm.OpCmpRegs, int32(c), n.Pos)
		return nil
	}
	class := classOf(n.Left.Type)
	switch n.Op {
	case syntax.OpIn, syntax.OpIntersects:
		if n.Mod != syntax.ModNone {
			return fmt.Errorf("%w: %s with modifier %s", ErrUnsupported, n.Op, n.Mod)
		}
		return b.in(n, class)
	case syntax.OpPmatch:
		if class != classString {
			return fmt.Errorf("%w: pmatch on %v", ErrUnsupported, n.Left.Type)
		}
		paths := make([]string, len(n.Values))
		for i, v := range n.Values {
			paths[i] = v.Text
		}
		b.emit(vm.OpPmatch, b.g.tree(paths), n.Pos)
		return nil
	}
	op, err := scalarOp(n.Op, class)
	if err != nil {
		return err
	}
	if n.Mod == syntax.ModNone {
		if len(n.Values) != 1 {
			return fmt.Errorf("%w: %s with %d values", ErrUnsupported, n.Op, len(n.Values))
		}
		arg, err := b.g.constant(op, n.Op, &n.Values[0])
		if err != nil {
			return err
		}
		b.emit(op, arg, n.Pos)
		return nil
	}
	// `= anyof (...)` on strings is set membership.
	if n.Mod == syntax.ModAnyOf && op == vm.OpEqStr {
		b.emit(vm.OpInStrSet, b.g.strSet(n.Values), n.Pos)
		return nil
	}
	m := vm.Mod{Op: op}
	for i := range n.Values {
		arg, err := b.g.constant(op, n.Op, &n.Values[i])
		if err != nil {
			return err
		}
		m.Args = append(m.Args, arg)
	}
	var modOp vm.Opcode
	switch n.Mod {
	case syntax.ModOneOf:
		modOp = vm.OpOneOf
	case syntax.ModAnyOf:
		modOp = vm.OpAnyOf
	case syntax.ModAllOf:
		modOp = vm.OpAllOf
	default:
		return fmt.Errorf("%w: modifier %q", ErrUnsupported, n.Mod)
	}
	b.emit(modOp, b.g.mod(m), n.Pos)
	return nil
}

func modSuffix(m syntax.Modifier) string {
	if m == syntax.ModNone {
		return ""
	}
	return " " + string(m)
}

// scalarKey selects the opcode of a single-value comparison.
type scalarKey struct {
	op    syntax.Op
	class typeClass
}

var scalarOps = map[scalarKey]vm.Opcode{
	{syntax.OpEq, classString}: vm.OpEqStr, {syntax.OpNe, classString}: vm.OpNeStr,
	{syntax.OpLt, classString}: vm.OpLtStr, {syntax.OpLe, classString}: vm.OpLeStr,
	{syntax.OpGt, classString}: vm.OpGtStr, {syntax.OpGe, classString}: vm.OpGeStr,
	{syntax.OpContains, classString}: vm.OpContainsStr, {syntax.OpIContains, classString}: vm.OpIContainsStr,
	{syntax.OpStartsWith, classString}: vm.OpStartsWithStr, {syntax.OpEndsWith, classString}: vm.OpEndsWithStr,
	{syntax.OpGlob, classString}: vm.OpGlob, {syntax.OpIGlob, classString}: vm.OpIGlob,
	{syntax.OpRegex, classString}: vm.OpRegex,

	{syntax.OpEq, classBytes}: vm.OpEqBytes, {syntax.OpNe, classBytes}: vm.OpNeBytes,
	{syntax.OpContains, classBytes}: vm.OpContainsBytes, {syntax.OpBContains, classBytes}: vm.OpContainsBytes,
	{syntax.OpStartsWith, classBytes}: vm.OpStartsWithBytes, {syntax.OpBStartsWith, classBytes}: vm.OpStartsWithBytes,
	{syntax.OpEndsWith, classBytes}: vm.OpEndsWithBytes,

	{syntax.OpEq, classInt}: vm.OpEqInt, {syntax.OpNe, classInt}: vm.OpNeInt,
	{syntax.OpLt, classInt}: vm.OpLtInt, {syntax.OpLe, classInt}: vm.OpLeInt,
	{syntax.OpGt, classInt}: vm.OpGtInt, {syntax.OpGe, classInt}: vm.OpGeInt,

	{syntax.OpEq, classUint}: vm.OpEqUint, {syntax.OpNe, classUint}: vm.OpNeUint,
	{syntax.OpLt, classUint}: vm.OpLtUint, {syntax.OpLe, classUint}: vm.OpLeUint,
	{syntax.OpGt, classUint}: vm.OpGtUint, {syntax.OpGe, classUint}: vm.OpGeUint,

	{syntax.OpEq, classFloat}: vm.OpEqFloat, {syntax.OpNe, classFloat}: vm.OpNeFloat,
	{syntax.OpLt, classFloat}: vm.OpLtFloat, {syntax.OpLe, classFloat}: vm.OpLeFloat,
	{syntax.OpGt, classFloat}: vm.OpGtFloat, {syntax.OpGe, classFloat}: vm.OpGeFloat,

	{syntax.OpEq, classBool}: vm.OpEqBool, {syntax.OpNe, classBool}: vm.OpNeBool,

	{syntax.OpEq, classAddr}: vm.OpEqAddr, {syntax.OpNe, classAddr}: vm.OpNeAddr,
	{syntax.OpEq, classNet}: vm.OpInNet, {syntax.OpNe, classNet}: vm.OpNotInNet,
}

// scalarOp chooses the opcode of a single-value comparison.
func scalarOp(op syntax.Op, class typeClass) (vm.Opcode, error) {
	if class == classDyn {
		if _, ok := cmpOps[op]; ok {
			return vm.OpCmpDyn, nil
		}
	}
	if op == syntax.OpEqEq {
		op = syntax.OpEq
	}
	if o, ok := scalarOps[scalarKey{op, class}]; ok {
		return o, nil
	}
	return vm.OpInvalid, fmt.Errorf("%w: operator %s on this field type", ErrUnsupported, op)
}

// constant pools the constant of a single-value comparison op (src is the
// operator as written, for DYNAMIC comparisons).
func (g *Generator) constant(op vm.Opcode, src syntax.Op, v *check.Value) (int32, error) {
	switch op {
	case vm.OpEqStr, vm.OpNeStr, vm.OpLtStr, vm.OpLeStr, vm.OpGtStr, vm.OpGeStr,
		vm.OpContainsStr, vm.OpStartsWithStr, vm.OpEndsWithStr:
		return g.str(v.Text), nil
	case vm.OpIContainsStr:
		return g.str(strings.ToLower(v.Text)), nil
	case vm.OpGlob, vm.OpIGlob:
		return intern(g.globs, &g.c.Globs, v.Text), nil
	case vm.OpRegex:
		pat := v.Regex
		if pat == "" {
			pat = "^(?:" + v.Text + ")$"
		}
		return intern(g.regexes, &g.c.Regexes, pat), nil
	case vm.OpEqBytes, vm.OpNeBytes, vm.OpContainsBytes, vm.OpStartsWithBytes, vm.OpEndsWithBytes:
		b := v.Bytes
		if b == nil {
			b = []byte(v.Text)
		}
		return g.bytesConst(b), nil
	case vm.OpEqInt, vm.OpNeInt, vm.OpLtInt, vm.OpLeInt, vm.OpGtInt, vm.OpGeInt:
		return intern(g.ints, &g.c.Ints, v.Int), nil
	case vm.OpEqUint, vm.OpNeUint, vm.OpLtUint, vm.OpLeUint, vm.OpGtUint, vm.OpGeUint:
		return intern(g.uints, &g.c.Uints, v.Uint), nil
	case vm.OpEqFloat, vm.OpNeFloat, vm.OpLtFloat, vm.OpLeFloat, vm.OpGtFloat, vm.OpGeFloat:
		return intern(g.floats, &g.c.Floats, v.Float), nil
	case vm.OpEqBool, vm.OpNeBool:
		if v.Bool {
			return 1, nil
		}
		return 0, nil
	case vm.OpEqAddr, vm.OpNeAddr:
		return intern(g.addrs, &g.c.Addrs, v.Addr.Unmap()), nil
	case vm.OpInNet, vm.OpNotInNet:
		return intern(g.nets, &g.c.Nets, unmapPrefix(v.Net)), nil
	case vm.OpCmpDyn:
		d := vm.Dyn{Op: cmpOps[src], Text: v.Text, Int: v.Int, IsInt: v.IsInt}
		return intern(g.dyns, &g.c.Dyns, d), nil
	}
	return 0, fmt.Errorf("%w: constant for %v", ErrUnsupported, op)
}

// in compiles in and intersects.
func (b *program) in(n *check.Cmp, class typeClass) error {
	g := b.g
	switch class {
	case classString:
		op := vm.OpInStrSet
		if n.Op == syntax.OpIn && n.Left.List {
			op = vm.OpAllInStrSet
		}
		b.emit(op, g.strSet(n.Values), n.Pos)
	case classBytes:
		vals := make([]string, len(n.Values))
		for i, v := range n.Values {
			if v.Bytes != nil {
				vals[i] = string(v.Bytes)
			} else {
				vals[i] = v.Text
			}
		}
		b.emit(vm.OpInBytesSet, g.strSetOf(vals), n.Pos)
	case classInt:
		vals := make([]int64, len(n.Values))
		for i, v := range n.Values {
			vals[i] = v.Int
		}
		b.emit(vm.OpInIntSet, internSet(g, 'i', &g.c.IntSets, vals, func(x int64) string { return strconv.FormatInt(x, 10) }), n.Pos)
	case classUint:
		vals := make([]uint64, len(n.Values))
		for i, v := range n.Values {
			vals[i] = v.Uint
		}
		op := vm.OpInUintSet
		if n.Op == syntax.OpIn && n.Left.List {
			op = vm.OpAllInUintSet // every element of a list field, as for strings
		}
		b.emit(op, internSet(g, 'u', &g.c.UintSets, vals, func(x uint64) string { return strconv.FormatUint(x, 10) }), n.Pos)
	case classAddr:
		vals := make([]netip.Addr, len(n.Values))
		for i, v := range n.Values {
			vals[i] = v.Addr.Unmap()
		}
		b.emit(vm.OpInAddrSet, internSet(g, 'a', &g.c.AddrSets, vals, netip.Addr.String), n.Pos)
	case classNet:
		vals := make([]netip.Prefix, len(n.Values))
		for i, v := range n.Values {
			vals[i] = unmapPrefix(v.Net)
		}
		b.emit(vm.OpInNetSet, internSet(g, 'n', &g.c.NetSets, vals, netip.Prefix.String), n.Pos)
	case classFloat, classBool, classDyn:
		// Membership as "= anyof".
		op, err := scalarOp(syntax.OpEq, class)
		if err != nil {
			return err
		}
		m := vm.Mod{Op: op}
		for i := range n.Values {
			arg, err := g.constant(op, syntax.OpEq, &n.Values[i])
			if err != nil {
				return err
			}
			m.Args = append(m.Args, arg)
		}
		b.emit(vm.OpAnyOf, g.mod(m), n.Pos)
	default:
		return fmt.Errorf("%w: %s on %v", ErrUnsupported, n.Op, n.Left.Type)
	}
	return nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// intern returns the index of v in table, appending it on first use.
func intern[K comparable](idx map[K]int32, table *[]K, v K) int32 {
	if i, ok := idx[v]; ok {
		return i
	}
	i := int32(len(*table))
	*table = append(*table, v)
	idx[v] = i
	return i
}

func (g *Generator) str(s string) int32 { return intern(g.strs, &g.c.Strings, s) }

func (g *Generator) bytesConst(b []byte) int32 {
	if i, ok := g.bytes[string(b)]; ok {
		return i
	}
	i := int32(len(g.c.Bytes))
	g.c.Bytes = append(g.c.Bytes, slices.Clone(b))
	g.bytes[string(b)] = i
	return i
}

func (g *Generator) strSet(vals []check.Value) int32 {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = v.Text
	}
	return g.strSetOf(s)
}

func (g *Generator) strSetOf(s []string) int32 {
	return internSet(g, 's', &g.c.StrSets, s, strconv.Quote)
}

// internSet pools a set: sorted, without duplicates, keyed by its content.
func internSet[T interface{ comparable }](g *Generator, kind byte, table *[][]T, vals []T, show func(T) string) int32 {
	keys := make([]string, len(vals))
	byKey := make(map[string]T, len(vals))
	for i, v := range vals {
		keys[i] = show(v)
		byKey[keys[i]] = v
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	key := string(kind) + strings.Join(keys, "\x00")
	if i, ok := g.sets[key]; ok {
		return i
	}
	set := make([]T, len(keys))
	for i, k := range keys {
		set[i] = byKey[k]
	}
	i := int32(len(*table))
	*table = append(*table, set)
	g.sets[key] = i
	return i
}

func (g *Generator) tree(paths []string) int32 {
	s := slices.Clone(paths)
	slices.Sort(s)
	s = slices.Compact(s)
	key := strings.Join(mapQuote(s), ",")
	if i, ok := g.trees[key]; ok {
		return i
	}
	i := int32(len(g.c.PrefixTrees))
	g.c.PrefixTrees = append(g.c.PrefixTrees, s)
	g.trees[key] = i
	return i
}

func (g *Generator) mod(m vm.Mod) int32 {
	key := m.Op.String()
	for _, a := range m.Args {
		key += "," + strconv.Itoa(int(a))
	}
	if i, ok := g.mods[key]; ok {
		return i
	}
	i := int32(len(g.c.Mods))
	g.c.Mods = append(g.c.Mods, m)
	g.mods[key] = i
	return i
}

func mapQuote(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// maxOperandDepth bounds transformer nesting.
const maxOperandDepth = 200

// operand pools o (and its arguments) in the operand table.
func (g *Generator) operand(o *check.Operand, depth int) (int32, error) {
	if o == nil {
		return 0, fmt.Errorf("%w: nil operand", ErrUnsupported)
	}
	if depth > maxOperandDepth {
		return 0, fmt.Errorf("%w: operands nested too deeply", ErrUnsupported)
	}
	var op vm.Operand
	var key string
	switch o.Kind {
	case check.OperandField:
		if o.Field == nil {
			return 0, fmt.Errorf("%w: unresolved field %q", ErrUnsupported, o.Name)
		}
		ref := vm.FieldRef{Name: o.Field.Name, Arg: o.Arg, HasArg: o.HasArg, Index: o.Index}
		if !o.HasArg {
			ref.Index = -1
		}
		f := intern(g.fields, &g.c.Fields, ref)
		op = vm.Operand{Kind: vm.OperandField, Field: f}
		key = "f" + strconv.Itoa(int(f))
	case check.OperandConst:
		op = vm.Operand{Kind: vm.OperandConst, Const: o.Const.Text}
		key = "c" + o.Const.Text
	case check.OperandTransform, check.OperandList:
		args := o.Args
		op.Kind = vm.OperandList
		key = "l("
		if o.Kind == check.OperandTransform {
			t, ok := vm.TransformByName(o.Transform)
			if !ok {
				return 0, fmt.Errorf("%w: transformer %q", ErrUnsupported, o.Transform)
			}
			op = vm.Operand{Kind: vm.OperandTransform, Transform: t, TransformArg: o.TransformArg, HasTransformArg: o.HasTransformArg}
			key = "t" + o.Transform + "("
		} else {
			args = o.Items
		}
		for _, a := range args {
			id, err := g.operand(a, depth+1)
			if err != nil {
				return 0, err
			}
			op.Args = append(op.Args, id)
			key += strconv.Itoa(int(id)) + ","
		}
		key += ")"
		if op.HasTransformArg {
			key += "[" + op.TransformArg + "]"
		}
	default:
		return 0, fmt.Errorf("%w: operand kind %d", ErrUnsupported, o.Kind)
	}
	if i, ok := g.operands[key]; ok {
		return i, nil
	}
	i := int32(len(g.c.Operands))
	g.c.Operands = append(g.c.Operands, op)
	g.operands[key] = i
	return i, nil
}

// Output compiles a checked output format into a template whose values
// are operands of the pool.
func (g *Generator) Output(t *check.Template) (vm.Template, error) {
	if t == nil {
		return vm.Template{}, nil
	}
	out := vm.Template{Format: t.Format}
	for _, s := range t.Segments {
		if s.Value == nil {
			out.Segments = append(out.Segments, vm.Segment{Text: s.Text, Operand: -1})
			continue
		}
		id, err := g.operand(s.Value, 0)
		if err != nil {
			return vm.Template{}, fmt.Errorf("compile output %q: %w", s.Token, err)
		}
		out.Segments = append(out.Segments, vm.Segment{Operand: id, Token: s.Token, Width: int32(s.Width)})
	}
	return out, nil
}
