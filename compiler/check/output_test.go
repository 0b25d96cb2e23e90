package check

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/syntax"
)

// segView renders a segment compactly: `text:"..."`, `value@off:token`,
// `value@off:token/w20`.
func segView(s Segment) string {
	if s.Value == nil {
		return fmt.Sprintf("text@%d:%q", s.Pos.Offset, s.Text)
	}
	v := fmt.Sprintf("value@%d:%s", s.Pos.Offset, s.Token)
	if s.Value.String() != s.Token {
		v += "=" + s.Value.String()
	}
	if s.Width != 0 {
		v += fmt.Sprintf("/w%d", s.Width)
	}
	return v
}

func TestCheckOutput(t *testing.T) {
	out := CodeCompileOutput
	tests := []struct {
		name    string
		format  string
		opts    *Options
		want    []string // segments; nil when the check fails
		format2 string   // Template.Format when it differs from format
		issues  []Issue
	}{
		{name: "fields and a transformer", format: "%proc.name opened %fd.name (%toupper(user.name))",
			want: []string{`value@0:proc.name`, `text@10:" opened "`, `value@18:fd.name`, `text@26:" ("`, `value@28:toupper(user.name)`, `text@47:")"`}},
		{name: "longest prefix stops at punctuation", format: "cmd=%proc.cmdline) x",
			want: []string{`text@0:"cmd="`, `value@4:proc.cmdline`, `text@17:") x"`}},
		{name: "sentence end", format: "by %user.name.",
			want: []string{`text@0:"by "`, `value@3:user.name`, `text@13:"."`}},
		{name: "shortened prefix", format: "%proc.name-%proc.pid",
			want: []string{`value@0:proc.name`, `text@10:"-"`, `value@11:proc.pid`}},
		{name: "width", format: "[%20proc.name]",
			want: []string{`text@0:"["`, `value@1:proc.name/w20`, `text@13:"]"`}},
		{name: "index argument", format: "%proc.aname[2] x",
			want: []string{`value@0:proc.aname[2]`, `text@14:" x"`}},
		{name: "no argument taken", format: "%proc.name[1]",
			want: []string{`value@0:proc.name`, `text@10:"[1]"`}},
		{name: "dotted argument", format: "flags=%evt.arg.flags",
			want: []string{`text@0:"flags="`, `value@6:evt.arg.flags`}},
		{name: "label with slashes", format: "%k8s.pod.label[app.kubernetes.io/name] %container.label.com.example/x",
			want: []string{`value@0:k8s.pod.label[app.kubernetes.io/name]`, `text@38:" "`, `value@39:container.label.com.example/x`}},
		{name: "nested transformers", format: "%toupper(basename(proc.exepath))",
			want: []string{`value@0:toupper(basename(proc.exepath))`}},
		{name: "join", format: `%join(",", fd.types)`,
			want: []string{`value@0:join(",", fd.types)`}},
		{name: "join of a list", format: `%join("-", (proc.name, 'x'))`,
			want: []string{`value@0:join("-", (proc.name, 'x'))=join("-", (proc.name, "x"))`}},
		{name: "getopt", format: `%getopt(proc.args, "a:")[a]!`,
			want: []string{`value@0:getopt(proc.args, "a:")[a]`, `text@27:"!"`}},
		{name: "literal only", format: "no fields here",
			want: []string{`text@0:"no fields here"`}},
		{name: "empty", format: "", want: []string{}},
		{name: "k8s_audit", format: "%ka.verb by %ka.user.name at %evt.time", opts: k8s,
			want: []string{`value@0:ka.verb`, `text@8:" by "`, `value@12:ka.user.name`, `text@25:" at "`, `value@29:evt.time`}},
		{name: "container.info", format: "%proc.name %container.info x",
			want:    []string{`value@0:proc.name`, `text@10:"  x"`},
			format2: "%proc.name  x",
			issues:  []Issue{warnAt(11, CodeDeprecatedItem, "%container.info is deprecated and has no effect: it was removed from the output")}},

		{name: "ends with %", format: "abc %",
			issues: []Issue{errAt(4, out, "invalid formatting syntax: formatting cannot end with a %")}},
		{name: "ends with a width", format: "abc %20",
			issues: []Issue{errAt(4, out, "invalid formatting syntax: formatting cannot end with a number")}},
		{name: "unknown field", format: "x %proc.nam y",
			issues: []Issue{errAt(3, uf, "invalid formatting token proc.nam")}},
		{name: "not a field", format: "100% sure",
			issues: []Issue{errAt(4, out, "invalid formatting token  ")}},
		{name: "syscall field in k8s_audit", format: "%proc.name", opts: k8s,
			issues: []Issue{errAt(1, uf, "invalid formatting token proc.name")}},
		{name: "unknown field in a transformer", format: "%toupper(user.nam)",
			issues: []Issue{errAt(9, uf, "filter_check called with nonexistent field user.nam")}},
		{name: "transformer type", format: "%toupper(user.uid)",
			issues: []Issue{errAt(9, out, "'toupper' transformer not supported on UINT32")}},
		{name: "unclosed transformer", format: "%toupper(user.name",
			issues: []Issue{errAt(18, out, "missing ')' in transformer")}},
		{name: "filter-only field", format: "%evt.around[1]",
			issues: []Issue{errAt(1, out, "field evt.around cannot be used in an output")}},
		{name: "argument required", format: "%evt.arg x",
			issues: []Issue{errAt(1, out, "field evt.arg requires an argument")}},
		{name: "second line", format: "ok\n  %proc.nam",
			issues: []Issue{{Pos: syntax.Pos{Offset: 6, Line: 2, Column: 4}, Msg: "invalid formatting token proc.nam", Code: uf}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, issues := CheckOutput(tc.format, tc.opts)
			if diff := cmp.Diff(tc.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if tc.want == nil {
				if tpl != nil {
					t.Errorf("got a template for a bad format")
				}
				return
			}
			if tpl == nil {
				t.Fatalf("CheckOutput failed")
			}
			got := []string{}
			for _, s := range tpl.Segments {
				got = append(got, segView(s))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			wantFormat := tc.format
			if tc.format2 != "" {
				wantFormat = tc.format2
			}
			if tpl.Format != wantFormat {
				t.Errorf("Format = %q, want %q", tpl.Format, wantFormat)
			}
		})
	}
}

func TestTemplateFields(t *testing.T) {
	tpl, issues := CheckOutput("%proc.name %proc.aname[2] %toupper(user.name) %proc.name %evt.arg.flags", nil)
	if tpl == nil {
		t.Fatalf("CheckOutput failed: %v", issues)
	}
	want := []string{"proc.name", "proc.aname[2]", "toupper(user.name)", "evt.arg.flags"}
	if diff := cmp.Diff(want, tpl.Fields()); diff != "" {
		t.Errorf("Fields (-want +got):\n%s", diff)
	}
}

func TestCheckOutputOrigin(t *testing.T) {
	_, issues := CheckOutput("%nope.x", &Options{Origin: 7})
	want := []Issue{{Pos: syntax.Pos{Offset: 1, Line: 1, Column: 2, Origin: 7}, Msg: "invalid formatting token nope.x", Code: CodeUnknownFilter}}
	if diff := cmp.Diff(want, issues); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}

// FuzzCheckOutput: no format may make CheckOutput panic, and it returns
// a template exactly when there is no error.
func FuzzCheckOutput(f *testing.F) {
	for _, s := range []string{"%proc.name", "%20proc.aname[2]", "%toupper(basename(proc.exepath))", `%join(",", (a.b, "x"))`, "%", "%(", "%getopt(proc.args, 'a:')[a]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, issues := CheckOutput(s, nil)
		failed := false
		for _, i := range issues {
			if !i.Warning {
				failed = true
			}
		}
		if (tpl == nil) != failed {
			t.Fatalf("template %v with issues %v", tpl != nil, issues)
		}
	})
}
