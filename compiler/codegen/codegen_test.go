package codegen

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

func run(t *testing.T, g *Generator, p *vm.Program, vals map[string]vm.Value) bool {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v\n%s", err, p.Disassemble())
	}
	m, err := vm.New(g.Consts())
	if err != nil {
		t.Fatal(err)
	}
	m.BeginEvent()
	got, err := m.Eval(p, &env{c: g.Consts(), vals: vals})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConditions(t *testing.T) {
	type event = map[string]vm.Value
	shell := event{"proc.name": sv("bash"), "fd.name": sv("/etc/shadow")}
	cases := []struct {
		name   string
		expr   func(t *testing.T) check.Expr
		events []event
		want   []bool
	}{
		{"eq and startswith",
			func(t *testing.T) check.Expr {
				return and(cmpv(fld(t, "proc.name"), syntax.OpEq, s("bash")), cmpv(fld(t, "fd.name"), syntax.OpStartsWith, s("/etc/")))
			},
			[]event{shell, {"proc.name": sv("bash"), "fd.name": sv("/tmp/x")}, {"proc.name": sv("bash")}},
			[]bool{true, false, false}},
		{"ne on missing is false, not of eq on missing is true",
			func(t *testing.T) check.Expr {
				return or(cmpv(fld(t, "fd.name"), syntax.OpNe, s("x")), not(cmpv(fld(t, "proc.name"), syntax.OpEq, s("x"))))
			},
			[]event{{}, {"fd.name": sv("x"), "proc.name": sv("x")}},
			[]bool{true, false}},
		{"in set and intersects on a list field",
			func(t *testing.T) check.Expr {
				return and(cmpv(fld(t, "proc.name"), syntax.OpIn, strs("sh", "bash", "zsh")...),
					cmpv(fld(t, "fd.types"), syntax.OpIntersects, strs("ipv4", "ipv6")...))
			},
			[]event{{"proc.name": sv("sh"), "fd.types": {Kind: vm.KindList, L: []string{"file", "ipv4"}}},
				{"proc.name": sv("sh"), "fd.types": {Kind: vm.KindList, L: []string{"file"}}}},
			[]bool{true, false}},
		{"in on a list field means every element",
			func(t *testing.T) check.Expr {
				return cmpv(fld(t, "fd.types"), syntax.OpIn, strs("file", "ipv4")...)
			},
			[]event{{"fd.types": {Kind: vm.KindList, L: []string{"file", "ipv4"}}},
				{"fd.types": {Kind: vm.KindList, L: []string{"file", "unix"}}}},
			[]bool{true, false}},
		{"pmatch, glob, regex, icontains",
			func(t *testing.T) check.Expr {
				return and(cmpv(fld(t, "fd.name"), syntax.OpPmatch, strs("/etc", "/var/run")...),
					cmpv(fld(t, "fd.name"), syntax.OpGlob, s("/etc/*ad*")),
					cmpv(fld(t, "fd.name"), syntax.OpRegex, re("/etc/s[a-z]+")),
					cmpv(fld(t, "fd.name"), syntax.OpIContains, s("SHAD")))
			},
			[]event{shell, {"fd.name": sv("/etc/passwd")}},
			[]bool{true, false}},
		{"numbers, bool, addresses, networks",
			func(t *testing.T) check.Expr {
				return and(cmpv(fld(t, "fd.sport"), syntax.OpIn, u(22), u(80)),
					cmpv(fld(t, "proc.pid"), syntax.OpGt, i(1)),
					cmpv(fld(t, "proc.is_exe_upper_layer"), syntax.OpEq, bv(true)),
					cmpv(fld(t, "fd.sip"), syntax.OpNe, ip("127.0.0.1")),
					cmpv(fld(t, "fd.snet"), syntax.OpIn, cidr("10.0.0.0/8"), cidr("192.168.0.0/16")))
			},
			[]event{
				{"fd.sport": {Kind: vm.KindUint, U: 22}, "proc.pid": {Kind: vm.KindInt, I: 7}, "proc.is_exe_upper_layer": {Kind: vm.KindBool, U: 1},
					"fd.sip": {Kind: vm.KindAddr, A: netip.MustParseAddr("10.1.1.1")}, "fd.snet": {Kind: vm.KindAddr, A: netip.MustParseAddr("10.1.1.1")}},
				{"fd.sport": {Kind: vm.KindUint, U: 22}, "proc.pid": {Kind: vm.KindInt, I: 7}, "proc.is_exe_upper_layer": {Kind: vm.KindBool, U: 1},
					"fd.sip": {Kind: vm.KindAddr, A: netip.MustParseAddr("10.1.1.1")}, "fd.snet": {Kind: vm.KindAddr, A: netip.MustParseAddr("172.16.1.1")}},
			},
			[]bool{true, false}},
		{"modifiers",
			func(t *testing.T) check.Expr {
				return and(modv(fld(t, "proc.name"), syntax.OpStartsWith, syntax.ModOneOf, strs("ba", "b")...),
					modv(fld(t, "fd.name"), syntax.OpNe, syntax.ModAllOf, strs("/a", "/b")...),
					modv(fld(t, "fd.name"), syntax.OpEq, syntax.ModAnyOf, strs("/etc/shadow", "/b")...))
			},
			[]event{shell, {"proc.name": sv("bb"), "fd.name": sv("/etc/shadow")}},
			[]bool{false, true}},
		{"transformers and field comparison",
			func(t *testing.T) check.Expr {
				up := xf("toupper", catalog.TypeString, xf("basename", catalog.TypeString, fld(t, "fd.name")))
				return and(cmpv(up, syntax.OpEq, s("SHADOW")),
					&check.Cmp{Left: fld(t, "proc.name"), Op: syntax.OpEq, Right: fldArg(t, "proc.aname", "1")})
			},
			[]event{{"fd.name": sv("/etc/shadow"), "proc.name": sv("bash"), "proc.aname[1]": sv("bash")},
				{"fd.name": sv("/etc/shadow"), "proc.name": sv("bash"), "proc.aname[1]": sv("sshd")}},
			[]bool{true, false}},
		{"constants fold",
			func(t *testing.T) check.Expr {
				return or(&check.Const{Value: false}, and(&check.Const{Value: true}, cmpv(fld(t, "proc.name"), syntax.OpExists)))
			},
			[]event{shell, {}},
			[]bool{true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := New()
			p, err := g.Condition(tc.expr(t))
			if err != nil {
				t.Fatal(err)
			}
			for k, ev := range tc.events {
				if got := run(t, g, p, ev); got != tc.want[k] {
					t.Errorf("event %d: got %v, want %v\n%s", k, got, tc.want[k], p.Disassemble())
				}
			}
		})
	}
}

func TestDisassembly(t *testing.T) {
	g := New()
	e := and(
		cmpv(fld(t, "proc.name"), syntax.OpIn, strs("sh", "bash")...),
		or(cmpv(fld(t, "fd.name"), syntax.OpStartsWith, s("/etc/")), not(cmpv(fld(t, "evt.arg.flags"), syntax.OpContains, s("O_RDONLY")))),
		cmpv(fld(t, "fd.name"), syntax.OpIn, strs("bash", "sh")...), // same set as the first: pooled
	)
	p, err := g.Condition(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `0000 LOAD           0 proc.name
0001 IN_STR_SET     0 ("bash", "sh")
0002 JUMP_IF_FALSE  9 -> 0012
0003 LOAD           1 fd.name
0004 STARTSWITH_STR 0 "/etc/"
0005 JUMP_IF_TRUE   4 -> 0010
0006 LOAD           2 evt.arg[flags]
0007 CONTAINS_STR   1 "O_RDONLY"
0008 NOT            0
0009 JUMP_IF_FALSE  2 -> 0012
0010 LOAD           1 fd.name
0011 IN_STR_SET     0 ("bash", "sh")
0012 RETURN         0
`
	if diff := cmp.Diff(want, p.Disassemble()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPooling(t *testing.T) {
	g := New()
	for range 2 {
		if _, err := g.Condition(and(cmpv(fld(t, "proc.name"), syntax.OpEq, s("a")),
			cmpv(xf("tolower", catalog.TypeString, fld(t, "proc.name")), syntax.OpIn, strs("x", "y")...))); err != nil {
			t.Fatal(err)
		}
	}
	c := g.Consts()
	got := struct {
		Fields   []vm.FieldRef
		Operands []vm.Operand
		Strings  []string
		StrSets  [][]string
	}{c.Fields, c.Operands, c.Strings, c.StrSets}
	want := struct {
		Fields   []vm.FieldRef
		Operands []vm.Operand
		Strings  []string
		StrSets  [][]string
	}{
		[]vm.FieldRef{{Name: "proc.name", Index: -1}},
		[]vm.Operand{{Kind: vm.OperandField}, {Kind: vm.OperandTransform, Transform: vm.TransformToLower, Args: []int32{0}}},
		[]string{"a"},
		[][]string{{"x", "y"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOutput(t *testing.T) {
	g := New()
	tm := &check.Template{Format: "%proc.name opened %toupper(fd.name)", Segments: []check.Segment{
		{Value: fld(t, "proc.name"), Token: "proc.name", Width: 10},
		{Text: " opened "},
		{Value: xf("toupper", catalog.TypeString, fld(t, "fd.name")), Token: "toupper(fd.name)"},
	}}
	got, err := g.Output(tm)
	if err != nil {
		t.Fatal(err)
	}
	want := vm.Template{Format: tm.Format, Segments: []vm.Segment{
		{Operand: 0, Token: "proc.name", Width: 10},
		{Text: " opened ", Operand: -1},
		{Operand: 2, Token: "toupper(fd.name)"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	m, err := vm.New(g.Consts())
	if err != nil {
		t.Fatal(err)
	}
	m.BeginEvent()
	v, ok := m.Operand(&env{c: g.Consts(), vals: map[string]vm.Value{"fd.name": sv("/tmp/a")}}, 2)
	if !ok || v.S != "/TMP/A" {
		t.Errorf("operand 2 = %v, %v; want \"/TMP/A\", true", v, ok)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		expr func(t *testing.T) check.Expr
		want string
	}{
		{"nil", func(*testing.T) check.Expr { return nil }, "compile condition: unsupported: empty condition"},
		{"contains on numbers", func(t *testing.T) check.Expr { return cmpv(fld(t, "proc.pid"), syntax.OpContains, i(1)) },
			"compile condition: unsupported: operator contains on this field type"},
		{"unknown transformer", func(t *testing.T) check.Expr {
			return cmpv(xf("rot13", catalog.TypeString, fld(t, "proc.name")), syntax.OpEq, s("x"))
		}, `compile condition: unsupported: transformer "rot13"`},
		{"pmatch with a field", func(t *testing.T) check.Expr {
			return &check.Cmp{Left: fld(t, "proc.name"), Op: syntax.OpPmatch, Right: fld(t, "fd.name")}
		}, "compile condition: unsupported: pmatch with a field on the right"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Condition(tc.expr(t))
			if err == nil {
				t.Fatal("nil error")
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%v is not ErrUnsupported", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
