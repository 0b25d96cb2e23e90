package check

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

func mustCheck(t *testing.T, e syntax.Expr, opts *Options) *Condition {
	t.Helper()
	c, issues := CheckCondition(e, opts)
	if c == nil {
		t.Fatalf("CheckCondition failed: %v", issues)
	}
	return c
}

func TestIRShape(t *testing.T) {
	tests := []struct {
		name string
		expr syntax.Expr
		want string
	}{
		{"and or not", and(evt("open", "openat"), not(or(other(), cmpx(fld(30, "fd.name"), syntax.OpStartsWith, lit(45, "/etc"))))),
			"(evt.type in (open, openat) and not (proc.name = bash or fd.name startswith /etc))"},
		{"exists", cmpx(fld(0, "proc.name"), syntax.OpExists, nil), "proc.name exists"},
		{"bracket argument", cmpx(fldArg(0, "proc.aname", "2"), syntax.OpEq, lit(17, "sshd")), "proc.aname[2] = sshd"},
		{"dotted argument", cmpx(fld(0, "evt.arg.flags"), syntax.OpContains, lit(23, "O_TRUNC")), "evt.arg.flags contains O_TRUNC"},
		{"val", cmpx(fld(0, "proc.name"), syntax.OpEq, val(12, fld(16, "proc.pname"))), "proc.name = val(proc.pname)"},
		{"transformers", cmpx(tr(0, "toupper", tr(8, "basename", fld(17, "proc.exepath"))), syntax.OpEq, tr(40, "tolower", fld(48, "proc.name"))),
			"toupper(basename(proc.exepath)) = tolower(proc.name)"},
		{"modifier", cmpMod(fld(0, "proc.name"), syntax.OpStartsWith, syntax.ModAnyOf, list(27, "a b", "c")), `proc.name startswith anyof ("a b", c)`},
		{"join", cmpx(tr(0, "join", qlit(5, ","), fld(10, "fd.types")), syntax.OpEq, lit(24, "x")), `join(",", fd.types) = x`},
		{"getopt", cmpx(&syntax.Transform{Pos: at(0), Name: "getopt", Args: []syntax.Operand{fld(7, "proc.args"), qlit(18, "a:")}, Index: "a", HasIndex: true}, syntax.OpEq, lit(30, "x")),
			`getopt(proc.args, "a:")[a] = x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCheck(t, tc.expr, nil)
			if got := Format(c.IR); got != tc.want {
				t.Errorf("Format(IR) = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOperands(t *testing.T) {
	c := mustCheck(t, and(
		cmpx(fldArg(0, "proc.aname", "2"), syntax.OpEq, lit(17, "sshd")),
		cmpx(fld(30, "evt.arg.flags"), syntax.OpContains, lit(53, "O_TRUNC")),
		cmpx(fldArg(70, "evt.arg", "0"), syntax.OpEq, lit(83, "3")),
		cmpx(tr(90, "len", fld(94, "fd.types")), syntax.OpGt, lit(110, "1")),
	), nil)
	terms := c.IR.(*And).Terms
	type view struct {
		Kind      OperandKind
		Pos       syntax.Pos
		Field     string
		Name, Arg string
		HasArg    bool
		Index     int
		Transform string
		Type      catalog.Type
		List      bool
		Args      []view
	}
	var mk func(o *Operand) view
	mk = func(o *Operand) view {
		v := view{Kind: o.Kind, Pos: o.Pos, Name: o.Name, Arg: o.Arg, HasArg: o.HasArg, Index: o.Index,
			Transform: o.Transform, Type: o.Type, List: o.List}
		if o.Field != nil {
			v.Field = o.Field.Name
		}
		for _, a := range o.Args {
			v.Args = append(v.Args, mk(a))
		}
		return v
	}
	var got []view
	for _, t := range terms {
		got = append(got, mk(t.(*Cmp).Left))
	}
	want := []view{
		{Kind: OperandField, Pos: at(0), Field: "proc.aname", Name: "proc.aname", Arg: "2", HasArg: true, Index: 2, Type: catalog.TypeString},
		{Kind: OperandField, Pos: at(30), Field: "evt.arg", Name: "evt.arg.flags", Arg: "flags", HasArg: true, Index: -1, Type: catalog.TypeString},
		{Kind: OperandField, Pos: at(70), Field: "evt.arg", Name: "evt.arg", Arg: "0", HasArg: true, Index: 0, Type: catalog.TypeString},
		{Kind: OperandTransform, Pos: at(90), Transform: "len", Index: -1, Type: catalog.TypeUint64, Args: []view{
			{Kind: OperandField, Pos: at(94), Field: "fd.types", Name: "fd.types", Index: -1, Type: catalog.TypeString, List: true},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operands (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"evt.arg", "evt.arg.flags", "fd.types", "proc.aname"}, c.Fields); diff != "" {
		t.Errorf("Fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"=", ">", "contains"}, c.Operators); diff != "" {
		t.Errorf("Operators (-want +got):\n%s", diff)
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name  string
		field string
		op    syntax.Op
		text  string
		want  Value
	}{
		{"uint decimal", "user.uid", syntax.OpEq, "1000", Value{Text: "1000", Uint: 1000}},
		{"uint hex", "user.uid", syntax.OpEq, "0x10", Value{Text: "0x10", Uint: 16}},
		{"uint plus", "user.uid", syntax.OpEq, "+7", Value{Text: "+7", Uint: 7}},
		{"uint max", "user.uid", syntax.OpEq, "4294967295", Value{Text: "4294967295", Uint: 4294967295}},
		{"uint64 max", "evt.num", syntax.OpEq, "18446744073709551615", Value{Text: "18446744073709551615", Uint: 1<<64 - 1}},
		{"int negative", "evt.rawres", syntax.OpLt, "-2", Value{Text: "-2", Int: -2, IsInt: true}},
		{"int16 min", "evt.cpu", syntax.OpEq, "-32768", Value{Text: "-32768", Int: -32768, IsInt: true}},
		{"int64 min", "evt.rawres", syntax.OpEq, "-9223372036854775808", Value{Text: "-9223372036854775808", Int: -1 << 63, IsInt: true}},
		{"int hex", "proc.pid", syntax.OpEq, "0xff", Value{Text: "0xff", Int: 255, IsInt: true}},
		{"port", "fd.sport", syntax.OpEq, "443", Value{Text: "443", Uint: 443}},
		{"abstime", "evt.rawtime", syntax.OpGt, "1700000000000000000", Value{Text: "1700000000000000000", Uint: 1700000000000000000}},
		{"double", "thread.cpu", syntax.OpGt, "0.5", Value{Text: "0.5", Float: 0.5}},
		{"bool true", "evt.failed", syntax.OpEq, "true", Value{Text: "true", Bool: true}},
		{"bool false", "evt.failed", syntax.OpEq, "false", Value{Text: "false"}},
		{"ipv4", "fd.sip", syntax.OpEq, "10.1.2.3", Value{Text: "10.1.2.3", Addr: netip.MustParseAddr("10.1.2.3")}},
		{"ipv6", "fd.sip", syntax.OpEq, "::1", Value{Text: "::1", Addr: netip.MustParseAddr("::1")}},
		{"ipnet cidr", "fd.net", syntax.OpEq, "10.1.2.3/8", Value{Text: "10.1.2.3/8", Addr: netip.MustParseAddr("10.1.2.3"), Net: netip.MustParsePrefix("10.0.0.0/8")}},
		{"ipnet v4 address", "fd.net", syntax.OpEq, "10.1.2.3", Value{Text: "10.1.2.3", Addr: netip.MustParseAddr("10.1.2.3"), Net: netip.MustParsePrefix("10.1.2.3/32")}},
		{"ipnet v6 address", "fd.net", syntax.OpEq, "fe80::1", Value{Text: "fe80::1", Addr: netip.MustParseAddr("fe80::1"), Net: netip.MustParsePrefix("fe80::1/128")}},
		{"bcontains hex", "evt.buffer", syntax.OpBContains, "CAFEbabe", Value{Text: "CAFEbabe", Bytes: []byte{0xca, 0xfe, 0xba, 0xbe}}},
		{"buffer contains text", "evt.buffer", syntax.OpContains, "GET /", Value{Text: "GET /", Bytes: []byte("GET /")}},
		{"string", "proc.name", syntax.OpEq, "0x10", Value{Text: "0x10"}},
		{"regex", "proc.name", syntax.OpRegex, "ba(sh|t)", Value{Text: "ba(sh|t)", Regex: "^(?:ba(sh|t))$"}},
		{"dynamic number", "evt.rawarg.res", syntax.OpLt, "-1", Value{Text: "-1", Int: -1, IsInt: true}},
		{"dynamic text", "evt.rawarg.name", syntax.OpEq, "/etc", Value{Text: "/etc"}},
		{"dynamic flags", "evt.rawarg.flags", syntax.OpEq, "0x41", Value{Text: "0x41", Uint: 0x41}},
		{"dynamic unknown parameter", "evt.rawarg.nosuchparam", syntax.OpEq, "-5", Value{Text: "-5", Int: -5, IsInt: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCheck(t, cmpx(fld(0, tc.field), tc.op, qlit(30, tc.text)), nil)
			tc.want.Pos = at(30)
			got := c.IR.(*Cmp).Values
			if diff := cmp.Diff([]Value{tc.want}, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
				t.Errorf("Values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		expr syntax.Expr
		want string
	}{
		{"never_true", and(evt("open"), fcmp("evt.num", syntax.OpEq, "0")), "false"},
		{"always_true dropped", and(evt("open"), fcmp("evt.num", syntax.OpGe, "0"), other()), "(evt.type = open and proc.name = bash)"},
		{"or with true", or(evt("open"), fcmp("evt.num", syntax.OpGt, "0")), "true"},
		{"or with false dropped", or(evt("open"), fcmp("evt.num", syntax.OpEq, "0")), "evt.type = open"},
		{"evt.dir exit", and(evt("open"), fcmp("evt.dir", syntax.OpEq, "<")), "evt.type = open"},
		{"evt.dir enter", and(evt("open"), fcmp("evt.dir", syntax.OpEq, ">")), "false"},
		{"evt.dir != enter", and(evt("open"), fcmp("evt.dir", syntax.OpNe, ">")), "evt.type = open"},
		{"not constant", not(fcmp("evt.num", syntax.OpEq, "0")), "true"},
		{"not not", not(not(evt("open"))), "evt.type = open"},
		{"nothing to fold", and(evt("open"), not(other())), "(evt.type = open and not proc.name = bash)"},
		{"nested", or(and(fcmp("evt.num", syntax.OpEq, "0"), other()), and(evt("open"), fcmp("evt.dir", syntax.OpEq, "<"))), "evt.type = open"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCheck(t, tc.expr, nil)
			before := Format(c.IR)
			if got := Format(Fold(c.IR)); got != tc.want {
				t.Errorf("Fold = %s, want %s", got, tc.want)
			}
			if after := Format(c.IR); after != before {
				t.Errorf("Fold modified its input: %s became %s", before, after)
			}
		})
	}
	unchanged := mustCheck(t, and(evt("open"), other()), nil).IR
	if Fold(unchanged) != unchanged {
		t.Errorf("Fold copied a tree with nothing to fold")
	}
}

func TestDynamicTypes(t *testing.T) {
	tests := []struct {
		field string
		want  catalog.Type
	}{
		{"evt.rawarg.res", catalog.TypeInt64},
		{"evt.rawarg.flags", catalog.TypeUint32},
		{"evt.rawarg.name", catalog.TypeFSPath},
		{"evt.rawarg.nosuchparam", catalog.TypeDyn},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			c := mustCheck(t, cmpx(fld(0, tc.field), syntax.OpExists, nil), nil)
			if got := c.IR.(*Cmp).Left.Type; got != tc.want {
				t.Errorf("type = %s, want %s", typeName(got), typeName(tc.want))
			}
		})
	}
}
