package vm

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
)

// Location is the source position of an instruction: the 1-based line and
// column in the condition text identified by Origin (see syntax.Pos).
type Location struct {
	Origin int32
	Line   int32
	Column int32
}

// Program is the bytecode of one rule's condition. Code, Args and Locs are
// parallel: instruction i is Code[i] with argument Args[i], compiled from
// the text at Locs[i]. The constants, operands and field table live in the
// shared [Consts], so that every rule of an artifact shares one field cache
// per event.
//
// A Program must not be modified once built; it is then safe for
// concurrent use by several [VM]s. Programs built by hand or decoded from
// untrusted bytes must pass [Program.Validate] before they are evaluated.
type Program struct {
	Code []Opcode
	Args []int32
	Locs []Location
	*Consts
}

// OperandKind says what an [Operand] is.
type OperandKind uint8

// Operand kinds.
const (
	// OperandField is a base field: Field indexes Consts.Fields.
	OperandField OperandKind = iota
	// OperandTransform applies Transform to the operands Args.
	OperandTransform
	// OperandConst is a constant string transformer argument: Const.
	OperandConst
	// OperandList is a list of the operands Args (a transformer argument).
	OperandList
	operandKindEnd
)

// Transform is a transformer applied by the VM on top of base values.
type Transform uint8

// Transformers.
const (
	TransformNone Transform = iota
	TransformToLower
	TransformToUpper
	TransformB64
	TransformBasename
	TransformLen
	TransformJoin
	TransformConcat
	TransformGetopt
	transformEnd
)

var transformNames = [transformEnd]string{"", "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"}

// String returns the transformer's name as written in a condition.
func (t Transform) String() string {
	if t >= transformEnd {
		return "Transform(" + strconv.Itoa(int(t)) + ")"
	}
	return transformNames[t]
}

// TransformByName returns the transformer called name ("tolower", ...).
func TransformByName(name string) (Transform, bool) {
	for t := TransformNone + 1; t < transformEnd; t++ {
		if transformNames[t] == name {
			return t, true
		}
	}
	return TransformNone, false
}

// Operand is an entry of the operand table: a value the VM can load into
// a register. Operands are cached per event like fields. The arguments of
// a transformer or list always have smaller indices than the operand
// itself, so the table is in evaluation order.
type Operand struct {
	Kind      OperandKind
	Field     int32     // OperandField: index into Consts.Fields
	Transform Transform // OperandTransform
	Args      []int32   // OperandTransform, OperandList: operand indices
	// TransformArg is getopt's `[c]` argument, when HasTransformArg.
	TransformArg    string
	HasTransformArg bool
	Const           string // OperandConst
}

// Dyn is a comparison on a DYNAMIC field, whose value kind is known only
// at run time: the constant is compared as a number when the value is a
// number and IsInt is true, and as text otherwise.
type Dyn struct {
	Op    CmpOp
	Text  string
	Int   int64
	IsInt bool
}

// Mod is the comparison of a oneof/anyof/allof modifier: Op (a single
// value comparison opcode such as [OpEqStr] or [OpGlob]) with each of the
// constants Args, which index the constant table Op uses.
type Mod struct {
	Op   Opcode
	Args []int32
}

// Consts is the constant pool shared by the programs of an artifact: the
// field table, the operand table and the typed constants. The exported
// members are the serialisable form; [Consts.Prepare] builds the lookup
// structures (hash sets, compiled globs, regexes and prefix trees) from
// them and must run before any program using the pool is evaluated.
//
// Sets are stored sorted and without duplicates; Globs hold the pattern
// as written (iglob folds case while matching), Regexes the fully anchored
// RE2 pattern, and PrefixTrees the paths of a pmatch list.
type Consts struct {
	Fields   []FieldRef
	Operands []Operand

	Strings []string
	Bytes   [][]byte
	Ints    []int64
	Uints   []uint64
	Floats  []float64
	Addrs   []netip.Addr
	Nets    []netip.Prefix

	StrSets  [][]string
	IntSets  [][]int64
	UintSets [][]uint64
	AddrSets [][]netip.Addr
	NetSets  [][]netip.Prefix

	Globs       []string
	Regexes     []string
	PrefixTrees [][]string
	Dyns        []Dyn
	Mods        []Mod

	mu       sync.Mutex // guards the preparation
	prepared bool
	strSets  []map[string]struct{}
	intSets  []map[int64]struct{}
	uintSets []map[uint64]struct{}
	addrSets []map[netip.Addr]struct{}
	regexes  []*regexp.Regexp
	trees    []*prefixTree
}

// ErrInvalid is returned (wrapped) for a malformed program or pool.
var ErrInvalid = errors.New("invalid program")

// Prepare validates the pool and builds its lookup structures. It is
// idempotent and safe for concurrent use. The pool must not be modified
// afterwards.
func (c *Consts) Prepare() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prepared {
		return nil
	}
	for i, o := range c.Operands {
		if err := c.checkOperand(i, o); err != nil {
			return fmt.Errorf("operand %d: %w", i, err)
		}
	}
	for i, p := range c.Globs {
		if !validGlob(p) {
			return fmt.Errorf("glob %d %q: %w: malformed pattern", i, p, ErrInvalid)
		}
	}
	c.strSets = make([]map[string]struct{}, len(c.StrSets))
	for i, s := range c.StrSets {
		m := make(map[string]struct{}, len(s))
		for _, v := range s {
			m[v] = struct{}{}
		}
		c.strSets[i] = m
	}
	c.intSets = make([]map[int64]struct{}, len(c.IntSets))
	for i, s := range c.IntSets {
		m := make(map[int64]struct{}, len(s))
		for _, v := range s {
			m[v] = struct{}{}
		}
		c.intSets[i] = m
	}
	c.uintSets = make([]map[uint64]struct{}, len(c.UintSets))
	for i, s := range c.UintSets {
		m := make(map[uint64]struct{}, len(s))
		for _, v := range s {
			m[v] = struct{}{}
		}
		c.uintSets[i] = m
	}
	c.addrSets = make([]map[netip.Addr]struct{}, len(c.AddrSets))
	for i, s := range c.AddrSets {
		m := make(map[netip.Addr]struct{}, len(s))
		for _, v := range s {
			m[v] = struct{}{}
		}
		c.addrSets[i] = m
	}
	c.regexes = make([]*regexp.Regexp, len(c.Regexes))
	for i, p := range c.Regexes {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("regex %d: %w: %v", i, ErrInvalid, err)
		}
		c.regexes[i] = re
	}
	c.trees = make([]*prefixTree, len(c.PrefixTrees))
	for i, paths := range c.PrefixTrees {
		for _, p := range paths {
			if !validGlob(p) {
				return fmt.Errorf("prefix tree %d path %q: %w: malformed pattern", i, p, ErrInvalid)
			}
		}
		c.trees[i] = newPrefixTree(paths)
	}
	for i, m := range c.Mods {
		if !modifiable(m.Op) {
			return fmt.Errorf("modifier %d: %w: opcode %v takes no modifier", i, ErrInvalid, m.Op)
		}
		for _, a := range m.Args {
			if err := c.checkArg(m.Op, a); err != nil {
				return fmt.Errorf("modifier %d: %w", i, err)
			}
		}
	}
	c.prepared = true
	return nil
}

func (c *Consts) checkOperand(i int, o Operand) error {
	switch o.Kind {
	case OperandField:
		if o.Field < 0 || int(o.Field) >= len(c.Fields) {
			return fmt.Errorf("%w: field %d out of range", ErrInvalid, o.Field)
		}
	case OperandTransform, OperandList:
		if o.Kind == OperandTransform && (o.Transform == TransformNone || o.Transform >= transformEnd) {
			return fmt.Errorf("%w: bad transformer %d", ErrInvalid, o.Transform)
		}
		for _, a := range o.Args {
			if a < 0 || int(a) >= i {
				return fmt.Errorf("%w: argument %d is not an earlier operand", ErrInvalid, a)
			}
		}
		if o.Kind == OperandTransform && len(o.Args) == 0 {
			return fmt.Errorf("%w: transformer without arguments", ErrInvalid)
		}
	case OperandConst:
	default:
		return fmt.Errorf("%w: bad operand kind %d", ErrInvalid, o.Kind)
	}
	return nil
}

// modifiable reports whether op is a single-value comparison a modifier may
// apply.
func modifiable(op Opcode) bool {
	switch op {
	case OpEqStr, OpNeStr, OpLtStr, OpLeStr, OpGtStr, OpGeStr, OpContainsStr, OpIContainsStr,
		OpStartsWithStr, OpEndsWithStr, OpGlob, OpIGlob, OpRegex,
		OpEqBytes, OpNeBytes, OpContainsBytes, OpStartsWithBytes, OpEndsWithBytes,
		OpEqInt, OpNeInt, OpLtInt, OpLeInt, OpGtInt, OpGeInt,
		OpEqUint, OpNeUint, OpLtUint, OpLeUint, OpGtUint, OpGeUint,
		OpEqFloat, OpNeFloat, OpLtFloat, OpLeFloat, OpGtFloat, OpGeFloat,
		OpEqBool, OpNeBool, OpEqAddr, OpNeAddr, OpInNet, OpNotInNet, OpCmpDyn:
		return true
	}
	return false
}

// checkArg checks that arg is a valid argument for op.
func (c *Consts) checkArg(op Opcode, arg int32) error {
	n := -1 // table size; -1: any value
	switch op {
	case OpTrue, OpFalse, OpNot, OpReturn, OpExists:
		n = -1
	case OpLoad, OpLoad2:
		n = len(c.Operands)
	case OpEqStr, OpNeStr, OpLtStr, OpLeStr, OpGtStr, OpGeStr, OpContainsStr, OpIContainsStr, OpStartsWithStr, OpEndsWithStr:
		n = len(c.Strings)
	case OpGlob, OpIGlob:
		n = len(c.Globs)
	case OpRegex:
		n = len(c.Regexes)
	case OpInStrSet, OpAllInStrSet, OpInBytesSet:
		n = len(c.StrSets)
	case OpPmatch:
		n = len(c.PrefixTrees)
	case OpEqBytes, OpNeBytes, OpContainsBytes, OpStartsWithBytes, OpEndsWithBytes:
		n = len(c.Bytes)
	case OpEqInt, OpNeInt, OpLtInt, OpLeInt, OpGtInt, OpGeInt:
		n = len(c.Ints)
	case OpInIntSet:
		n = len(c.IntSets)
	case OpEqUint, OpNeUint, OpLtUint, OpLeUint, OpGtUint, OpGeUint:
		n = len(c.Uints)
	case OpInUintSet, OpAllInUintSet:
		n = len(c.UintSets)
	case OpEqFloat, OpNeFloat, OpLtFloat, OpLeFloat, OpGtFloat, OpGeFloat:
		n = len(c.Floats)
	case OpEqBool, OpNeBool:
		n = 2
	case OpEqAddr, OpNeAddr:
		n = len(c.Addrs)
	case OpInAddrSet:
		n = len(c.AddrSets)
	case OpInNet, OpNotInNet:
		n = len(c.Nets)
	case OpInNetSet:
		n = len(c.NetSets)
	case OpCmpDyn:
		n = len(c.Dyns)
	case OpCmpRegs:
		n = int(cmpEnd)
		if arg == int32(CmpInvalid) {
			return fmt.Errorf("%w: invalid comparison", ErrInvalid)
		}
	case OpOneOf, OpAnyOf, OpAllOf:
		n = len(c.Mods)
	default:
		return fmt.Errorf("%w: unknown opcode %d", ErrInvalid, op)
	}
	if n >= 0 && (arg < 0 || int(arg) >= n) {
		return fmt.Errorf("%w: %v argument %d out of range [0,%d)", ErrInvalid, op, arg, n)
	}
	return nil
}

// Validate checks that p can be evaluated safely: parallel arrays of the
// same length, every argument in range, every jump forward and inside the
// program, and a final [OpReturn]. It prepares the pool if needed.
func (p *Program) Validate() error {
	if p.Consts == nil {
		return fmt.Errorf("%w: no constant pool", ErrInvalid)
	}
	if err := p.Consts.Prepare(); err != nil {
		return err
	}
	n := len(p.Code)
	if len(p.Args) != n || len(p.Locs) != n {
		return fmt.Errorf("%w: %d instructions, %d arguments, %d locations", ErrInvalid, n, len(p.Args), len(p.Locs))
	}
	if n == 0 || p.Code[n-1] != OpReturn {
		return fmt.Errorf("%w: program does not end with RETURN", ErrInvalid)
	}
	for pc, op := range p.Code {
		arg := p.Args[pc]
		switch op {
		case OpJumpIfFalse, OpJumpIfTrue:
			if arg <= 0 || int64(pc)+1+int64(arg) >= int64(n) {
				return fmt.Errorf("%w: %04d: jump %d out of range", ErrInvalid, pc, arg)
			}
			continue
		}
		if err := p.Consts.checkArg(op, arg); err != nil {
			return fmt.Errorf("%04d: %w", pc, err)
		}
	}
	return nil
}

// Disassemble renders the program one instruction a line: address,
// mnemonic, argument and what the argument refers to (field, constant, jump
// target), aligned with a tabwriter.
func (p *Program) Disassemble() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	for pc, op := range p.Code {
		var arg int32
		if pc < len(p.Args) {
			arg = p.Args[pc]
		}
		fmt.Fprintf(w, "%04d\t%v\t%d\t%s\n", pc, op, arg, p.describe(pc, op, arg))
	}
	w.Flush()
	lines := strings.SplitAfter(b.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, " \n") {
			lines[i] = strings.TrimRight(l, " \n") + "\n"
		}
	}
	return strings.Join(lines, "")
}

// describe explains the argument of instruction pc.
func (p *Program) describe(pc int, op Opcode, arg int32) string {
	c := p.Consts
	if c == nil {
		c = &Consts{}
	}
	if err := c.checkArg(op, arg); err != nil && op != OpJumpIfFalse && op != OpJumpIfTrue {
		return "?"
	}
	switch op {
	case OpJumpIfFalse, OpJumpIfTrue:
		return fmt.Sprintf("-> %04d", pc+1+int(arg))
	case OpLoad, OpLoad2:
		return c.OperandString(int(arg))
	case OpEqBool, OpNeBool:
		return strconv.FormatBool(arg != 0)
	case OpCmpRegs:
		return CmpOp(arg).String()
	case OpOneOf, OpAnyOf, OpAllOf:
		m := c.Mods[arg]
		parts := make([]string, len(m.Args))
		for i, a := range m.Args {
			parts[i] = c.constString(m.Op, a)
		}
		return m.Op.String() + " " + listString(parts)
	}
	return c.constString(op, arg)
}

// constString renders constant arg of the table op reads.
func (c *Consts) constString(op Opcode, arg int32) string {
	if c.checkArg(op, arg) != nil {
		return "?"
	}
	switch op {
	case OpEqStr, OpNeStr, OpLtStr, OpLeStr, OpGtStr, OpGeStr, OpContainsStr, OpIContainsStr, OpStartsWithStr, OpEndsWithStr:
		return strconv.Quote(c.Strings[arg])
	case OpGlob, OpIGlob:
		return strconv.Quote(c.Globs[arg])
	case OpRegex:
		return strconv.Quote(c.Regexes[arg])
	case OpInStrSet, OpAllInStrSet, OpInBytesSet:
		return quoteList(c.StrSets[arg])
	case OpPmatch:
		return quoteList(c.PrefixTrees[arg])
	case OpEqBytes, OpNeBytes, OpContainsBytes, OpStartsWithBytes, OpEndsWithBytes:
		return fmt.Sprintf("%q", c.Bytes[arg])
	case OpEqInt, OpNeInt, OpLtInt, OpLeInt, OpGtInt, OpGeInt:
		return strconv.FormatInt(c.Ints[arg], 10)
	case OpInIntSet:
		return listString(mapStrings(c.IntSets[arg], func(v int64) string { return strconv.FormatInt(v, 10) }))
	case OpEqUint, OpNeUint, OpLtUint, OpLeUint, OpGtUint, OpGeUint:
		return strconv.FormatUint(c.Uints[arg], 10)
	case OpInUintSet, OpAllInUintSet:
		return listString(mapStrings(c.UintSets[arg], func(v uint64) string { return strconv.FormatUint(v, 10) }))
	case OpEqFloat, OpNeFloat, OpLtFloat, OpLeFloat, OpGtFloat, OpGeFloat:
		return strconv.FormatFloat(c.Floats[arg], 'g', -1, 64)
	case OpEqBool, OpNeBool:
		return strconv.FormatBool(arg != 0)
	case OpEqAddr, OpNeAddr:
		return c.Addrs[arg].String()
	case OpInAddrSet:
		return listString(mapStrings(c.AddrSets[arg], netip.Addr.String))
	case OpInNet, OpNotInNet:
		return c.Nets[arg].String()
	case OpInNetSet:
		return listString(mapStrings(c.NetSets[arg], netip.Prefix.String))
	case OpCmpDyn:
		d := c.Dyns[arg]
		return d.Op.String() + " " + strconv.Quote(d.Text)
	}
	return ""
}

// OperandString renders operand i as it is written in a condition:
// "proc.name", "toupper(basename(proc.exepath))".
func (c *Consts) OperandString(i int) string {
	var b strings.Builder
	c.writeOperand(&b, i, 0)
	return b.String()
}

func (c *Consts) writeOperand(b *strings.Builder, i, depth int) {
	if i < 0 || i >= len(c.Operands) || depth > 64 {
		b.WriteString("?")
		return
	}
	o := c.Operands[i]
	switch o.Kind {
	case OperandField:
		if o.Field < 0 || int(o.Field) >= len(c.Fields) {
			b.WriteString("?")
			return
		}
		b.WriteString(c.Fields[o.Field].String())
	case OperandConst:
		b.WriteString(strconv.Quote(o.Const))
	case OperandTransform, OperandList:
		if o.Kind == OperandTransform {
			b.WriteString(o.Transform.String())
		}
		b.WriteByte('(')
		for k, a := range o.Args {
			if k > 0 {
				b.WriteString(", ")
			}
			c.writeOperand(b, int(a), depth+1)
		}
		b.WriteByte(')')
		if o.HasTransformArg {
			b.WriteString("[" + o.TransformArg + "]")
		}
	default:
		b.WriteString("?")
	}
}

const maxListShown = 8

func quoteList(s []string) string {
	return listString(mapStrings(s, strconv.Quote))
}

func listString(s []string) string {
	if len(s) > maxListShown {
		return "(" + strings.Join(s[:maxListShown], ", ") + fmt.Sprintf(", ... %d more)", len(s)-maxListShown)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func mapStrings[T any](s []T, f func(T) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
