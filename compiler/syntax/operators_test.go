package syntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseOperators parses every operator with every kind of right-hand
// side it accepts, and checks the operator, modifier and operand kinds.
func TestParseOperators(t *testing.T) {
	strOps := []Op{OpEq, OpEqEq, OpNe, OpContains, OpIContains, OpBContains, OpStartsWith, OpBStartsWith, OpEndsWith, OpGlob, OpIGlob, OpRegex}
	numOps := []Op{OpLt, OpLe, OpGt, OpGe}
	listOps := []Op{OpIn, OpIntersects, OpPmatch}
	mods := []Modifier{ModOneOf, ModAnyOf, ModAllOf}

	type rhs struct {
		src, canon string
		kind       Operand
	}
	strRHS := []rhs{
		{"abc", "abc", &Literal{}},
		{"/etc/x", "/etc/x", &Literal{}},
		{"'a b'", `"a b"`, &Literal{}},
		{`"q"`, "q", &Literal{}},
		{"val(proc.pname)", "val(proc.pname)", &ValRef{}},
		{"tolower(proc.pname)", "tolower(proc.pname)", &Transform{}},
	}
	numRHS := []rhs{
		{"1", "1", &Literal{}},
		{"0x1f", "0x1f", &Literal{}},
		{"-2.5", "-2.5", &Literal{}},
		{"val(proc.ppid)", "val(proc.ppid)", &ValRef{}},
		{"len(proc.args)", "len(proc.args)", &Transform{}},
	}
	listRHS := []rhs{
		{"(a, 'b c')", `(a, "b c")`, &List{}},
		{"()", "()", &List{}},
		{"my_list", "my_list", &List{}},
		{"val(proc.pname)", "val(proc.pname)", &ValRef{}},
		{"basename(proc.exepath)", "basename(proc.exepath)", &Transform{}},
	}
	modRHS := []rhs{
		{"(a, b)", "(a, b)", &List{}},
		{"()", "()", &List{}},
		{"my_list", "my_list", &List{}},
	}

	type tcase struct {
		in, want string
		op       Op
		mod      Modifier
		kind     Operand
	}
	var cases []tcase
	for _, left := range []string{"proc.name", "proc.aname[1]", "toupper(proc.name)"} {
		for _, op := range strOps {
			for _, r := range strRHS {
				cases = append(cases, tcase{left + " " + string(op) + " " + r.src, left + " " + string(op) + " " + r.canon, op, ModNone, r.kind})
			}
			for _, m := range mods {
				for _, r := range modRHS {
					cases = append(cases, tcase{left + " " + string(op) + " " + string(m) + " " + r.src, left + " " + string(op) + " " + string(m) + " " + r.canon, op, m, r.kind})
				}
			}
		}
		for _, op := range numOps {
			for _, r := range numRHS {
				cases = append(cases, tcase{left + " " + string(op) + " " + r.src, left + " " + string(op) + " " + r.canon, op, ModNone, r.kind})
			}
		}
		for _, op := range listOps {
			for _, r := range listRHS {
				cases = append(cases, tcase{left + " " + string(op) + " " + r.src, left + " " + string(op) + " " + r.canon, op, ModNone, r.kind})
			}
		}
		cases = append(cases, tcase{left + " exists", left + " exists", OpExists, ModNone, nil})
	}

	for _, tc := range cases {
		for _, v := range []struct{ name, sep string }{{"space", " "}, {"tab", "\t"}, {"newline", "\n"}} {
			in := reblank(tc.in, v.sep)
			t.Run(v.name+"/"+tc.in, func(t *testing.T) {
				e, err := Parse(in, nil)
				if err != nil {
					t.Fatalf("Parse(%q): %v", in, err)
				}
				c, ok := e.(*Compare)
				if !ok {
					t.Fatalf("Parse(%q) = %T, want *Compare", in, e)
				}
				if c.Op != tc.op || c.Mod != tc.mod {
					t.Fatalf("Parse(%q): op %q mod %q, want %q %q", in, c.Op, c.Mod, tc.op, tc.mod)
				}
				if d := cmp.Diff(kindOf(tc.kind), kindOf(c.Right)); d != "" {
					t.Fatalf("Parse(%q) right operand kind (-want +got):\n%s", in, d)
				}
				if got := Format(e); got != tc.want {
					t.Fatalf("Format(Parse(%q)) = %q, want %q", in, got, tc.want)
				}
			})
		}
	}
}

func kindOf(n Operand) string {
	switch n.(type) {
	case nil:
		return "none"
	case *Literal:
		return "literal"
	case *List:
		return "list"
	case *ValRef:
		return "val"
	case *Transform:
		return "transform"
	case *Field:
		return "field"
	}
	return "?"
}
