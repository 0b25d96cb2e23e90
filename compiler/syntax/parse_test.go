package syntax

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "update golden files")

// ignorePos compares ASTs without positions.
var ignorePos = cmpopts.IgnoreTypes(Pos{})

// ignoreQuoted also ignores whether a literal was quoted: Format drops
// quotes that are not needed, as Falco does.
var ignoreQuoted = cmpopts.IgnoreFields(Literal{}, "Quoted")

// reblank replaces every space outside quoted strings with sep.
func reblank(s, sep string) string {
	var b strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			b.WriteByte(s[i])
			continue
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == ' ':
			b.WriteString(sep)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestParseAccept(t *testing.T) {
	for _, tc := range acceptCases {
		for _, v := range []struct{ name, sep string }{{"space", " "}, {"tab", "\t"}, {"newline", "\n"}, {"crlf", "\r\n"}} {
			in := reblank(tc.in, v.sep)
			t.Run(v.name+"/"+tc.in, func(t *testing.T) {
				e, err := Parse(in, nil)
				if err != nil {
					t.Fatalf("Parse(%q): %v", in, err)
				}
				got := Format(e)
				if got != tc.want {
					t.Fatalf("Format(Parse(%q)) = %q, want %q", in, got, tc.want)
				}
				// The canonical form reads back as the same AST.
				again, err := Parse(got, nil)
				if err != nil {
					t.Fatalf("Parse(Format) %q: %v", got, err)
				}
				if d := cmp.Diff(e, again, ignorePos, ignoreQuoted); d != "" {
					t.Fatalf("round trip of %q through %q (-first +second):\n%s", in, got, d)
				}
				if f2 := Format(again); f2 != got {
					t.Fatalf("Format is not stable: %q then %q", got, f2)
				}
			})
		}
	}
}

func TestParseReject(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in, nil)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %q", tc.in, Format(e), tc.want)
			}
			if e != nil {
				t.Fatalf("Parse(%q) returned both %v and %v", tc.in, e, err)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) error is %T, want *Error", tc.in, err)
			}
			if got := err.Error(); got != tc.want {
				t.Fatalf("Parse(%q) error\n got: %s\nwant: %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("(", n) + "a" + strings.Repeat(")", n) }
	tests := []struct {
		name    string
		in      string
		opts    *Options
		wantErr string
	}{
		{"default limit ok", nest(1000), nil, ""},
		{"default limit exceeded", nest(1001), nil, "1:1001: exceeded max depth limit of 1000"},
		{"custom limit ok", nest(3), &Options{MaxDepth: 3}, ""},
		{"custom limit exceeded", nest(4), &Options{MaxDepth: 3}, "1:4: exceeded max depth limit of 3"},
		{"not( counts", "not(not(not(a)))", &Options{MaxDepth: 2}, "1:12: exceeded max depth limit of 2"},
		{"and( counts", "a and(b and(c))", &Options{MaxDepth: 1}, "1:12: exceeded max depth limit of 1"},
		{"lists count", "(proc.name in (a))", &Options{MaxDepth: 1}, "1:15: exceeded max depth limit of 1"},
		{"calls count", "tolower(toupper(proc.name)) = a", &Options{MaxDepth: 1}, "1:9: exceeded max depth limit of 1"},
		{"not chains do not count", strings.Repeat("not ", 5000) + "a", &Options{MaxDepth: 1}, ""},
		{"long and chains do not count", strings.Repeat("a and ", 5000) + "a", &Options{MaxDepth: 1}, ""},
		{"cap", nest(20001), &Options{MaxDepth: 1 << 30}, "1:20001: exceeded max depth limit of 20000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.in, tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %s, want error %q", Format(e), tc.wantErr)
			}
			if got := err.Error(); got != tc.wantErr {
				t.Fatalf("error\n got: %s\nwant: %s", got, tc.wantErr)
			}
		})
	}
}

func TestParseAST(t *testing.T) {
	pos := func(off, line, col int) Pos { return Pos{Offset: off, Line: line, Column: col, Origin: 7} }
	tests := []struct {
		in   string
		want Expr
	}{
		{
			in: "proc.name = bash",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpEq,
				Left:  &Field{Pos: pos(0, 1, 1), Name: "proc.name"},
				Right: &Literal{Pos: pos(12, 1, 13), Value: "bash"}},
		},
		{
			in: "not a and\n  (b or c)",
			want: &And{Pos: pos(0, 1, 1), Terms: []Expr{
				&Not{Pos: pos(0, 1, 1), X: &Ident{Pos: pos(4, 1, 5), Name: "a"}},
				&Or{Pos: pos(13, 2, 4), Terms: []Expr{
					&Ident{Pos: pos(13, 2, 4), Name: "b"},
					&Ident{Pos: pos(18, 2, 9), Name: "c"},
				}},
			}},
		},
		{
			in: "proc.aname[2] startswith oneof ('x y', z)",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpStartsWith, Mod: ModOneOf,
				Left: &Field{Pos: pos(0, 1, 1), Name: "proc.aname", Arg: "2", HasArg: true},
				Right: &List{Pos: pos(31, 1, 32), Items: []Operand{
					&Literal{Pos: pos(32, 1, 33), Value: "x y", Quoted: true},
					&Literal{Pos: pos(39, 1, 40), Value: "z"},
				}}},
		},
		{
			in: "fd.name in my_list",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpIn,
				Left:  &Field{Pos: pos(0, 1, 1), Name: "fd.name"},
				Right: &List{Pos: pos(11, 1, 12), Name: "my_list"}},
		},
		{
			in: "x.y = anyof l",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpEq, Mod: ModAnyOf,
				Left:  &Field{Pos: pos(0, 1, 1), Name: "x.y"},
				Right: &List{Pos: pos(12, 1, 13), Name: "l"}},
		},
		{
			in: "getopt(proc.args, \"a:\")[a] = val(proc.aname[1])",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpEq,
				Left: &Transform{Pos: pos(0, 1, 1), Name: "getopt", Index: "a", HasIndex: true, Args: []Operand{
					&Field{Pos: pos(7, 1, 8), Name: "proc.args"},
					&Literal{Pos: pos(18, 1, 19), Value: "a:", Quoted: true},
				}},
				Right: &ValRef{Pos: pos(29, 1, 30), Field: &Field{Pos: pos(33, 1, 34), Name: "proc.aname", Arg: "1", HasArg: true}}},
		},
		{
			in: "join(',', (proc.name, 2)) exists",
			want: &Compare{Pos: pos(0, 1, 1), Op: OpExists,
				Left: &Transform{Pos: pos(0, 1, 1), Name: "join", Args: []Operand{
					&Literal{Pos: pos(5, 1, 6), Value: ",", Quoted: true},
					&List{Pos: pos(10, 1, 11), Items: []Operand{
						&Field{Pos: pos(11, 1, 12), Name: "proc.name"},
						&Literal{Pos: pos(22, 1, 23), Value: "2"},
					}},
				}}},
		},
		{
			in:   "not(a)",
			want: &Not{Pos: pos(0, 1, 1), X: &Ident{Pos: pos(4, 1, 5), Name: "a"}},
		},
		{
			in: "a or(b)",
			want: &Or{Pos: pos(0, 1, 1), Terms: []Expr{
				&Ident{Pos: pos(0, 1, 1), Name: "a"},
				&Ident{Pos: pos(5, 1, 6), Name: "b"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in, &Options{Origin: 7})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("Parse(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func TestErrorCaret(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"proc.name = a b", "1:15: unexpected token 'b', expecting 'and' or 'or' after 'a'\nproc.name = a b\n              ^"},
		{"a and\n\tb c", "2:4: unexpected token 'c', expecting 'and' or 'or' after 'b'\n\tb c\n\t  ^"},
		{"a and\r\nb c\r\nand d", "2:3: unexpected token 'c', expecting 'and' or 'or' after 'b'\nb c\n  ^"},
		{"proc.name = café x", "1:19: unexpected token 'x', expecting 'and' or 'or' after 'café'\nproc.name = café x\n                 ^"},
		{"proc.name =", "1:12: unexpected end of input, expecting a value, a transformer or val()\nproc.name =\n           ^"},
		{"", "1:1: filter input string is empty\n\n^"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in, nil)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse(%q) error = %v, want *Error", tc.in, err)
			}
			if got := e.Error() + "\n" + e.Caret(tc.in); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestCaretOutOfRange(t *testing.T) {
	e := &Error{Pos: Pos{Offset: 99}}
	if got, want := e.Caret("ab"), "ab\n  ^"; got != want {
		t.Fatalf("Caret = %q, want %q", got, want)
	}
	e.Pos.Offset = -3
	if got, want := e.Caret("ab"), "ab\n^"; got != want {
		t.Fatalf("Caret = %q, want %q", got, want)
	}
}

func TestFormatNodes(t *testing.T) {
	tests := []struct {
		n    Node
		want string
	}{
		{nil, ""},
		{&Literal{Value: ""}, `""`},
		{&Literal{Value: "a b"}, `"a b"`},
		{&Literal{Value: "a\x01"}, `"a\x01"`},
		{&Literal{Value: `a"b\c`}, `"a\"b\\c"`},
		{&Field{Name: "a.b", Arg: "x y", HasArg: true}, `a.b["x y"]`},
		{&Field{Name: "a.b", Arg: "", HasArg: true}, `a.b[""]`},
		{&Transform{Name: "concat", Args: []Operand{&Literal{Value: "x"}, &Literal{Value: "12"}, &List{Items: []Operand{&Literal{Value: "y", Quoted: true}}}}}, `concat("x", 12, ("y"))`},
		{&ValRef{Field: &Field{Name: "a.b"}}, "val(a.b)"},
		{&List{}, "()"},
		{&List{Name: "l"}, "l"},
		{&Not{X: &Not{X: &Ident{Name: "a"}}}, "not (not a)"},
		{&Compare{Left: &Field{Name: "a.b"}, Op: OpExists}, "a.b exists"},
	}
	for _, tc := range tests {
		if got := Format(tc.n); got != tc.want {
			t.Errorf("Format(%#v) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestGrammarGolden(t *testing.T) {
	path := filepath.Join("testdata", "grammar.ebnf")
	got := grammar.String() + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Fatalf("grammar changed; run go test -update if intended (-want +got):\n%s", d)
	}
}

func TestParseConcurrent(t *testing.T) {
	want := Format(mustParse(t, benchCondition))
	done := make(chan string)
	for range 4 {
		go func() {
			e, err := Parse(benchCondition, nil)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- Format(e)
		}()
	}
	for range 4 {
		if got := <-done; got != want {
			t.Errorf("concurrent Parse gave %.80q, want %.80q", got, want)
		}
	}
}

func mustParse(t *testing.T, src string) Expr {
	t.Helper()
	e, err := Parse(src, nil)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return e
}
