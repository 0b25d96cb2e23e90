package syntax

// SetOrigin sets the Origin of every Pos in the tree rooted at e to origin:
// a tree parsed with one Options.Origin becomes the tree Parse returns
// with another. It lets a caller parse before it knows the origin (the
// rules loader parses conditions in parallel, then numbers them in
// order). The tree is modified in place; nodes shared within it are
// harmless, the change being the same for each.
func SetOrigin(e Expr, origin int) {
	if e != nil {
		setExprOrigin(e, origin)
	}
}

func setExprOrigin(e Expr, origin int) {
	switch n := e.(type) {
	case *And:
		n.Pos.Origin = origin
		for _, t := range n.Terms {
			setExprOrigin(t, origin)
		}
	case *Or:
		n.Pos.Origin = origin
		for _, t := range n.Terms {
			setExprOrigin(t, origin)
		}
	case *Not:
		n.Pos.Origin = origin
		setExprOrigin(n.X, origin)
	case *Ident:
		n.Pos.Origin = origin
	case *Compare:
		n.Pos.Origin = origin
		setOperandOrigin(n.Left, origin)
		setOperandOrigin(n.Right, origin)
	}
}

func setOperandOrigin(o Operand, origin int) {
	switch n := o.(type) {
	case *Field:
		n.Pos.Origin = origin
	case *Transform:
		n.Pos.Origin = origin
		for _, a := range n.Args {
			setOperandOrigin(a, origin)
		}
	case *ValRef:
		n.Pos.Origin = origin
		if n.Field != nil {
			n.Field.Pos.Origin = origin
		}
	case *Literal:
		n.Pos.Origin = origin
	case *List:
		n.Pos.Origin = origin
		for _, it := range n.Items {
			setOperandOrigin(it, origin)
		}
	}
}
