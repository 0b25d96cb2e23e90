package syntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseCondition checks that Parse never panics, returns exactly one of
// an expression or a positioned *Error, and that what it accepts reads back
// through Format as the same AST.
func FuzzParseCondition(f *testing.F) {
	for _, tc := range acceptCases {
		f.Add(tc.in)
	}
	for _, tc := range rejectCases {
		f.Add(tc.in)
	}
	for _, c := range ruleConditions(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src, nil)
		if (e == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v: want exactly one", src, e, err)
		}
		if err != nil {
			perr, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse(%q) error %T, want *Error", src, err)
			}
			if p := perr.Pos; p.Line < 1 || p.Column < 1 || p.Offset < 0 || p.Offset > len(src) {
				t.Fatalf("Parse(%q) error at bad position %+v", src, p)
			}
			_ = perr.Caret(src)
			return
		}
		out := Format(e)
		again, err := Parse(out, nil)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %v", src, out, err)
		}
		if d := cmp.Diff(e, again, ignorePos, ignoreQuoted); d != "" {
			t.Fatalf("round trip of %q through %q (-first +second):\n%s", src, out, d)
		}
		if out2 := Format(again); out2 != out {
			t.Fatalf("Format not stable for %q: %q then %q", src, out, out2)
		}
	})
}
