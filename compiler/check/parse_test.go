package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/syntax"
)

// parse parses a condition with the real parser.
func parse(t testing.TB, src string) syntax.Expr {
	t.Helper()
	e, err := syntax.Parse(src, nil)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return e
}

func issueAt(line, col int, code string, warning bool, msg string) Issue {
	return Issue{Pos: syntax.Pos{Offset: col - 1, Line: line, Column: col}, Msg: msg, Code: code, Warning: warning}
}

// TestParsedConditions checks conditions as written in rule files, through
// the real parser, with whole messages and positions.
func TestParsedConditions(t *testing.T) {
	tests := []struct {
		src    string
		events []string
		issues []Issue
		ir     string
	}{
		{src: `evt.type = open and fd.name regex "abc"`, events: []string{"open"},
			issues: []Issue{issueAt(1, 35, CodeConditionWarning, true, "regex check with 'abc' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'")},
			ir:     "(evt.type = open and fd.name regex abc)"},
		{src: `evt.type in (open, openat, openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0 and fd.name startswith /etc`,
			events: []string{"open", "openat", "openat2"},
			ir:     "(evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.typechar = f and fd.num >= 0 and fd.name startswith /etc)"},
		{src: `evt.type in (execve, execveat) and proc.name in (bash, sh) and not proc.pname in (sshd) and container.id != host`,
			events: []string{"execve", "execveat"},
			ir:     "(evt.type in (execve, execveat) and proc.name in (bash, sh) and not proc.pname in (sshd) and container.id != host)"},
		{src: `((evt.type = connect) or (evt.type in (sendto, sendmsg) and fd.l4proto != tcp)) and (fd.typechar = 4 or fd.typechar = 6) and fd.net != "127.0.0.0/8" and not fd.snet in ("10.0.0.0/8", "192.168.0.0/16")`,
			events: []string{"connect", "sendmsg", "sendto"},
			ir:     "((evt.type = connect or (evt.type in (sendto, sendmsg) and fd.l4proto != tcp)) and (fd.typechar = 4 or fd.typechar = 6) and fd.net != 127.0.0.0/8 and not fd.snet in (10.0.0.0/8, 192.168.0.0/16))"},
		{src: `evt.type = open and not evt.type = open`, events: []string{}, ir: "(evt.type = open and not evt.type = open)"},
		{src: `evt.num = 0`, events: []string{}, ir: "evt.num = 0"},
		{src: `tolower(proc.name) = val(proc.pname) and proc.aname[2] startswith anyof (a, b)`,
			ir: "(tolower(proc.name) = val(proc.pname) and proc.aname[2] startswith anyof (a, b))"},
		{src: "evt.type = open and\n  proc.nam = x",
			issues: []Issue{{Pos: syntax.Pos{Offset: 22, Line: 2, Column: 3}, Msg: "filter_check called with nonexistent field proc.nam", Code: CodeUnknownFilter}}},
		{src: "evt.type in (open, opne)",
			issues: []Issue{issueAt(1, 20, CodeUnknownFilter, false, "unknown event type opne")}},
		{src: "proc.name = x and my_macro",
			issues: []Issue{issueAt(1, 19, CodeCompileCondition, false, "unexpected identifier 'my_macro'")}},
		{src: "user.uid contains 1",
			issues: []Issue{issueAt(1, 1, CodeCompileCondition, false, "'contains' operator not supported for numeric filters")}},
		{src: "fd.sport in (80, http)",
			issues: []Issue{issueAt(1, 18, CodeCompileCondition, false, "'http' is not a valid PORT value")}},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			c, issues := CheckCondition(parse(t, tc.src), nil)
			if diff := cmp.Diff(tc.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if tc.ir == "" {
				if c != nil {
					t.Errorf("got a condition, want errors")
				}
				return
			}
			if c == nil {
				t.Fatalf("CheckCondition failed")
			}
			if got := Format(c.IR); got != tc.ir {
				t.Errorf("IR = %s, want %s", got, tc.ir)
			}
			if diff := cmp.Diff(tc.events, c.EventTypes); diff != "" {
				t.Errorf("EventTypes (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzCheckCondition: whatever the parser accepts, the checker must not
// panic, and returns a condition exactly when it reports no error.
func FuzzCheckCondition(f *testing.F) {
	for _, s := range []string{
		`evt.type = open and fd.name regex "abc"`,
		`evt.type in (open, openat) and not proc.name in (a, b)`,
		`tolower(proc.name) = val(proc.pname)`,
		`proc.aname[2] startswith anyof (a, b)`,
		`evt.rawarg.res < 0 or evt.arg[0] = x`,
		`join(",", (proc.name, "x")) = y and len(fd.types) > 1`,
		`getopt(proc.args, "a:")[a] = x`,
		`fd.net in ("10.0.0.0/8", ::1) and fd.sport in (80, 443)`,
		`evt.buffer bcontains CAFE and evt.num = 0`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, ok := parseNoPanic(src)
		if !ok {
			return
		}
		c, issues := CheckCondition(e, nil)
		failed := false
		for _, i := range issues {
			if !i.Warning {
				failed = true
			}
		}
		if (c == nil) != failed {
			t.Fatalf("condition %v with issues %v", c != nil, issues)
		}
		if c != nil {
			Fold(c.IR)
		}
	})
}

// parseNoPanic parses src, treating a parser panic as a rejection: the
// parser has its own fuzz target, this one is about the checker.
func parseNoPanic(src string) (e syntax.Expr, ok bool) {
	defer func() {
		if recover() != nil {
			e, ok = nil, false
		}
	}()
	e, err := syntax.Parse(src, nil)
	return e, err == nil
}
