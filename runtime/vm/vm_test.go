package vm

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEnv serves field values by id and counts extractions.
type fakeEnv struct {
	vals  map[int]Value
	calls map[int]int
}

func (e *fakeEnv) Extract(id int, v *Value) bool {
	if e.calls != nil {
		e.calls[id]++
	}
	x, ok := e.vals[id]
	if ok {
		*v = x
	}
	return ok
}

func str(s string) Value           { return Value{Kind: KindString, S: s} }
func list(s ...string) Value       { return Value{Kind: KindList, L: s} }
func i64(i int64) Value            { return Value{Kind: KindInt, I: i} }
func u64(u uint64) Value           { return Value{Kind: KindUint, U: u} }
func addr(s string) Value          { return Value{Kind: KindAddr, A: netip.MustParseAddr(s)} }
func bytesv(b string) Value        { return Value{Kind: KindBytes, B: []byte(b)} }
func boolv(b bool) (v Value)       { v.SetBool(b); return v }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// testConsts has one field (id 0) and operand 0 loading it, plus whatever
// constants the case adds.
func testConsts() *Consts {
	return &Consts{
		Fields:   []FieldRef{{Name: "f", Index: -1}},
		Operands: []Operand{{Kind: OperandField, Field: 0}},
	}
}

// leaf builds LOAD 0; op arg; RETURN.
func leaf(c *Consts, op Opcode, arg int32) *Program {
	return &Program{
		Code:   []Opcode{OpLoad, op, OpReturn},
		Args:   []int32{0, arg, 0},
		Locs:   make([]Location, 3),
		Consts: c,
	}
}

func eval(t *testing.T, p *Program, env Env) bool {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	m, err := New(p.Consts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.BeginEvent()
	got, err := m.Eval(p, env)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	return got
}

func TestOperators(t *testing.T) {
	type tc struct {
		name  string
		op    Opcode
		setup func(c *Consts) int32 // adds the constant, returns the argument
		val   Value
		want  bool
	}
	strc := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Strings = append(c.Strings, s); return int32(len(c.Strings) - 1) }
	}
	set := func(s ...string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.StrSets = append(c.StrSets, s); return int32(len(c.StrSets) - 1) }
	}
	glob := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Globs = append(c.Globs, s); return int32(len(c.Globs) - 1) }
	}
	re := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Regexes = append(c.Regexes, s); return int32(len(c.Regexes) - 1) }
	}
	tree := func(s ...string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.PrefixTrees = append(c.PrefixTrees, s); return int32(len(c.PrefixTrees) - 1) }
	}
	bc := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Bytes = append(c.Bytes, []byte(s)); return int32(len(c.Bytes) - 1) }
	}
	ic := func(i int64) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Ints = append(c.Ints, i); return int32(len(c.Ints) - 1) }
	}
	uc := func(u uint64) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Uints = append(c.Uints, u); return int32(len(c.Uints) - 1) }
	}
	fc := func(f float64) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Floats = append(c.Floats, f); return int32(len(c.Floats) - 1) }
	}
	ac := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 {
			c.Addrs = append(c.Addrs, netip.MustParseAddr(s))
			return int32(len(c.Addrs) - 1)
		}
	}
	nc := func(s string) func(c *Consts) int32 {
		return func(c *Consts) int32 { c.Nets = append(c.Nets, prefix(s)); return int32(len(c.Nets) - 1) }
	}
	none := func(c *Consts) int32 { return 0 }
	one := func(c *Consts) int32 { return 1 }
	cases := []tc{
		{"exists", OpExists, none, str("x"), true},
		{"eq str", OpEqStr, strc("bash"), str("bash"), true},
		{"eq str no", OpEqStr, strc("bash"), str("sh"), false},
		{"eq str wrong kind", OpEqStr, strc("1"), u64(1), false},
		{"ne str", OpNeStr, strc("bash"), str("sh"), true},
		{"ne str equal", OpNeStr, strc("bash"), str("bash"), false},
		{"lt str", OpLtStr, strc("b"), str("a"), true},
		{"le str", OpLeStr, strc("b"), str("b"), true},
		{"gt str", OpGtStr, strc("b"), str("a"), false},
		{"ge str", OpGeStr, strc("b"), str("c"), true},
		{"contains", OpContainsStr, strc("ell"), str("hello"), true},
		{"contains no", OpContainsStr, strc("xyz"), str("hello"), false},
		{"icontains", OpIContainsStr, strc("ell"), str("hELLo"), true},
		{"startswith", OpStartsWithStr, strc("/etc/"), str("/etc/passwd"), true},
		{"startswith no", OpStartsWithStr, strc("/etc/"), str("/etcx"), false},
		{"endswith", OpEndsWithStr, strc(".so"), str("libc.so"), true},
		{"glob star crosses slash", OpGlob, glob("/usr/*"), str("/usr/local/bin/x"), true},
		{"glob question", OpGlob, glob("a?c"), str("abc"), true},
		{"glob class", OpGlob, glob("[a-c]x"), str("bx"), true},
		{"glob negated class", OpGlob, glob("[!a-c]x"), str("bx"), false},
		{"glob case", OpGlob, glob("ABC"), str("abc"), false},
		{"iglob", OpIGlob, glob("ab*"), str("ABCD"), true},
		{"regex anchored", OpRegex, re(`^(?:a+b)$`), str("aab"), true},
		{"regex anchored no partial", OpRegex, re(`^(?:a+b)$`), str("aabx"), false},
		{"in set", OpInStrSet, set("bash", "sh"), str("sh"), true},
		{"in set no", OpInStrSet, set("bash", "sh"), str("zsh"), false},
		{"in set list some (intersects)", OpInStrSet, set("a", "b"), list("x", "b"), true},
		{"in set list none", OpInStrSet, set("a", "b"), list("x", "y"), false},
		{"all in set list", OpAllInStrSet, set("a", "b"), list("a", "b"), true},
		{"all in set list not all", OpAllInStrSet, set("a", "b"), list("a", "c"), false},
		{"all in set empty list", OpAllInStrSet, set("a"), list(), true},
		{"list any element eq", OpEqStr, strc("b"), list("a", "b"), true},
		{"pmatch", OpPmatch, tree("/var/run", "/etc"), str("/var/run/docker.sock"), true},
		{"pmatch exact", OpPmatch, tree("/var/run"), str("/var/run"), true},
		{"pmatch not component", OpPmatch, tree("/var/run"), str("/var/runner"), false},
		{"pmatch glob component", OpPmatch, tree("/home/*/.ssh"), str("/home/bob/.ssh/id_rsa"), true},
		{"pmatch glob one component", OpPmatch, tree("/home/*/.ssh"), str("/home/bob/x/.ssh"), false},
		{"pmatch root", OpPmatch, tree("/"), str("/anything"), true},
		{"eq bytes", OpEqBytes, bc("\xca\xfe"), bytesv("\xca\xfe"), true},
		{"ne bytes", OpNeBytes, bc("\xca\xfe"), bytesv("\xca"), true},
		{"bcontains", OpContainsBytes, bc("\xfe\xba"), bytesv("\xca\xfe\xba\xbe"), true},
		{"bstartswith", OpStartsWithBytes, bc("\xca"), bytesv("\xca\xfe"), true},
		{"bendswith", OpEndsWithBytes, bc("\xfe"), bytesv("\xca\xfe"), true},
		{"in bytes set", OpInBytesSet, set("ab", "cd"), bytesv("cd"), true},
		{"eq int", OpEqInt, ic(-1), i64(-1), true},
		{"ne int", OpNeInt, ic(-1), i64(0), true},
		{"lt int", OpLtInt, ic(0), i64(-5), true},
		{"le int", OpLeInt, ic(0), i64(1), false},
		{"gt int", OpGtInt, ic(0), i64(1), true},
		{"ge int", OpGeInt, ic(3), i64(3), true},
		{"int op on uint value", OpEqInt, ic(7), u64(7), true},
		{"eq uint", OpEqUint, uc(22), u64(22), true},
		{"ne uint", OpNeUint, uc(22), u64(22), false},
		{"lt uint", OpLtUint, uc(1024), u64(80), true},
		{"le uint", OpLeUint, uc(1024), u64(1024), true},
		{"gt uint", OpGtUint, uc(1024), u64(80), false},
		{"ge uint", OpGeUint, uc(1024), u64(2048), true},
		{"uint op negative int", OpGeUint, uc(0), i64(-1), false},
		{"eq float", OpEqFloat, fc(1.5), Value{Kind: KindDouble, U: 0x3ff8000000000000}, true},
		{"lt float", OpLtFloat, fc(1.5), u64(1), true},
		{"eq bool", OpEqBool, one, boolv(true), true},
		{"eq bool false", OpEqBool, none, boolv(true), false},
		{"ne bool", OpNeBool, one, boolv(false), true},
		{"eq addr", OpEqAddr, ac("10.0.0.1"), addr("10.0.0.1"), true},
		{"eq addr mapped", OpEqAddr, ac("10.0.0.1"), addr("::ffff:10.0.0.1"), true},
		{"ne addr", OpNeAddr, ac("10.0.0.1"), addr("10.0.0.2"), true},
		{"in net", OpInNet, nc("10.0.0.0/8"), addr("10.1.2.3"), true},
		{"in net no", OpInNet, nc("10.0.0.0/8"), addr("11.1.2.3"), false},
		{"not in net", OpNotInNet, nc("10.0.0.0/8"), addr("11.1.2.3"), true},
		{"in net v6", OpInNet, nc("fe80::/10"), addr("fe80::1"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConsts()
			arg := tc.setup(c)
			p := leaf(c, tc.op, arg)
			if got := eval(t, p, &fakeEnv{vals: map[int]Value{0: tc.val}}); got != tc.want {
				t.Errorf("%v %s: got %v, want %v", tc.val, p.Disassemble(), got, tc.want)
			}
			// A missing field makes every comparison false.
			c2 := testConsts()
			p2 := leaf(c2, tc.op, tc.setup(c2))
			if got := eval(t, p2, &fakeEnv{}); got {
				t.Errorf("missing field: got true, want false")
			}
		})
	}
}

func TestSets(t *testing.T) {
	c := testConsts()
	c.IntSets = [][]int64{{-1, 5}}
	c.UintSets = [][]uint64{{22, 80}}
	c.AddrSets = [][]netip.Addr{{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1")}}
	c.NetSets = [][]netip.Prefix{{prefix("10.0.0.0/8"), prefix("192.168.0.0/16")}}
	cases := []struct {
		name string
		op   Opcode
		val  Value
		want bool
	}{
		{"int in", OpInIntSet, i64(-1), true},
		{"int not in", OpInIntSet, i64(4), false},
		{"uint in", OpInUintSet, u64(80), true},
		{"uint not in", OpInUintSet, u64(81), false},
		{"uint set with int value", OpInUintSet, i64(22), true},
		{"uint set with a numeric list", OpInUintSet, list("7", "80"), true},
		{"uint set with a numeric list, none in", OpInUintSet, list("7", "x", "81"), false},
		{"all in uint set", OpAllInUintSet, list("22", "80"), true},
		{"all in uint set, one out", OpAllInUintSet, list("22", "81"), false},
		{"all in uint set, not a number", OpAllInUintSet, list("22", "x"), false},
		{"all in uint set, one value", OpAllInUintSet, u64(80), true},
		{"addr in", OpInAddrSet, addr("::1"), true},
		{"addr not in", OpInAddrSet, addr("10.0.0.2"), false},
		{"net set", OpInNetSet, addr("192.168.4.4"), true},
		{"net set no", OpInNetSet, addr("172.16.0.1"), false},
		{"net set wrong kind", OpInNetSet, str("10.0.0.1"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := leaf(c, tc.op, 0)
			if got := eval(t, p, &fakeEnv{vals: map[int]Value{0: tc.val}}); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if got := eval(t, p, &fakeEnv{}); got {
				t.Errorf("missing field: got true")
			}
		})
	}
}

func TestModifiers(t *testing.T) {
	c := testConsts()
	c.Strings = []string{"a", "ab", "abc", "x"}
	c.Mods = []Mod{
		{Op: OpStartsWithStr, Args: []int32{0, 1, 3}}, // startswith (a, ab, x)
		{Op: OpNeStr, Args: []int32{0, 3}},            // != (a, x)
	}
	cases := []struct {
		name string
		op   Opcode
		arg  int32
		val  Value
		want bool
	}{
		{"anyof", OpAnyOf, 0, str("abz"), true},
		{"anyof none", OpAnyOf, 0, str("zzz"), false},
		{"oneof exactly one", OpOneOf, 0, str("az"), true},
		{"oneof two", OpOneOf, 0, str("abz"), false},
		{"oneof none", OpOneOf, 0, str("z"), false},
		{"allof", OpAllOf, 1, str("b"), true},
		{"allof one fails", OpAllOf, 1, str("a"), false},
		{"anyof list lhs", OpAnyOf, 0, list("q", "xy"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := leaf(c, tc.op, tc.arg)
			if got := eval(t, p, &fakeEnv{vals: map[int]Value{0: tc.val}}); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if got := eval(t, p, &fakeEnv{}); got {
				t.Errorf("missing field: got true")
			}
		})
	}
}

func TestDynAndRegs(t *testing.T) {
	c := testConsts()
	c.Fields = append(c.Fields, FieldRef{Name: "g", Index: -1})
	c.Operands = append(c.Operands, Operand{Kind: OperandField, Field: 1})
	c.Dyns = []Dyn{{Op: CmpEq, Text: "5", Int: 5, IsInt: true}, {Op: CmpContains, Text: "RDWR"}}
	dyn := func(arg int32, v Value) bool {
		return eval(t, leaf(c, OpCmpDyn, arg), &fakeEnv{vals: map[int]Value{0: v}})
	}
	if !dyn(0, u64(5)) || !dyn(0, i64(5)) || !dyn(0, str("5")) || dyn(0, u64(6)) {
		t.Error("dyn = 5 mismatch")
	}
	if !dyn(1, str("O_RDWR|O_CREAT")) || dyn(1, str("O_RDONLY")) {
		t.Error("dyn contains mismatch")
	}
	regs := func(op CmpOp, a, b *Value) bool {
		p := &Program{
			Code:   []Opcode{OpLoad, OpLoad2, OpCmpRegs, OpReturn},
			Args:   []int32{0, 1, int32(op), 0},
			Locs:   make([]Location, 4),
			Consts: c,
		}
		vals := map[int]Value{}
		if a != nil {
			vals[0] = *a
		}
		if b != nil {
			vals[1] = *b
		}
		return eval(t, p, &fakeEnv{vals: vals})
	}
	s1, s2, n1, n2 := str("bash"), str("ba"), u64(3), i64(-3)
	cases := []struct {
		name string
		op   CmpOp
		a, b *Value
		want bool
	}{
		{"eq strings", CmpEq, &s1, &s1, true},
		{"startswith", CmpStartsWith, &s1, &s2, true},
		{"ne numbers", CmpNe, &n1, &n2, true},
		{"gt numbers mixed sign", CmpGt, &n1, &n2, true},
		{"lt numbers mixed sign", CmpLt, &n1, &n2, false},
		{"rhs missing", CmpNe, &s1, nil, false},
		{"lhs missing", CmpNe, nil, &s1, false},
		{"kind mismatch", CmpEq, &s1, &n1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := regs(tc.op, tc.a, tc.b); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestControl checks and/or/not short-circuit and that fields are
// extracted once per event across programs.
func TestControl(t *testing.T) {
	c := testConsts()
	c.Strings = []string{"a", "b"}
	// not (f = a) or f = b, compiled with a jump.
	p := &Program{
		Code:   []Opcode{OpLoad, OpEqStr, OpNot, OpJumpIfTrue, OpLoad, OpEqStr, OpReturn},
		Args:   []int32{0, 0, 0, 2, 0, 1, 0},
		Locs:   make([]Location, 7),
		Consts: c,
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	env := &fakeEnv{vals: map[int]Value{0: str("a")}, calls: map[int]int{}}
	m.BeginEvent()
	for range 3 {
		got, err := m.Eval(p, env)
		if err != nil || got {
			t.Fatalf("f=a: got %v, %v; want false", got, err)
		}
	}
	if env.calls[0] != 1 {
		t.Errorf("extracted %d times in one event, want 1", env.calls[0])
	}
	env.vals[0] = str("b")
	m.BeginEvent()
	if got, _ := m.Eval(p, env); !got {
		t.Errorf("f=b: got false, want true")
	}
	if env.calls[0] != 2 {
		t.Errorf("extracted %d times in two events, want 2", env.calls[0])
	}
	// Missing: not (missing = a) is true.
	delete(env.vals, 0)
	m.BeginEvent()
	if got, _ := m.Eval(p, env); !got {
		t.Errorf("missing: got false, want true (not of a false comparison)")
	}
}

func TestTransforms(t *testing.T) {
	type tc struct {
		name string
		// build adds operands after operand 0 (the field) and returns the
		// operand to test.
		build func(c *Consts) int32
		val   *Value
		want  Value
		ok    bool
	}
	tr := func(t Transform, args ...int32) func(c *Consts) int32 {
		return func(c *Consts) int32 {
			c.Operands = append(c.Operands, Operand{Kind: OperandTransform, Transform: t, Args: args})
			return int32(len(c.Operands) - 1)
		}
	}
	withConst := func(s string, then func(c *Consts, k int32) int32) func(c *Consts) int32 {
		return func(c *Consts) int32 {
			c.Operands = append(c.Operands, Operand{Kind: OperandConst, Const: s})
			return then(c, int32(len(c.Operands)-1))
		}
	}
	getopt := func(opts string, arg string, has bool) func(c *Consts) int32 {
		return withConst(opts, func(c *Consts, k int32) int32 {
			c.Operands = append(c.Operands, Operand{Kind: OperandTransform, Transform: TransformGetopt,
				Args: []int32{0, k}, TransformArg: arg, HasTransformArg: has})
			return int32(len(c.Operands) - 1)
		})
	}
	v := func(x Value) *Value { return &x }
	cases := []tc{
		{"tolower", tr(TransformToLower, 0), v(str("BaSh")), str("bash"), true},
		{"toupper", tr(TransformToUpper, 0), v(str("BaSh")), str("BASH"), true},
		{"toupper list", tr(TransformToUpper, 0), v(list("a", "b")), list("A", "B"), true},
		{"toupper missing", tr(TransformToUpper, 0), nil, Value{}, false},
		{"basename", tr(TransformBasename, 0), v(str("/usr/bin/bash")), str("bash"), true},
		{"basename trailing slash", tr(TransformBasename, 0), v(str("/usr/bin/")), str(""), true},
		{"basename no slash", tr(TransformBasename, 0), v(str("bash")), str("bash"), true},
		{"b64", tr(TransformB64, 0), v(str("aGVsbG8=")), str("hello"), true},
		{"b64 unpadded", tr(TransformB64, 0), v(str("aGVsbG8")), str("hello"), true},
		{"b64 invalid", tr(TransformB64, 0), v(str("!!!")), Value{}, false},
		{"len string", tr(TransformLen, 0), v(str("abcd")), u64(4), true},
		{"len list", tr(TransformLen, 0), v(list("a", "b")), u64(2), true},
		{"len missing", tr(TransformLen, 0), nil, Value{}, false},
		{"nested", func(c *Consts) int32 { k := tr(TransformBasename, 0)(c); return tr(TransformToUpper, k)(c) },
			v(str("/bin/sh")), str("SH"), true},
		{"join", withConst(",", func(c *Consts, k int32) int32 { return tr(TransformJoin, k, 0)(c) }),
			v(list("a", "b", "c")), str("a,b,c"), true},
		{"concat", withConst("-x", func(c *Consts, k int32) int32 { return tr(TransformConcat, 0, k, 0)(c) }),
			v(str("a")), str("a-xa"), true},
		{"concat missing", withConst("-x", func(c *Consts, k int32) int32 { return tr(TransformConcat, 0, k)(c) }),
			nil, Value{}, false},
		{"getopt value", getopt("c:v", "c", true), v(list("-v", "-c", "id", "x")), str("id"), true},
		{"getopt attached value", getopt("c:v", "c", true), v(str("-vcid x")), str("id"), true},
		{"getopt flag", getopt("c:v", "v", true), v(list("-v", "-c", "id")), str(""), true},
		{"getopt absent", getopt("c:v", "v", true), v(list("-c", "id")), Value{}, false},
		{"getopt stops at operand", getopt("c:v", "v", true), v(list("x", "-v")), Value{}, false},
		{"getopt list", getopt("c:v", "", false), v(list("-v", "-q", "-c", "id")), list("v", "c"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConsts()
			id := tc.build(c)
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			env := &fakeEnv{vals: map[int]Value{}}
			if tc.val != nil {
				env.vals[0] = *tc.val
			}
			m.BeginEvent()
			got, ok := m.load(env, int(id))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tc.want.String(), got.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.OperandString(int(id)), diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	c := testConsts()
	c.Strings = []string{"a"}
	cases := []struct {
		name string
		p    *Program
		want string
	}{
		{"no pool", &Program{}, "invalid program: no constant pool"},
		{"empty", &Program{Consts: c}, "invalid program: program does not end with RETURN"},
		{"lengths", &Program{Code: []Opcode{OpReturn}, Consts: c}, "invalid program: 1 instructions, 0 arguments, 0 locations"},
		{"string out of range", leaf(c, OpEqStr, 1), "0001: invalid program: EQ_STR argument 1 out of range [0,1)"},
		{"operand out of range", &Program{Code: []Opcode{OpLoad, OpReturn}, Args: []int32{5, 0}, Locs: make([]Location, 2), Consts: c},
			"0000: invalid program: LOAD argument 5 out of range [0,1)"},
		{"jump past end", &Program{Code: []Opcode{OpJumpIfTrue, OpReturn}, Args: []int32{1, 0}, Locs: make([]Location, 2), Consts: c},
			"invalid program: 0000: jump 1 out of range"},
		{"backward jump", &Program{Code: []Opcode{OpTrue, OpJumpIfTrue, OpReturn}, Args: []int32{0, -2, 0}, Locs: make([]Location, 3), Consts: c},
			"invalid program: 0001: jump -2 out of range"},
		{"bad opcode", &Program{Code: []Opcode{OpEnd, OpReturn}, Args: []int32{0, 0}, Locs: make([]Location, 2), Consts: c},
			"0000: invalid program: unknown opcode 66"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if err == nil {
				t.Fatal("Validate: nil error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct {
		name string
		c    *Consts
		want string
	}{
		{"operand cycle", &Consts{Operands: []Operand{{Kind: OperandTransform, Transform: TransformLen, Args: []int32{0}}}},
			"operand 0: invalid program: argument 0 is not an earlier operand"},
		{"field out of range", &Consts{Operands: []Operand{{Kind: OperandField, Field: 3}}},
			"operand 0: invalid program: field 3 out of range"},
		{"regex", &Consts{Regexes: []string{"("}},
			"regex 0: invalid program: error parsing regexp: missing closing ): `(`"},
		{"modifier", &Consts{Mods: []Mod{{Op: OpInStrSet}}},
			"modifier 0: invalid program: opcode IN_STR_SET takes no modifier"},
		{"modifier arg", &Consts{Mods: []Mod{{Op: OpEqStr, Args: []int32{0}}}},
			"modifier 0: invalid program: EQ_STR argument 0 out of range [0,0)"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Prepare()
			if err == nil {
				t.Fatal("Prepare: nil error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDisassemble(t *testing.T) {
	c := testConsts()
	c.Operands = append(c.Operands, Operand{Kind: OperandTransform, Transform: TransformToUpper, Args: []int32{0}})
	c.Strings = []string{"BASH"}
	c.StrSets = [][]string{{"a", "b"}}
	c.Mods = []Mod{{Op: OpStartsWithStr, Args: []int32{0}}}
	p := &Program{
		Code:   []Opcode{OpLoad, OpEqStr, OpJumpIfFalse, OpLoad, OpInStrSet, OpJumpIfFalse, OpAnyOf, OpReturn},
		Args:   []int32{1, 0, 4, 0, 0, 1, 0, 0},
		Locs:   make([]Location, 8),
		Consts: c,
	}
	want := `0000 LOAD          1 toupper(f)
0001 EQ_STR        0 "BASH"
0002 JUMP_IF_FALSE 4 -> 0007
0003 LOAD          0 f
0004 IN_STR_SET    0 ("a", "b")
0005 JUMP_IF_FALSE 1 -> 0007
0006 ANYOF         0 STARTSWITH_STR ("BASH")
0007 RETURN        0
`
	if diff := cmp.Diff(want, p.Disassemble()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
