package syntax

import (
	"regexp"
	"strings"
)

// Format renders a node in canonical form, the way Falco prints a compiled
// condition (`condition_compiled`): every and/or in parentheses, single
// blanks, `not x`, `f = v`, `f in (a, b)`, `f exists`, transformers as
// calls, and values quoted with "..." only when they need it.
//
// For any condition s, Parse(Format(Parse(s))) is equal to Parse(s) up to
// positions and the Quoted flag of literals. A nil node formats as "".
func Format(n Node) string {
	var b strings.Builder
	format(&b, n)
	return b.String()
}

// numberRE matches what the lexer reads as a number or hex number.
var numberRE = regexp.MustCompile(`^(?:` + reHex + `|` + reNumber + `)$`)

func format(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *And:
		formatTerms(b, n.Terms, " and ")
	case *Or:
		formatTerms(b, n.Terms, " or ")
	case *Not:
		// "not not x" would read back as x: each 'not' toggles.
		if _, ok := n.X.(*Not); ok {
			b.WriteString("not (")
			format(b, n.X)
			b.WriteByte(')')
			return
		}
		b.WriteString("not ")
		format(b, n.X)
	case *Ident:
		b.WriteString(n.Name)
	case *Compare:
		format(b, n.Left)
		b.WriteByte(' ')
		b.WriteString(string(n.Op))
		if n.Mod != ModNone {
			b.WriteByte(' ')
			b.WriteString(string(n.Mod))
		}
		if n.Right != nil {
			b.WriteByte(' ')
			format(b, n.Right)
		}
	case *Field:
		b.WriteString(n.Name)
		if n.HasArg {
			formatArg(b, n.Arg)
		}
	case *Transform:
		b.WriteString(n.Name)
		b.WriteByte('(')
		for i, a := range n.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			formatTransformerArg(b, a)
		}
		b.WriteByte(')')
		if n.HasIndex {
			formatArg(b, n.Index)
		}
	case *ValRef:
		b.WriteString("val(")
		if n.Field != nil {
			format(b, n.Field)
		}
		b.WriteByte(')')
	case *Literal:
		if needsQuotes(n.Value) {
			b.WriteString(quote(n.Value))
		} else {
			b.WriteString(n.Value)
		}
	case *List:
		if n.Name != "" && len(n.Items) == 0 {
			b.WriteString(n.Name)
			return
		}
		b.WriteByte('(')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, it)
		}
		b.WriteByte(')')
	}
}

func formatTerms(b *strings.Builder, terms []Expr, sep string) {
	b.WriteByte('(')
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		format(b, t)
	}
	b.WriteByte(')')
}

// formatTransformerArg renders a transformer argument: there, strings are
// always quoted (a bare word would be read as a field).
func formatTransformerArg(b *strings.Builder, n Operand) {
	switch n := n.(type) {
	case *Literal:
		if !n.Quoted && numberRE.MatchString(n.Value) {
			b.WriteString(n.Value)
		} else {
			b.WriteString(quote(n.Value))
		}
	case *List:
		b.WriteByte('(')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			formatTransformerArg(b, it)
		}
		b.WriteByte(')')
	default:
		format(b, n)
	}
}

// formatArg renders `[arg]`, quoting the argument unless it is a valid bare
// field argument.
func formatArg(b *strings.Builder, arg string) {
	b.WriteByte('[')
	if arg == "" || strings.ContainsAny(arg, "[]\"' \t\n\v\f\r\b\\") || hasControl(arg) {
		b.WriteString(quote(arg))
	} else {
		b.WriteString(arg)
	}
	b.WriteByte(']')
}

// needsQuotes reports whether a value must be quoted to read back as the
// same bare string.
func needsQuotes(v string) bool {
	return v == "" || strings.ContainsAny(v, "()\"',= \t\n\v\f\r\b") || hasControl(v)
}

func hasControl(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return true
		}
	}
	return false
}
