package vm

import (
	"net/netip"
	"testing"
)

// allocPool loads every transformer and compares the results, so that
// TestZeroAllocs covers transformer buffers, regexes, globs, pmatch and
// sets.
func allocPool() (*Consts, *Program) {
	c := &Consts{
		Fields: []FieldRef{{Name: "s", Index: -1}, {Name: "l", Index: -1}, {Name: "a", Index: -1}, {Name: "b", Index: -1}},
		Operands: []Operand{
			{Kind: OperandField, Field: 0}, // 0 string
			{Kind: OperandField, Field: 1}, // 1 list
			{Kind: OperandField, Field: 2}, // 2 addr
			{Kind: OperandField, Field: 3}, // 3 b64 text
			{Kind: OperandConst, Const: "c:v"},
			{Kind: OperandTransform, Transform: TransformToUpper, Args: []int32{0}},
			{Kind: OperandTransform, Transform: TransformBasename, Args: []int32{0}},
			{Kind: OperandTransform, Transform: TransformB64, Args: []int32{3}},
			{Kind: OperandTransform, Transform: TransformJoin, Args: []int32{4, 1}},
			{Kind: OperandTransform, Transform: TransformConcat, Args: []int32{0, 4, 0}},
			{Kind: OperandTransform, Transform: TransformGetopt, Args: []int32{1, 4}, TransformArg: "c", HasTransformArg: true},
			{Kind: OperandTransform, Transform: TransformGetopt, Args: []int32{1, 4}},
			{Kind: OperandTransform, Transform: TransformLen, Args: []int32{1}},
			{Kind: OperandTransform, Transform: TransformToLower, Args: []int32{1}},
		},
		Strings:     []string{"/USR/BIN/BASH", "bash", "hello", "id"},
		Uints:       []uint64{4},
		StrSets:     [][]string{{"id"}, {"-v", "-c", "id", "x"}},
		NetSets:     [][]netip.Prefix{{netip.MustParsePrefix("10.0.0.0/8")}},
		Globs:       []string{"*/b?sh"},
		Regexes:     []string{"^(?:/usr/.*)$"},
		PrefixTrees: [][]string{{"/usr/bin"}},
	}
	p := &Program{Consts: c}
	add := func(op Opcode, arg int32) {
		p.Code = append(p.Code, op)
		p.Args = append(p.Args, arg)
		p.Locs = append(p.Locs, Location{})
	}
	// Every leaf is true for the event of TestZeroAllocs; they are
	// chained with JUMP_IF_FALSE to the final RETURN.
	leaves := [][3]int32{
		{5, int32(OpEqStr), 0}, {6, int32(OpEqStr), 1}, {7, int32(OpEqStr), 2}, {8, int32(OpContainsStr), 3},
		{9, int32(OpEndsWithStr), 1}, {10, int32(OpInStrSet), 0}, {11, int32(OpExists), 0},
		{12, int32(OpEqUint), 0}, {13, int32(OpAllInStrSet), 1}, {0, int32(OpGlob), 0}, {0, int32(OpRegex), 0},
		{0, int32(OpPmatch), 0}, {2, int32(OpInNetSet), 0}, {1, int32(OpEqStr), 3},
	}
	var jumps []int
	for _, l := range leaves {
		add(OpLoad, l[0])
		add(Opcode(l[1]), l[2])
		jumps = append(jumps, len(p.Code))
		add(OpJumpIfFalse, 0)
	}
	add(OpTrue, 0)
	for _, j := range jumps {
		p.Args[j] = int32(len(p.Code) - j - 1)
	}
	add(OpReturn, 0)
	return c, p
}

type sliceEnv []Value

func (e sliceEnv) Extract(id int, v *Value) bool {
	*v = e[id]
	return true
}

func TestZeroAllocs(t *testing.T) {
	c, p := allocPool()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	env := sliceEnv{
		{Kind: KindString, S: "/usr/bin/bash"},
		{Kind: KindList, L: []string{"-v", "-c", "id", "x"}},
		{Kind: KindAddr, A: netip.MustParseAddr("10.1.2.3")},
		{Kind: KindString, S: "aGVsbG8="},
	}
	var got bool
	allocs := testing.AllocsPerRun(200, func() {
		m.BeginEvent()
		got, err = m.Eval(p, &env)
	})
	if err != nil || !got {
		t.Fatalf("Eval = %v, %v; want true\n%s", got, err, p.Disassemble())
	}
	if allocs != 0 {
		t.Errorf("%v allocations per evaluation, want 0", allocs)
	}
}

func BenchmarkVMTransforms(b *testing.B) {
	c, p := allocPool()
	m, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	env := sliceEnv{
		{Kind: KindString, S: "/usr/bin/bash"},
		{Kind: KindList, L: []string{"-v", "-c", "id", "x"}},
		{Kind: KindAddr, A: netip.MustParseAddr("10.1.2.3")},
		{Kind: KindString, S: "aGVsbG8="},
	}
	b.ReportAllocs()
	var got bool
	for b.Loop() {
		m.BeginEvent()
		got, err = m.Eval(p, &env)
	}
	if err != nil || !got {
		b.Fatalf("Eval = %v, %v", got, err)
	}
}
