package check

import (
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// maxTransformDepth bounds transformer nesting; the parser bounds it too,
// but hand-built trees reach the checker as well.
const maxTransformDepth = 100

// transform resolves a transformer call and checks its arguments.
func (c *checker) transform(n *syntax.Transform, depth int) *Operand {
	if depth > maxTransformDepth {
		c.errorf(n.Pos, "transformers nested too deeply")
		return nil
	}
	op := &Operand{Kind: OperandTransform, Pos: n.Pos, Transform: n.Name, Index: -1,
		TransformArg: n.Index, HasTransformArg: n.HasIndex}
	switch n.Name {
	case "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt":
	default:
		c.errorf(n.Pos, "unknown transformer '%s'", n.Name)
		return nil
	}
	ok := true
	for _, a := range n.Args {
		arg := c.transformArg(a, depth+1)
		if arg == nil {
			ok = false
			continue
		}
		op.Args = append(op.Args, arg)
	}
	if !ok {
		return nil
	}
	if n.HasIndex && n.Name != "getopt" {
		c.errorf(n.Pos, "'%s' transformer does not take an argument", n.Name)
		return nil
	}
	if !c.transformRules(op) {
		return nil
	}
	return op
}

// transformArg resolves one transformer argument: a field, a transformer,
// a constant or a list of those.
func (c *checker) transformArg(a syntax.Operand, depth int) *Operand {
	switch n := a.(type) {
	case *syntax.Field:
		if n == nil {
			break
		}
		op := c.field(n)
		if op != nil && op.Field.Flags&catalog.FlagNoTransformer != 0 {
			c.errorf(n.Pos, "field %s does not support transformers", op.Field.Name)
			return nil
		}
		return op
	case *syntax.Transform:
		if n == nil {
			break
		}
		return c.transform(n, depth)
	case *syntax.Literal:
		if n == nil {
			break
		}
		op := &Operand{Kind: OperandConst, Pos: n.Pos, Index: -1, Type: catalog.TypeString,
			Const: Value{Pos: n.Pos, Text: n.Value}}
		if !n.Quoted {
			if i, ok := parseInt(n.Value); ok {
				op.Type = catalog.TypeInt64
				op.Const.Int, op.Const.IsInt = i, true
			}
		}
		return op
	case *syntax.List:
		if n == nil {
			break
		}
		if n.Name != "" {
			c.errorf(n.Pos, msgUnexpectedIdent, n.Name)
			return nil
		}
		op := &Operand{Kind: OperandList, Pos: n.Pos, Index: -1, Type: catalog.TypeString, List: true}
		ok := true
		for _, it := range n.Items {
			item := c.transformArg(it, depth+1)
			if item == nil {
				ok = false
				continue
			}
			if item.Kind == OperandList || item.List {
				c.errorf(item.Pos, "a list cannot contain lists")
				ok = false
				continue
			}
			op.Items = append(op.Items, item)
		}
		if !ok {
			return nil
		}
		return op
	case *syntax.ValRef:
		if n == nil {
			break
		}
		c.errorf(n.Pos, "val() is not allowed inside a transformer")
		return nil
	}
	c.errorf(posOf(a), "missing transformer argument")
	return nil
}

// transformRules applies the per-transformer argument rules and sets the
// result type.
func (c *checker) transformRules(op *Operand) bool {
	name, args := op.Transform, op.Args
	argc := func(want int) bool {
		if len(args) != want {
			c.errorf(op.Pos, "'%s' transformer requires %d argument%s, got %d", name, want, plural(want), len(args))
			return false
		}
		return true
	}
	switch name {
	case "tolower", "toupper", "basename", "b64":
		if !argc(1) {
			return false
		}
		a := args[0]
		ok := isString(a.Type) || (name == "b64" && a.Type == catalog.TypeBytes)
		if !ok || a.Kind == OperandList {
			c.errorf(a.Pos, "'%s' transformer not supported on %s", name, describeType(a))
			return false
		}
		op.Type, op.List = catalog.TypeString, a.List
		if name == "b64" && a.Type == catalog.TypeBytes {
			op.Type = catalog.TypeBytes
		}
	case "len":
		if !argc(1) {
			return false
		}
		a := args[0]
		if !a.List && !isString(a.Type) && a.Type != catalog.TypeBytes {
			c.errorf(a.Pos, "'len' transformer not supported on %s", describeType(a))
			return false
		}
		op.Type = catalog.TypeUint64
	case "join":
		if !argc(2) {
			return false
		}
		sep, list := args[0], args[1]
		if sep.List || sep.Kind == OperandList || !(isString(sep.Type) || sep.Kind == OperandConst) {
			c.errorf(sep.Pos, "'join' transformer requires a single string as separator, got %s", describeType(sep))
			return false
		}
		if !list.List {
			c.errorf(list.Pos, "'join' transformer requires a list as second argument, got %s", describeType(list))
			return false
		}
		op.Type = catalog.TypeString
	case "concat":
		if len(args) < 2 {
			c.errorf(op.Pos, "'concat' transformer requires at least 2 arguments, got %d", len(args))
			return false
		}
		for _, a := range args {
			if a.List || !(isString(a.Type) || a.Kind == OperandConst) {
				c.errorf(a.Pos, "'concat' transformer requires string arguments, got %s", describeType(a))
				return false
			}
		}
		op.Type = catalog.TypeString
	case "getopt":
		if !argc(2) {
			return false
		}
		src, opts := args[0], args[1]
		if src.Kind == OperandConst || !(src.List || isString(src.Type)) {
			c.errorf(src.Pos, "'getopt' transformer requires a field with the arguments, got %s", describeType(src))
			return false
		}
		if opts.Kind != OperandConst {
			c.errorf(opts.Pos, "'getopt' transformer requires a constant option string, got %s", describeType(opts))
			return false
		}
		if op.HasTransformArg {
			o := op.TransformArg
			if len(o) != 1 || o == ":" || !strings.Contains(opts.Const.Text, o) {
				c.errorf(op.Pos, "'getopt' option '%s' is not a single option character of '%s'", o, opts.Const.Text)
				return false
			}
		}
		op.Type = catalog.TypeString
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describeType names an operand's type for messages: "UINT32",
// "a list of CHARBUF", "a list".
func describeType(o *Operand) string {
	switch {
	case o.Kind == OperandList:
		return "a list"
	case o.List:
		return "a list of " + typeName(o.Type)
	}
	return typeName(o.Type)
}
