package rules

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func plain(s string) mtext {
	t := mtext{}
	for i := range len(s) {
		t.add(s[i:i+1], srcPos{file: 0, off: int32(i)})
	}
	return t
}

func TestSubstituteList(t *testing.T) {
	tests := []struct {
		name  string
		cond  string
		list  string
		items []string
		want  string
		used  bool
	}{
		{"in parens", "proc.name in (shells)", "shells", []string{"bash", "sh"}, "proc.name in ( bash, sh )", true},
		{"blanks consumed", "proc.name in ( shells )", "shells", []string{"bash"}, "proc.name in ( bash )", true},
		{"quoted item with space", "x in (l)", "l", []string{"a b", `"c d"`, "'e f'"}, `x in ( "a b", "c d", 'e f' )`, true},
		{"no parens added", "x in l", "l", []string{"a", "b"}, "x in a, b ", true},
		{"not inside a word", "x in (mylist, list2)", "list", []string{"a"}, "x in (mylist, list2)", false},
		{"in quoted text too", `x = "l"`, "l", []string{"a"}, `x = "l"`, false},
		{"between delimiters", "x=l", "l", []string{"a"}, "x= a ", true},
		{"at start", "l", "l", []string{"a"}, "a ", true},
		{"every occurrence", "x in (l) or y in (l)", "l", []string{"a", "b"}, "x in ( a, b ) or y in ( a, b )", true},
		{"empty list removes left comma", "x in (a, l)", "l", nil, "x in (a  )", true},
		{"empty list removes right comma", "x in (l, a)", "l", nil, "x in (   a)", true},
		{"empty list alone", "x in (l)", "l", nil, "x in (  )", true},
		{"item equal to name", "x in (l)", "l", []string{"l"}, "x in ( l )", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, used := substituteList(plain(tc.cond), tc.list, tc.items)
			if diff := cmp.Diff(tc.want, got.s); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if used != tc.used {
				t.Errorf("used = %v, want %v", used, tc.used)
			}
			if len(got.pos) != len(got.s) {
				t.Errorf("%d positions for %d bytes", len(got.pos), len(got.s))
			}
		})
	}
}

func TestSubstituteListPositions(t *testing.T) {
	// "x in (l) and y" : the items take the position of "l" (offset 6);
	// the text after keeps its own.
	got, _ := substituteList(plain("x in (l) and y"), "l", []string{"aa"})
	if got.s != "x in ( aa ) and y" {
		t.Fatalf("text = %q", got.s)
	}
	var offs []int32
	for _, p := range got.pos {
		offs = append(offs, p.off)
	}
	want := []int32{0, 1, 2, 3, 4, 5, 6, 6, 6, 6, 7, 8, 9, 10, 11, 12, 13}
	if diff := cmp.Diff(want, offs); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
}

func TestQuoteParenItem(t *testing.T) {
	tests := []struct{ in, quoted, paren string }{
		{"abc", "abc", "(abc)"},
		{"a b", `"a b"`, "(a b)"},
		{`"a b"`, `"a b"`, `("a b")`},
		{"'a b'", "'a b'", "('a b')"},
		{"(a, b)", `"(a, b)"`, "(a, b)"},
		{"", "", "()"},
	}
	for _, tc := range tests {
		if got := quoteItem(tc.in); got != tc.quoted {
			t.Errorf("quoteItem(%q) = %q, want %q", tc.in, got, tc.quoted)
		}
		if got := parenItem(tc.in); got != tc.paren {
			t.Errorf("parenItem(%q) = %q, want %q", tc.in, got, tc.paren)
		}
	}
}

// TestScalarText checks that every byte of a scalar value maps back to
// the right file line and column, for each YAML scalar style.
func TestScalarText(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want is "line:col" of the byte at index at of the value.
		at   int
		want string
	}{
		{"plain", "c: proc.name = x and y\n", 15, "1:19"},
		{"double quoted", "c: \"proc.name = x and y\"\n", 15, "1:20"},
		{"single quoted", "c: 'a ''b'' c'\n", 5, "1:12"},
		{"double quoted escape", "c: \"a\\tb c\"\n", 4, "1:10"},
		{"plain multi-line", "c: evt.type = open\n  and proc.name = cat\n", 23, "2:10"},
		{"literal", "c: |\n  evt.type = open\n  and fd.name = x\n", 20, "3:7"},
		{"folded", "c: >\n  evt.type = open\n  and fd.name = x\n", 27, "3:14"},
		{"folded keeps first line", "c: >-\n  evt.type = open\n  and x\n", 4, "2:7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			n := doc.Content[0].Content[1]
			fi := newFileInfo("f.yaml", []byte(tc.src))
			mt := scalarText(fi, 0, n)
			if mt.s != n.Value || len(mt.pos) != len(n.Value) {
				t.Fatalf("text %q (%d positions), want %q", mt.s, len(mt.pos), n.Value)
			}
			line, col := fi.lineCol(int(mt.pos[tc.at].off))
			got := fmt.Sprintf("%d:%d", line, col)
			if got != tc.want {
				t.Errorf("byte %d (%q) at %s, want %s", tc.at, n.Value[tc.at], got, tc.want)
			}
		})
	}
}

func TestEngineVersion(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"13", "0.13.0", true},
		{"0.57.0", "0.57.0", true},
		{"1.2.3-rc1", "1.2.3", true},
		{"0.57", "", false},
		{"abc", "", false},
		{"-1", "", false},
	}
	for _, tc := range tests {
		v, ok := parseEngineVersion(tc.in)
		if ok != tc.ok || (ok && v.String() != tc.want) {
			t.Errorf("parseEngineVersion(%q) = %v, %v; want %s, %v", tc.in, v, ok, tc.want, tc.ok)
		}
	}
}

func TestPriority(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
	}{
		{"EMERGENCY", Emergency}, {"alert", Alert}, {"Critical", Critical}, {"ERROR", Error},
		{"warning", Warning}, {"NOTICE", Notice}, {"INFO", Informational},
		{"informational", Informational}, {"debug", Debug},
	} {
		p, err := ParsePriority(tc.in)
		if err != nil || p != tc.want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", tc.in, p, err, tc.want)
		}
	}
	if _, err := ParsePriority("SEVERE"); err == nil || err.Error() != "Invalid priority" {
		t.Errorf("ParsePriority(SEVERE) error = %v, want Invalid priority", err)
	}
	if got := Informational.String(); got != "Informational" {
		t.Errorf("String() = %q", got)
	}
	if got := Priority(42).String(); got != "Priority(42)" {
		t.Errorf("String() = %q", got)
	}
}
