package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/syntax"
)

func errAt(off int, code, msg string) Issue {
	return Issue{Pos: at(off), Msg: msg, Code: code}
}

func warnAt(off int, code, msg string) Issue {
	return Issue{Pos: at(off), Msg: msg, Code: code, Warning: true}
}

const (
	cc = CodeCompileCondition
	uf = CodeUnknownFilter
)

var k8s = &Options{Source: SourceK8sAudit}

func TestCheckConditionIssues(t *testing.T) {
	tests := []struct {
		name string
		expr syntax.Expr
		opts *Options
		want []Issue
		ok   bool // a condition is returned (only warnings)
	}{
		// Fields.
		{name: "unknown field", expr: cmpx(fld(0, "proc.nam"), syntax.OpEq, lit(11, "x")),
			want: []Issue{errAt(0, uf, "filter_check called with nonexistent field proc.nam")}},
		{name: "unknown field with arg", expr: cmpx(fldArg(4, "proc.foo", "2"), syntax.OpEq, lit(20, "x")),
			want: []Issue{errAt(4, uf, "filter_check called with nonexistent field proc.foo[2]")}},
		{name: "unknown field inside val", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, val(12, fld(16, "proc.pnam"))),
			want: []Issue{errAt(16, uf, "filter_check called with nonexistent field proc.pnam")}},
		{name: "unknown fields on both sides", expr: cmpx(fld(0, "proc.nam"), syntax.OpEq, val(12, fld(16, "proc.pnam"))),
			want: []Issue{
				errAt(0, uf, "filter_check called with nonexistent field proc.nam"),
				errAt(16, uf, "filter_check called with nonexistent field proc.pnam"),
			}},
		{name: "syscall field in k8s_audit", opts: k8s, expr: cmpx(fld(0, "proc.name"), syntax.OpEq, lit(12, "x")),
			want: []Issue{errAt(0, uf, "filter_check called with nonexistent field proc.name")}},
		{name: "k8s_audit field in syscall", expr: cmpx(fld(0, "ka.verb"), syntax.OpEq, lit(10, "get")),
			want: []Issue{errAt(0, uf, "filter_check called with nonexistent field ka.verb")}},
		{name: "generic evt field in k8s_audit", opts: k8s, ok: true,
			expr: and(cmpx(fld(0, "ka.verb"), syntax.OpEq, lit(10, "get")), cmpx(fld(20, "evt.num"), syntax.OpGt, lit(30, "3")))},
		{name: "no argument allowed", expr: cmpx(fldArg(0, "proc.name", "1"), syntax.OpEq, lit(15, "x")),
			want: []Issue{errAt(0, cc, "field proc.name does not take an argument")}},
		{name: "argument required", expr: cmpx(fld(0, "evt.arg"), syntax.OpEq, lit(10, "x")),
			want: []Issue{errAt(0, cc, "field evt.arg requires an argument")}},
		{name: "dotted key argument", ok: true, expr: cmpx(fld(0, "evt.arg.flags"), syntax.OpContains, lit(23, "O_TRUNC"))},
		{name: "index argument not a number", expr: cmpx(fldArg(0, "proc.aname", "x"), syntax.OpEq, lit(16, "x")),
			want: []Issue{errAt(0, cc, "field proc.aname requires a numeric index, got 'x'")}},
		{name: "negative index", expr: cmpx(fldArg(0, "proc.aname", "-1"), syntax.OpEq, lit(16, "x")),
			want: []Issue{errAt(0, cc, "field proc.aname requires a numeric index, got '-1'")}},
		{name: "empty argument", expr: cmpx(fldArg(0, "proc.env", ""), syntax.OpEq, lit(16, "x")),
			want: []Issue{errAt(0, cc, "field proc.env: empty argument")}},
		{name: "two arguments", expr: cmpx(fldArg(0, "evt.arg.flags", "0"), syntax.OpEq, lit(20, "x")),
			want: []Issue{errAt(0, cc, "field evt.arg has two arguments: 'flags' and '[0]'")}},
		{name: "identifier", expr: and(other(), &syntax.Ident{Pos: at(22), Name: "my_macro"}),
			want: []Issue{errAt(22, cc, "unexpected identifier 'my_macro'")}},
		{name: "unexpanded list", expr: cmpx(fld(0, "proc.name"), syntax.OpIn, &syntax.List{Pos: at(13), Name: "shell_binaries"}),
			want: []Issue{errAt(13, cc, "unexpected identifier 'shell_binaries'")}},

		// Operators and types.
		{name: "contains on numeric", expr: cmpx(fld(0, "user.uid"), syntax.OpContains, lit(18, "1")),
			want: []Issue{errAt(0, cc, "'contains' operator not supported for numeric filters")}},
		{name: "ordering on bool", expr: cmpx(fld(0, "evt.failed"), syntax.OpLt, lit(13, "true")),
			want: []Issue{errAt(0, cc, "'<' operator not supported for boolean filters")}},
		{name: "contains on ip", expr: cmpx(fld(0, "fd.sip"), syntax.OpContains, lit(16, "1")),
			want: []Issue{errAt(0, cc, "'contains' operator not supported for ip address filters")}},
		{name: "startswith on ipnet", expr: cmpx(fld(0, "fd.net"), syntax.OpStartsWith, lit(18, "10")),
			want: []Issue{errAt(0, cc, "'startswith' operator not supported for ip network filters")}},
		{name: "bcontains on string", expr: cmpx(fld(0, "proc.name"), syntax.OpBContains, lit(20, "41")),
			want: []Issue{errAt(0, cc, "'bcontains' operator not supported for string filters")}},
		{name: "glob on buffer", expr: cmpx(fld(0, "evt.buffer"), syntax.OpGlob, lit(16, "x*")),
			want: []Issue{errAt(0, cc, "'glob' operator not supported for buffer filters")}},
		{name: "pmatch on numeric", expr: cmpx(fld(0, "user.uid"), syntax.OpPmatch, list(16, "1")),
			want: []Issue{errAt(0, cc, "'pmatch' operator not supported for numeric filters")}},
		{name: "list field with =", expr: cmpx(fld(0, "fd.types"), syntax.OpEq, lit(11, "ipv4")),
			want: []Issue{errAt(0, cc, "'=' operator not supported for list filters")}},
		{name: "list field with intersects", ok: true, expr: cmpx(fld(0, "fd.types"), syntax.OpIntersects, list(20, "ipv4", "ipv6"))},
		{name: "list field exists", ok: true, expr: cmpx(fld(0, "ka.user.groups"), syntax.OpExists, nil), opts: k8s},
		{name: "modifier with in", expr: cmpMod(fld(0, "proc.name"), syntax.OpIn, syntax.ModOneOf, list(19, "a", "b")),
			want: []Issue{errAt(0, cc, "'in' operator does not accept the 'oneof' modifier")}},
		{name: "modifier with less", expr: cmpMod(fld(0, "user.uid"), syntax.OpLt, syntax.ModAnyOf, list(19, "1", "2")),
			want: []Issue{errAt(0, cc, "'<' operator does not accept the 'anyof' modifier")}},
		{name: "modifier with one value", expr: cmpMod(fld(0, "proc.name"), syntax.OpStartsWith, syntax.ModAnyOf, lit(27, "a")),
			want: []Issue{errAt(27, cc, "'anyof' modifier requires a list of values")}},
		{name: "modifier on ip", expr: cmpMod(fld(0, "fd.sip"), syntax.OpContains, syntax.ModAnyOf, list(25, "1.1.1.1")),
			want: []Issue{errAt(0, cc, "'contains' operator not supported for ip address filters")}},
		{name: "modifier ok", ok: true, expr: cmpMod(fld(0, "proc.name"), syntax.OpStartsWith, syntax.ModOneOf, list(27, "a", "b"))},
		{name: "list for a scalar operator", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, list(12, "a", "b")),
			want: []Issue{errAt(12, cc, "'=' operator requires a single value, not a list")}},
		{name: "field inside a value list", expr: cmpx(fld(0, "proc.name"), syntax.OpIn, &syntax.List{Pos: at(13), Items: []syntax.Operand{lit(14, "a"), fld(17, "proc.pname")}}),
			want: []Issue{errAt(17, cc, "unexpected Field in a list of values: only constants are allowed")}},
		{name: "bare field on the right", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, fld(12, "proc.pname")),
			want: []Issue{errAt(12, cc, "unexpected field proc.pname on the right of '=': use val(proc.pname)")}},
		{name: "missing value", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, nil),
			want: []Issue{errAt(0, cc, "missing value after '='")}},
		{name: "exists with value", expr: cmpx(fld(0, "proc.name"), syntax.OpExists, lit(17, "x")),
			want: []Issue{errAt(17, cc, "'exists' operator takes no value")}},
		{name: "unknown operator", expr: cmpx(fld(0, "proc.name"), syntax.Op("~="), lit(13, "x")),
			want: []Issue{errAt(0, cc, "unknown operator '~='")}},

		// val() and fields on the right.
		{name: "val ok", ok: true, expr: cmpx(fld(0, "proc.name"), syntax.OpEq, val(12, fld(16, "proc.pname")))},
		{name: "val with pmatch", expr: cmpx(fld(0, "proc.name"), syntax.OpPmatch, val(17, fld(21, "proc.pname"))),
			want: []Issue{errAt(17, cc, "'pmatch' operator not supported with a field on the right-hand side")}},
		{name: "val with regex", expr: cmpx(fld(0, "proc.name"), syntax.OpRegex, val(16, fld(20, "proc.pname"))),
			want: []Issue{errAt(16, cc, "'regex' operator not supported with a field on the right-hand side")}},
		{name: "val with ipnet", expr: cmpx(fld(0, "fd.net"), syntax.OpEq, val(9, fld(13, "fd.sip"))),
			want: []Issue{errAt(9, cc, "IPNET filters cannot be compared with a field")}},
		{name: "val of a no-rhs field", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, val(12, fldArg(16, "proc.aname", "2"))),
			want: []Issue{errAt(16, cc, "field proc.aname cannot be used in val()")}},
		{name: "val of another type", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, val(12, fld(16, "user.uid"))),
			want: []Issue{errAt(12, cc, "cannot compare proc.name (CHARBUF) with user.uid (UINT32)")}},
		{name: "val with a modifier", expr: cmpMod(fld(0, "proc.name"), syntax.OpEq, syntax.ModAnyOf, val(18, fld(22, "proc.pname"))),
			want: []Issue{errAt(18, cc, "'anyof' modifier requires a list of values")}},
		{name: "transformer on both sides", ok: true,
			expr: cmpx(tr(0, "tolower", fld(8, "proc.name")), syntax.OpEq, tr(21, "tolower", fld(29, "proc.pname")))},
		{name: "numeric ordering between fields", ok: true, expr: cmpx(fld(0, "user.uid"), syntax.OpLt, val(11, fld(15, "user.loginuid")))},

		// Transformers.
		{name: "tolower of a number", expr: cmpx(tr(0, "tolower", fld(8, "user.uid")), syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(8, cc, "'tolower' transformer not supported on UINT32")}},
		{name: "toupper arity", expr: cmpx(tr(0, "toupper", fld(8, "proc.name"), fld(19, "proc.pname")), syntax.OpEq, lit(33, "x")),
			want: []Issue{errAt(0, cc, "'toupper' transformer requires 1 argument, got 2")}},
		{name: "basename ok", ok: true, expr: cmpx(tr(0, "basename", fld(9, "proc.exepath")), syntax.OpEq, lit(25, "bash"))},
		{name: "b64 of a buffer", ok: true, expr: cmpx(tr(0, "b64", fld(4, "evt.buffer")), syntax.OpBContains, lit(25, "4142"))},
		{name: "len is numeric", expr: cmpx(tr(0, "len", fld(4, "proc.name")), syntax.OpContains, lit(24, "1")),
			want: []Issue{errAt(0, cc, "'contains' operator not supported for numeric filters")}},
		{name: "len of a list", ok: true, expr: cmpx(tr(0, "len", fld(4, "fd.types")), syntax.OpGt, lit(16, "3"))},
		{name: "len of a number", expr: cmpx(tr(0, "len", fld(4, "user.uid")), syntax.OpGt, lit(16, "3")),
			want: []Issue{errAt(4, cc, "'len' transformer not supported on UINT32")}},
		{name: "join of a scalar", expr: cmpx(tr(0, "join", qlit(5, ","), fld(10, "proc.name")), syntax.OpEq, lit(24, "x")),
			want: []Issue{errAt(10, cc, "'join' transformer requires a list as second argument, got CHARBUF")}},
		{name: "join of a literal list", ok: true,
			expr: cmpx(tr(0, "join", qlit(5, ","), &syntax.List{Pos: at(10), Items: []syntax.Operand{fld(11, "proc.name"), qlit(22, "x")}}), syntax.OpEq, lit(30, "bash,x"))},
		{name: "join with a list separator", expr: cmpx(tr(0, "join", fld(5, "fd.types"), fld(15, "fd.types")), syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(5, cc, "'join' transformer requires a single string as separator, got a list of CHARBUF")}},
		{name: "join arity", expr: cmpx(tr(0, "join", fld(5, "fd.types")), syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(0, cc, "'join' transformer requires 2 arguments, got 1")}},
		{name: "concat arity", expr: cmpx(tr(0, "concat", fld(7, "proc.name")), syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(0, cc, "'concat' transformer requires at least 2 arguments, got 1")}},
		{name: "concat of a number", expr: cmpx(tr(0, "concat", fld(7, "proc.name"), fld(18, "user.uid")), syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(18, cc, "'concat' transformer requires string arguments, got UINT32")}},
		{name: "concat ok", ok: true, expr: cmpx(tr(0, "concat", fld(7, "proc.name"), qlit(18, "/"), fld(23, "proc.pname")), syntax.OpEq, lit(40, "a/b"))},
		{name: "getopt ok", ok: true, expr: cmpx(&syntax.Transform{Pos: at(0), Name: "getopt", Args: []syntax.Operand{fld(7, "proc.args"), qlit(18, "a:c")}, Index: "a", HasIndex: true}, syntax.OpEq, lit(30, "x"))},
		{name: "getopt unknown option", expr: cmpx(&syntax.Transform{Pos: at(0), Name: "getopt", Args: []syntax.Operand{fld(7, "proc.args"), qlit(18, "a:")}, Index: "b", HasIndex: true}, syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(0, cc, "'getopt' option 'b' is not a single option character of 'a:'")}},
		{name: "getopt option string from a field", expr: cmpx(tr(0, "getopt", fld(7, "proc.args"), fld(18, "proc.name")), syntax.OpEq, lit(30, "x")),
			want: []Issue{errAt(18, cc, "'getopt' transformer requires a constant option string, got CHARBUF")}},
		{name: "transformer on a no-transformer field", expr: cmpx(tr(0, "tolower", fld(8, "proc.aname")), syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(8, cc, "field proc.aname does not support transformers")}},
		{name: "argument on tolower", expr: cmpx(&syntax.Transform{Pos: at(0), Name: "tolower", Args: []syntax.Operand{fld(8, "proc.name")}, Index: "1", HasIndex: true}, syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(0, cc, "'tolower' transformer does not take an argument")}},
		{name: "unknown transformer", expr: cmpx(tr(0, "rot13", fld(6, "proc.name")), syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(0, cc, "unknown transformer 'rot13'")}},
		{name: "val inside a transformer", expr: cmpx(tr(0, "tolower", val(8, fld(12, "proc.name"))), syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(8, cc, "val() is not allowed inside a transformer")}},
		{name: "val on the left", expr: cmpx(val(0, fld(4, "proc.name")), syntax.OpEq, lit(21, "x")),
			want: []Issue{errAt(0, cc, "val() is only allowed on the right-hand side of a comparison")}},

		// Values.
		{name: "not a number", expr: cmpx(fld(0, "user.uid"), syntax.OpEq, lit(11, "abc")),
			want: []Issue{errAt(11, cc, "'abc' is not a valid UINT32 value")}},
		{name: "negative unsigned", expr: cmpx(fld(0, "user.uid"), syntax.OpEq, lit(11, "-1")),
			want: []Issue{errAt(11, cc, "'-1' is out of range for UINT32")}},
		{name: "int16 range", expr: cmpx(fld(0, "evt.cpu"), syntax.OpEq, lit(10, "40000")),
			want: []Issue{errAt(10, cc, "'40000' is out of range for INT16")}},
		{name: "int16 low range", expr: cmpx(fld(0, "evt.cpu"), syntax.OpEq, lit(10, "-32769")),
			want: []Issue{errAt(10, cc, "'-32769' is out of range for INT16")}},
		{name: "uint64 range", expr: cmpx(fld(0, "evt.num"), syntax.OpEq, lit(10, "18446744073709551616")),
			want: []Issue{errAt(10, cc, "'18446744073709551616' is not a valid UINT64 value")}},
		{name: "decimal point in an integer", expr: cmpx(fld(0, "evt.num"), syntax.OpEq, lit(10, "1.5")),
			want: []Issue{errAt(10, cc, "'1.5' is not a valid UINT64 value")}},
		{name: "bad bool", expr: cmpx(fld(0, "evt.failed"), syntax.OpEq, lit(13, "yes")),
			want: []Issue{errAt(13, cc, "'yes' is not a valid BOOL value: expected true or false")}},
		{name: "port range", expr: cmpx(fld(0, "fd.sport"), syntax.OpIn, list(12, "80", "70000")),
			want: []Issue{errAt(23, cc, "'70000' is out of range for PORT")}},
		{name: "bad ip", expr: cmpx(fld(0, "fd.sip"), syntax.OpEq, lit(9, "1.2.3")),
			want: []Issue{errAt(9, cc, "'1.2.3' is not a valid IPADDR value")}},
		{name: "bad ipnet", expr: cmpx(fld(0, "fd.net"), syntax.OpEq, lit(9, "10.0.0.0/33")),
			want: []Issue{errAt(9, cc, "'10.0.0.0/33' is not a valid IPNET value")}},
		{name: "bad hex", expr: cmpx(fld(0, "evt.buffer"), syntax.OpBContains, lit(21, "zz")),
			want: []Issue{errAt(21, cc, "'zz' is not a valid hexadecimal string for 'bcontains'")}},
		{name: "odd hex", expr: cmpx(fld(0, "evt.buffer"), syntax.OpBStartsWith, lit(23, "abc")),
			want: []Issue{errAt(23, cc, "'abc' is not a valid hexadecimal string for 'bstartswith'")}},
		{name: "bad double", expr: cmpx(fld(0, "thread.cpu"), syntax.OpGt, lit(13, "x")),
			want: []Issue{errAt(13, cc, "'x' is not a valid DOUBLE value")}},
		{name: "bad regex", expr: cmpx(fld(0, "proc.name"), syntax.OpRegex, qlit(16, "(ab")),
			want: []Issue{errAt(16, cc, "invalid regex pattern: missing closing ): `(ab`")}},
		{name: "bad regex in a modifier list", expr: cmpMod(fld(0, "proc.name"), syntax.OpRegex, syntax.ModAnyOf, list(22, "a.*", "[")),
			want: []Issue{errAt(33, cc, "invalid regex pattern: missing closing ]: `[`")}},
		{name: "unknown event type", expr: evt("opn"),
			want: []Issue{errAt(11, uf, "unknown event type opn")}},
		{name: "unknown event type in a list", expr: evt("open", "bogus"),
			want: []Issue{errAt(23, uf, "unknown event type bogus")}},
		{name: "unknown event type with !=", expr: evtNe("nope"),
			want: []Issue{errAt(12, uf, "unknown event type nope")}},
		{name: "evt.type startswith is not checked", ok: true, expr: cmpx(fld(0, "evt.type"), syntax.OpStartsWith, lit(20, "op"))},

		// Warnings.
		{name: "plain regex", ok: true, expr: and(evt("open"), cmpx(fld(20, "fd.name"), syntax.OpRegex, qlit(34, "abc"))),
			want: []Issue{warnAt(34, CodeConditionWarning, "regex check with 'abc' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'")}},
		{name: "real regex", ok: true, expr: cmpx(fld(0, "fd.name"), syntax.OpRegex, qlit(14, "/tmp/[a-z]+"))},
		{name: "evt.dir", ok: true, expr: and(evt("open"), cmpx(fld(20, "evt.dir"), syntax.OpEq, lit(28, "<"))),
			want: []Issue{warnAt(20, CodeDeprecatedItem, "field evt.dir is deprecated: only exit events are delivered, so evt.dir = '<' is always true and evt.dir = '>' never")}},
		{name: "evt.latency", ok: true, expr: cmpx(fld(0, "evt.latency"), syntax.OpGt, lit(14, "0")),
			want: []Issue{warnAt(0, CodeDeprecatedItem, "field evt.latency is deprecated")}},
		{name: "evt.wait_latency", ok: true, expr: cmpx(fld(0, "evt.wait_latency"), syntax.OpGt, lit(19, "0")),
			want: []Issue{warnAt(0, CodeDeprecatedItem, "field evt.wait_latency is deprecated")}},
		{name: "NA on ka field", ok: true, opts: k8s, expr: cmpx(fld(0, "ka.verb"), syntax.OpEq, qlit(10, "<NA>")),
			want: []Issue{warnAt(10, CodeUnsafeNACheck, "comparing ka.verb with <NA> is unsafe: a missing value is never equal to <NA>; use 'exists' to test for presence")}},
		{name: "NA on jevt field in a list", ok: true, opts: k8s, expr: cmpx(fldArg(0, "jevt.value", "/x"), syntax.OpIn, list(20, "a", "<NA>")),
			want: []Issue{warnAt(31, CodeUnsafeNACheck, "comparing jevt.value with <NA> is unsafe: a missing value is never equal to <NA>; use 'exists' to test for presence")}},
		{name: "NA on a syscall field", ok: true, expr: cmpx(fld(0, "proc.name"), syntax.OpEq, qlit(12, "<NA>"))},
		{name: "warning and error", expr: and(cmpx(fld(0, "evt.dir"), syntax.OpEq, lit(10, "<")), cmpx(fld(20, "proc.nam"), syntax.OpEq, lit(30, "x"))),
			want: []Issue{
				warnAt(0, CodeDeprecatedItem, "field evt.dir is deprecated: only exit events are delivered, so evt.dir = '<' is always true and evt.dir = '>' never"),
				errAt(20, uf, "filter_check called with nonexistent field proc.nam"),
			}},

		{name: "raw flags are numeric", expr: cmpx(fld(0, "evt.rawarg.flags"), syntax.OpContains, lit(26, "O_TRUNC")),
			want: []Issue{errAt(0, cc, "'contains' operator not supported for numeric filters")}},

		// Several errors, in order.
		{name: "errors in order", expr: or(cmpx(fld(0, "user.uid"), syntax.OpEq, lit(11, "x")), not(&syntax.Ident{Pos: at(20), Name: "m"}), evt("opn")),
			want: []Issue{
				errAt(11, cc, "'x' is not a valid UINT32 value"),
				errAt(20, cc, "unexpected identifier 'm'"),
				errAt(11, uf, "unknown event type opn"),
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, issues := CheckCondition(tc.expr, tc.opts)
			if diff := cmp.Diff(tc.want, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if (got != nil) != tc.ok {
				t.Errorf("condition returned = %v, want %v", got != nil, tc.ok)
			}
		})
	}
}

// TestCheckConditionBrokenTrees feeds trees no parser produces: the
// checker must report them, never panic.
func TestCheckConditionBrokenTrees(t *testing.T) {
	var nilField *syntax.Field
	var nilLit *syntax.Literal
	tests := []struct {
		name string
		expr syntax.Expr
		want []Issue
	}{
		{name: "nil", expr: nil, want: []Issue{errAt(-1, cc, "invalid expression: nil")}},
		{name: "typed nil", expr: (*syntax.Compare)(nil), want: []Issue{errAt(-1, cc, "invalid expression: Compare")}},
		{name: "empty and", expr: &syntax.And{Pos: at(3)}, want: []Issue{errAt(3, cc, "invalid expression: empty and/or")}},
		{name: "not of nil", expr: &syntax.Not{Pos: at(3)}, want: []Issue{errAt(-1, cc, "invalid expression: nil")}},
		{name: "nil left", expr: &syntax.Compare{Pos: at(2), Op: syntax.OpEq, Right: lit(5, "x")},
			want: []Issue{errAt(-1, cc, "missing field")}},
		{name: "typed nil left", expr: &syntax.Compare{Pos: at(2), Left: nilField, Op: syntax.OpEq, Right: lit(5, "x")},
			want: []Issue{errAt(-1, cc, "missing field")}},
		{name: "typed nil right", expr: &syntax.Compare{Pos: at(2), Left: fld(2, "proc.name"), Op: syntax.OpEq, Right: nilLit},
			want: []Issue{errAt(2, cc, "missing value after '='")}},
		{name: "val of nothing", expr: cmpx(fld(0, "proc.name"), syntax.OpEq, &syntax.ValRef{Pos: at(12)}),
			want: []Issue{errAt(12, cc, "val() requires a field")}},
		{name: "transformer with a nil argument", expr: cmpx(tr(0, "tolower", nil), syntax.OpEq, lit(12, "x")),
			want: []Issue{errAt(-1, cc, "missing transformer argument")}},
		{name: "literal on the left", expr: cmpx(lit(0, "x"), syntax.OpEq, lit(4, "y")),
			want: []Issue{errAt(0, cc, "unexpected value 'x': a comparison starts with a field")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.want {
				if tc.want[i].Pos.Offset == -1 {
					tc.want[i].Pos = syntax.Pos{}
				}
			}
			got, issues := CheckCondition(tc.expr, nil)
			if diff := cmp.Diff(tc.want, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if got != nil {
				t.Errorf("got a condition for a broken tree")
			}
		})
	}
}
