package codegen

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Builders for check IR, so that these tests do not depend on the parser.

func pos(line, col int) syntax.Pos { return syntax.Pos{Line: line, Column: col} }

func fld(t testing.TB, name string) *check.Operand {
	t.Helper()
	f, arg, hasArg, ok := catalog.Lookup(name)
	if !ok {
		t.Fatalf("unknown field %s", name)
	}
	return &check.Operand{Kind: check.OperandField, Field: f, Name: name, Arg: arg, HasArg: hasArg, Index: -1, Type: f.Type,
		List: f.Flags&catalog.FlagList != 0}
}

func fldArg(t testing.TB, name, arg string) *check.Operand {
	o := fld(t, name)
	o.Arg, o.HasArg = arg, true
	if n, err := strconv.Atoi(arg); err == nil {
		o.Index = n
	}
	o.List = false
	return o
}

func xf(name string, typ catalog.Type, args ...*check.Operand) *check.Operand {
	return &check.Operand{Kind: check.OperandTransform, Transform: name, Args: args, Type: typ, Index: -1}
}

func cmpv(l *check.Operand, op syntax.Op, vals ...check.Value) *check.Cmp {
	return &check.Cmp{Pos: pos(1, 1), Left: l, Op: op, Values: vals}
}

func modv(l *check.Operand, op syntax.Op, mod syntax.Modifier, vals ...check.Value) *check.Cmp {
	return &check.Cmp{Pos: pos(1, 1), Left: l, Op: op, Mod: mod, Values: vals}
}

func s(text string) check.Value       { return check.Value{Text: text} }
func re(text string) check.Value      { return check.Value{Text: text, Regex: "^(?:" + text + ")$"} }
func u(n uint64) check.Value          { return check.Value{Text: strconv.FormatUint(n, 10), Uint: n} }
func i(n int64) check.Value           { return check.Value{Text: strconv.FormatInt(n, 10), Int: n, IsInt: true} }
func bv(b bool) check.Value           { return check.Value{Text: strconv.FormatBool(b), Bool: b} }
func ip(a string) check.Value         { return check.Value{Text: a, Addr: netip.MustParseAddr(a)} }
func cidr(p string) check.Value       { return check.Value{Text: p, Net: netip.MustParsePrefix(p)} }
func and(ts ...check.Expr) check.Expr { return &check.And{Pos: pos(1, 1), Terms: ts} }
func or(ts ...check.Expr) check.Expr  { return &check.Or{Pos: pos(1, 1), Terms: ts} }
func not(x check.Expr) check.Expr     { return &check.Not{Pos: pos(1, 1), X: x} }

func strs(vals ...string) []check.Value {
	out := make([]check.Value, len(vals))
	for k, v := range vals {
		out[k] = s(v)
	}
	return out
}

// env serves values by field reference string ("proc.name",
// "proc.aname[2]") for a given pool.
type env struct {
	c    *vm.Consts
	vals map[string]vm.Value
}

func (e *env) Extract(id int, v *vm.Value) bool {
	x, ok := e.vals[e.c.Fields[id].String()]
	if ok {
		*v = x
	}
	return ok
}

func sv(x string) vm.Value { return vm.Value{Kind: vm.KindString, S: x} }
