package vm

import (
	"net/netip"
	"strings"
	"testing"
)

// refGlob is a slow, obviously correct fnmatch (no flags) used to check
// globMatch: plain recursion over pattern and string.
func refGlob(pat, s string, fold bool) bool {
	if pat == "" {
		return s == ""
	}
	switch pat[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if refGlob(pat[1:], s[i:], fold) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && refGlob(pat[1:], s[1:], fold)
	case '[':
		if n := classLen(pat); n > 0 {
			ok, _ := matchClass(pat, firstByte(s), fold)
			return s != "" && ok && refGlob(pat[n:], s[1:], fold)
		}
	case '\\':
		if len(pat) > 1 {
			return s != "" && eqByte(pat[1], s[0], fold) && refGlob(pat[2:], s[1:], fold)
		}
	}
	return s != "" && eqByte(pat[0], s[0], fold) && refGlob(pat[1:], s[1:], fold)
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

func TestGlobEdges(t *testing.T) {
	cases := []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "/a/b", false, true},
		{"/usr/*/bin", "/usr/local/x/bin", false, true},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
		{"*.txt", ".txt", false, true},
		{"?", "", false, false},
		{"[abc", "[abc", false, true},
		{"[abc", "a", false, false},
		{"[]]", "]", false, true},
		{"[!]]", "a", false, true},
		{"[^a]", "a", false, false},
		{"[a-]", "-", false, true},
		{`\*`, "*", false, true},
		{`\*`, "a", false, false},
		{`a\`, `a\`, false, true},
		{"[A-Z]x", "qX", true, true},
		{"ABC*", "abcdef", true, true},
		{"**a", "bba", false, true},
	}
	for _, tc := range cases {
		if got := globMatch(tc.pat, tc.s, tc.fold); got != tc.want {
			t.Errorf("globMatch(%q, %q, %v) = %v, want %v", tc.pat, tc.s, tc.fold, got, tc.want)
		}
		if got := refGlob(tc.pat, tc.s, tc.fold); got != tc.want {
			t.Errorf("refGlob(%q, %q, %v) = %v, want %v", tc.pat, tc.s, tc.fold, got, tc.want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"/usr/*", "/usr/bin/x"}, {"a[!b-d]*?", "aex"}, {`\[*`, "[x"}, {"*a*a*a", "aaaa"}} {
		f.Add(s[0], s[1], false)
	}
	f.Fuzz(func(t *testing.T, pat, s string, fold bool) {
		if len(pat) > 24 || len(s) > 48 || strings.Count(pat, "*") > 4 {
			return // the reference is exponential in the number of stars
		}
		if got, want := globMatch(pat, s, fold), refGlob(pat, s, fold); got != want {
			t.Errorf("globMatch(%q, %q, %v) = %v, reference says %v", pat, s, fold, got, want)
		}
	})
}

func TestPmatchEdges(t *testing.T) {
	tree := newPrefixTree([]string{"/var/run", "/etc/", "/home/*/.ssh", "relative/dir", "/a//b", "/x/[ab]c"})
	cases := []struct {
		path string
		want bool
	}{
		{"/var/run", true},
		{"/var/run/", true},
		{"/var/run/docker.sock", true},
		{"/var/runner", false},
		{"/var", false},
		{"/etc", true},
		{"/etc/passwd", true},
		{"/etcx", false},
		{"/home/al/.ssh/id", true},
		{"/home/.ssh", false},
		{"relative/dir/x", true},
		{"/relative/dir/x", false},
		{"/a/b/c", true},
		{"/var//run/x", true},
		{"/x/bc/y", true},
		{"/x/cc/y", false},
		{"", false},
		{"/", false},
	}
	for _, tc := range cases {
		if got := tree.match(tc.path); got != tc.want {
			t.Errorf("pmatch %q = %v, want %v", tc.path, got, tc.want)
		}
	}
	if !newPrefixTree([]string{"/"}).match("/any/thing") {
		t.Error(`"/" does not match every absolute path`)
	}
	if newPrefixTree(nil).match("/x") {
		t.Error("empty tree matches")
	}
}

// FuzzVM runs arbitrary instruction streams over a fixed pool: a stream
// either fails validation or evaluates without error, whatever the field
// values (err xor result).
func FuzzVM(f *testing.F) {
	f.Add([]byte{byte(OpLoad), 0, byte(OpEqStr), 0}, "bash", true)
	f.Add([]byte{byte(OpLoad), 1, byte(OpInStrSet), 0, byte(OpJumpIfFalse), 2, byte(OpLoad), 3, byte(OpPmatch), 0}, "/etc/x", false)
	f.Add([]byte{byte(OpLoad), 4, byte(OpLoad2), 0, byte(OpCmpRegs), byte(CmpGlob), byte(OpNot), 0}, "x", true)
	f.Add([]byte{byte(OpLoad), 6, byte(OpAllOf), 0, byte(OpLoad), 2, byte(OpInNetSet), 0}, "-c id", true)
	c := &Consts{
		Fields: []FieldRef{{Name: "s", Index: -1}, {Name: "l", Index: -1}, {Name: "a", Index: -1}, {Name: "n", Index: -1}},
		Operands: []Operand{
			{Kind: OperandField, Field: 0},
			{Kind: OperandField, Field: 1},
			{Kind: OperandField, Field: 2},
			{Kind: OperandField, Field: 3},
			{Kind: OperandTransform, Transform: TransformToUpper, Args: []int32{0}},
			{Kind: OperandConst, Const: "c:v"},
			{Kind: OperandTransform, Transform: TransformGetopt, Args: []int32{1, 5}, TransformArg: "c", HasTransformArg: true},
			{Kind: OperandTransform, Transform: TransformB64, Args: []int32{0}},
			{Kind: OperandTransform, Transform: TransformJoin, Args: []int32{5, 1}},
			{Kind: OperandTransform, Transform: TransformLen, Args: []int32{8}},
		},
		Strings:     []string{"bash", ""},
		Bytes:       [][]byte{{1}},
		Ints:        []int64{-1},
		Uints:       []uint64{7},
		Floats:      []float64{0.5},
		Addrs:       []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Nets:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		StrSets:     [][]string{{"a", "bash"}},
		IntSets:     [][]int64{{1}},
		UintSets:    [][]uint64{{1}},
		AddrSets:    [][]netip.Addr{{netip.MustParseAddr("::1")}},
		NetSets:     [][]netip.Prefix{{netip.MustParsePrefix("fe80::/10")}},
		Globs:       []string{"*a[!b]?"},
		Regexes:     []string{"^(?:b.*)$"},
		PrefixTrees: [][]string{{"/etc", "/home/*/x"}},
		Dyns:        []Dyn{{Op: CmpLt, Text: "3", Int: 3, IsInt: true}},
		Mods:        []Mod{{Op: OpGlob, Args: []int32{0}}, {Op: OpCmpDyn, Args: []int32{0}}},
	}
	if err := c.Prepare(); err != nil {
		f.Fatal(err)
	}
	m, err := New(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, code []byte, s string, present bool) {
		p := &Program{Consts: c}
		for i := 0; i+1 < len(code); i += 2 {
			p.Code = append(p.Code, Opcode(code[i]))
			p.Args = append(p.Args, int32(int8(code[i+1])))
			p.Locs = append(p.Locs, Location{})
		}
		p.Code = append(p.Code, OpReturn)
		p.Args = append(p.Args, 0)
		p.Locs = append(p.Locs, Location{})
		if p.Validate() != nil {
			return
		}
		_ = p.Disassemble()
		env := fuzzEnv{s: s, present: present}
		m.BeginEvent()
		if _, err := m.Eval(p, env); err != nil {
			t.Fatalf("valid program failed: %v\n%s", err, p.Disassemble())
		}
	})
}

type fuzzEnv struct {
	s       string
	present bool
}

func (e fuzzEnv) Extract(id int, v *Value) bool {
	if !e.present {
		return false
	}
	switch id {
	case 0:
		*v = Value{Kind: KindString, S: e.s}
	case 1:
		*v = Value{Kind: KindList, L: []string{e.s, "-c", e.s}}
	case 2:
		*v = Value{Kind: KindAddr, A: netip.AddrFrom4([4]byte{10, 0, 0, byte(len(e.s))})}
	case 3:
		*v = Value{Kind: KindUint, U: uint64(len(e.s))}
	}
	return true
}
