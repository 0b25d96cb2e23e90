package check

import "github.com/falcoc/falcoc/compiler/syntax"

// Hand-built syntax trees for the tests. Every node gets the position
// given as a byte offset on line 1 (Column = offset + 1), so that tests can
// assert which node an issue points at.

func at(off int) syntax.Pos { return syntax.Pos{Offset: off, Line: 1, Column: off + 1} }

func fld(off int, name string) *syntax.Field { return &syntax.Field{Pos: at(off), Name: name} }

func fldArg(off int, name, arg string) *syntax.Field {
	return &syntax.Field{Pos: at(off), Name: name, Arg: arg, HasArg: true}
}

func lit(off int, v string) *syntax.Literal { return &syntax.Literal{Pos: at(off), Value: v} }

func qlit(off int, v string) *syntax.Literal {
	return &syntax.Literal{Pos: at(off), Value: v, Quoted: true}
}

// list builds a value list at off; its items are placed at off+1+10*i.
func list(off int, vs ...string) *syntax.List {
	l := &syntax.List{Pos: at(off)}
	for i, v := range vs {
		l.Items = append(l.Items, lit(off+1+10*i, v))
	}
	return l
}

func tr(off int, name string, args ...syntax.Operand) *syntax.Transform {
	return &syntax.Transform{Pos: at(off), Name: name, Args: args}
}

func val(off int, f *syntax.Field) *syntax.ValRef { return &syntax.ValRef{Pos: at(off), Field: f} }

// cmpx builds `left op right`; the compare takes the left operand's position.
func cmpx(left syntax.Operand, op syntax.Op, right syntax.Operand) *syntax.Compare {
	return &syntax.Compare{Pos: left.Position(), Left: left, Op: op, Right: right}
}

func cmpMod(left syntax.Operand, op syntax.Op, mod syntax.Modifier, right syntax.Operand) *syntax.Compare {
	return &syntax.Compare{Pos: left.Position(), Left: left, Op: op, Mod: mod, Right: right}
}

func and(ts ...syntax.Expr) *syntax.And { return &syntax.And{Pos: ts[0].Position(), Terms: ts} }
func or(ts ...syntax.Expr) *syntax.Or   { return &syntax.Or{Pos: ts[0].Position(), Terms: ts} }
func not(x syntax.Expr) *syntax.Not     { return &syntax.Not{Pos: x.Position(), X: x} }

// evt builds `evt.type = name` or `evt.type in (names...)`.
func evt(names ...string) *syntax.Compare {
	if len(names) == 1 {
		return cmpx(fld(0, "evt.type"), syntax.OpEq, lit(11, names[0]))
	}
	return cmpx(fld(0, "evt.type"), syntax.OpIn, list(12, names...))
}

func evtNe(name string) *syntax.Compare {
	return cmpx(fld(0, "evt.type"), syntax.OpNe, lit(12, name))
}

// other is a comparison on a field other than evt.type.
func other() *syntax.Compare { return cmpx(fld(0, "proc.name"), syntax.OpEq, lit(12, "bash")) }
