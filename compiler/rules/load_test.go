package rules_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/syntax"
)

func load(t *testing.T, opts *rules.Options, files ...string) (*rules.Ruleset, []string) {
	t.Helper()
	var srcs []rules.Source
	for i, f := range files {
		srcs = append(srcs, rules.Source{Name: string(rune('a'+i)) + ".yaml", Data: []byte(f)})
	}
	rs, ds := rules.Load(srcs, opts)
	if (rs == nil) != diag.HasErrors(ds) {
		t.Fatalf("ruleset %v with errors %v", rs != nil, diag.HasErrors(ds))
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Render())
	}
	return rs, out
}

func rule(name, cond string) string {
	return "- rule: " + name + "\n  desc: d\n  condition: " + cond + "\n  output: \"%proc.name\"\n  priority: WARNING\n"
}

func TestLoadDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{
			name:  "clean",
			files: []string{"- macro: m\n  condition: proc.name = cat\n" + rule("r", "evt.type = open and m")},
		},
		{
			name:  "undefined macro",
			files: []string{rule("r", "evt.type = open and not_defined")},
			want: []string{"a.yaml:3:34: Undefined macro 'not_defined' used in filter.\n" +
				" |   condition: evt.type = open and not_defined\n |                                  ^\n"},
		},
		{
			name: "macro sees only earlier macros",
			files: []string{"- macro: a\n  condition: b\n- macro: b\n  condition: proc.name = cat\n" +
				rule("r", "evt.type = open and a")},
			want: []string{
				"a.yaml:2:14: Undefined macro 'b' used in filter.\n |   condition: b\n |              ^\n",
				"a.yaml:3:3: warning: Macro not referred to by any other rule/macro\n | - macro: b\n |   ^\n",
			},
		},
		{
			name: "rule sees later macros",
			files: []string{rule("r", "evt.type = open and m") +
				"- macro: m\n  condition: proc.name = cat\n"},
		},
		{
			name:  "self reference is undefined",
			files: []string{"- macro: m\n  condition: m\n" + rule("r", "evt.type = open and m")},
			want:  []string{"a.yaml:2:14: Undefined macro 'm' used in filter.\n |   condition: m\n |              ^\n"},
		},
		{
			name: "reference loop through append",
			files: []string{"- macro: a\n  condition: proc.name = cat\n- macro: b\n  condition: a\n" +
				"- macro: a\n  condition: or b\n  override:\n    condition: append\n" + rule("r", "evt.type = open and b")},
			want: []string{"a.yaml:4:14: reference loop in macro 'a'\n |   condition: a\n |              ^\n"},
		},
		{
			name:  "condition syntax error",
			files: []string{rule("r", "evt.type = open)")},
			want: []string{"a.yaml:3:29: " + syntaxMsg(t, "evt.type = open)") + "\n" +
				" |   condition: evt.type = open)\n |                             ^\n"},
		},
		{
			name:  "unknown field in a folded block",
			files: []string{"- rule: r\n  desc: d\n  condition: >\n    evt.type = open and\n    proc.nme = cat\n  output: o\n  priority: INFO\n"},
			want: []string{"a.yaml:5:5: filter_check called with nonexistent field proc.nme\n" +
				" |     proc.nme = cat\n |     ^\n"},
		},
		{
			name:  "unknown field in a literal block",
			files: []string{"- rule: r\n  desc: d\n  condition: |\n    evt.type = open and\n      proc.nme = cat\n  output: o\n  priority: INFO\n"},
			want: []string{"a.yaml:5:7: filter_check called with nonexistent field proc.nme\n" +
				" |       proc.nme = cat\n |       ^\n"},
		},
		{
			name:  "unknown field in a double-quoted condition",
			files: []string{"- rule: r\n  desc: d\n  condition: \"evt.type = open and\\n proc.nme = cat\"\n  output: o\n  priority: INFO\n"},
			want: []string{"a.yaml:3:37: filter_check called with nonexistent field proc.nme\n" +
				" |   condition: \"evt.type = open and\\n proc.nme = cat\"\n |                                     ^\n"},
		},
		{
			name: "error inside a macro is reported once, at the macro",
			files: []string{"- macro: m\n  condition: proc.nme = cat\n" + rule("r1", "evt.type = open and m") +
				rule("r2", "evt.type = close and m")},
			want: []string{"a.yaml:2:14: filter_check called with nonexistent field proc.nme\n |   condition: proc.nme = cat\n |              ^\n"},
		},
		{
			name:  "error in a substituted list",
			files: []string{"- list: l\n  items: [notanumber]\n" + rule("r", "evt.type = open and user.uid in (l)")},
			want: []string{"a.yaml:5:47: " + condMsg(t, "user.uid in ( notanumber )") + "\n" +
				" |   condition: evt.type = open and user.uid in (l)\n |                                               ^\n"},
		},
		{
			name: "several mistakes, one per rule",
			files: []string{rule("r1", "evt.type = open and proc.nme = cat and fd.nme = x") +
				rule("r2", "evt.type = open and user.uid = abc") +
				"- rule: r3\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: SEVERE\n"},
			want: []string{
				"a.yaml:3:34: filter_check called with nonexistent field proc.nme\n" +
					" |   condition: evt.type = open and proc.nme = cat and fd.nme = x\n |                                  ^\n",
				"a.yaml:8:45: " + condMsg(t, "user.uid = abc") + "\n" +
					" |   condition: evt.type = open and user.uid = abc\n |                                             ^\n",
				"a.yaml:15:13: Invalid priority\n |   priority: SEVERE\n |             ^\n",
			},
		},
		{
			name:  "output error",
			files: []string{"- rule: r\n  desc: d\n  condition: evt.type = open\n  output: \"x %proc.nam y\"\n  priority: INFO\n"},
			want: []string{"a.yaml:4:15: " + outputMsg(t, "x %proc.nam y") + "\n" +
				" |   output: \"x %proc.nam y\"\n |               ^\n"},
		},
		{
			name: "unused macro and list",
			files: []string{"- list: l\n  items: [a]\n- macro: m\n  condition: proc.name in (l)\n" +
				rule("r", "evt.type = open")},
			want: []string{
				"a.yaml:3:3: warning: Macro not referred to by any other rule/macro\n | - macro: m\n |   ^\n",
			},
		},
		{
			name:  "unknown source",
			files: []string{"- rule: r\n  desc: d\n  condition: whatever\n  output: o\n  priority: INFO\n  source: aws_cloudtrail\n"},
			want:  []string{"a.yaml:1:3: warning: Unknown source aws_cloudtrail, skipping\n | - rule: r\n |   ^\n"},
		},
		{
			name: "skip-if-unknown-filter",
			files: []string{"- rule: r\n  desc: d\n  condition: evt.type = open and proc.nme = cat\n  output: o\n  priority: INFO\n" +
				"  skip-if-unknown-filter: true\n"},
			want: []string{"a.yaml:3:34: warning: filter_check called with nonexistent field proc.nme\n" +
				" |   condition: evt.type = open and proc.nme = cat\n |                                  ^\n"},
		},
		{
			name:  "appended condition error maps to the append",
			files: []string{rule("r", "evt.type = open"), "- rule: r\n  condition: and proc.nme = x\n  override:\n    condition: append\n"},
			want: []string{"b.yaml:2:18: filter_check called with nonexistent field proc.nme\n" +
				" |   condition: and proc.nme = x\n |                  ^\n"},
		},
		{
			name:  "exception value error maps to the value",
			files: []string{rule("r", "evt.type = open") + "  exceptions:\n    - name: e\n      fields: [user.uid]\n      values: [[notanumber]]\n"},
			want: []string{"a.yaml:9:17: " + condMsg(t, "user.uid = notanumber") + "\n" +
				" |       values: [[notanumber]]\n |                 ^\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := load(t, nil, tc.files...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadResult(t *testing.T) {
	files := []string{
		"- required_engine_version: 0.57.0\n- list: shells\n  items: [bash, sh]\n- list: all_shells\n  items: [shells, zsh]\n" +
			"- macro: spawned\n  condition: evt.type in (execve, execveat)\n" +
			"- macro: shell\n  condition: spawned and proc.name in (all_shells)\n" +
			"- rule: Shell\n  desc: a shell\n  condition: shell and not proc.name in (shells)\n  output: \"shell %proc.name\"\n  priority: NOTICE\n  tags: [process, shell]\n",
		"- required_engine_version: 13\n- rule: Shell\n  enabled: false\n" +
			"- rule: Open\n  desc: an open\n  condition: evt.type = open\n  output: \"open %fd.name\"\n  priority: INFO\n  tags: [file]\n  enabled: false\n",
	}
	rs, ds := load(t, nil, files...)
	if rs == nil {
		t.Fatalf("load failed:\n%s", strings.Join(ds, ""))
	}
	wantDiags := []string{
		"b.yaml:3:3: warning: The standalone 'enabled' key is deprecated. Add an 'enabled: replace' entry under 'override' instead.\n |   enabled: false\n |   ^\n",
	}
	if diff := cmp.Diff(wantDiags, ds); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	type ruleView struct {
		Name, Condition, Priority string
		Enabled                   bool
		Macros, Lists, Tags       []string
		Pos                       rules.Position
	}
	var got []ruleView
	for _, r := range rs.Rules {
		got = append(got, ruleView{r.Name, r.Condition, r.Priority.String(), r.Enabled, r.Macros, r.Lists, r.Tags, r.Pos})
	}
	want := []ruleView{
		{Name: "Shell", Condition: "shell and not proc.name in ( bash, sh )", Priority: "Notice",
			Macros: []string{"shell", "spawned"}, Lists: []string{"shells"}, Tags: []string{"process", "shell"},
			Pos: rules.Position{File: "a.yaml", Line: 10, Col: 3}},
		{Name: "Open", Condition: "evt.type = open", Priority: "Informational", Tags: []string{"file"},
			Pos: rules.Position{File: "b.yaml", Line: 4, Col: 3}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if rs.RequiredEngineVersion != "0.57.0" {
		t.Errorf("RequiredEngineVersion = %q", rs.RequiredEngineVersion)
	}
	var lists []string
	for _, l := range rs.Lists {
		lists = append(lists, l.Name+"="+strings.Join(l.Compiled, ","))
	}
	if diff := cmp.Diff([]string{"shells=bash,sh", "all_shells=bash,sh,zsh"}, lists); diff != "" {
		t.Errorf("lists (-want +got):\n%s", diff)
	}
	if m := rs.Macros[1]; m.Name != "shell" || m.Expr == nil || !m.Used {
		t.Errorf("macro shell = %+v", m)
	}
	if r := rs.Rules[0]; r.Expr == nil || r.Checked == nil || r.OutputTemplate == nil {
		t.Errorf("rule not fully compiled: %+v", r)
	}
}

func TestSelection(t *testing.T) {
	files := rule("Write below etc", "evt.type = open") + "  tags: [filesystem, mitre]\n" +
		rule("Write below bin", "evt.type = open") + "  tags: [filesystem]\n" +
		rule("Shell in container", "evt.type = execve") + "  tags: [process, mitre]\n" +
		rule("Disabled", "evt.type = open") + "  tags: [network]\n  enabled: false\n"
	tests := []struct {
		name string
		opts *rules.Options
		want []string
	}{
		{"nil options", nil, []string{"Write below etc", "Write below bin", "Shell in container"}},
		{"disable by name", &rules.Options{DisabledRules: []string{"Write below bin"}}, []string{"Write below etc", "Shell in container"}},
		{"disable by wildcard", &rules.Options{DisabledRules: []string{"Write*"}}, []string{"Shell in container"}},
		{"disable all, enable one", &rules.Options{DisabledRules: []string{"*"}, EnabledRules: []string{"Disabled"}}, []string{"Disabled"}},
		{"disable by tag", &rules.Options{DisabledTags: []string{"mitre"}}, []string{"Write below bin"}},
		{"only tags", &rules.Options{EnabledTags: []string{"process", "network"}}, []string{"Shell in container", "Disabled"}},
		{"only tags minus a name", &rules.Options{EnabledTags: []string{"filesystem"}, DisabledRules: []string{"*etc"}}, []string{"Write below bin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, ds := load(t, tc.opts, files)
			if rs == nil {
				t.Fatalf("load failed:\n%s", strings.Join(ds, ""))
			}
			var got []string
			for _, r := range rs.Rules {
				if r.Enabled {
					got = append(got, r.Name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("enabled rules (-want +got):\n%s", diff)
			}
		})
	}
}

// syntaxMsg is the parser's message for text, which must not parse.
func syntaxMsg(t *testing.T, text string) string {
	t.Helper()
	_, err := syntax.Parse(text, nil)
	var se *syntax.Error
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q) error = %v, want a *syntax.Error", text, err)
	}
	return se.Msg
}

// condMsg is the checker's first error for cond.
func condMsg(t *testing.T, cond string) string {
	t.Helper()
	e, err := syntax.Parse(cond, nil)
	if err != nil {
		t.Fatalf("Parse(%q): %v", cond, err)
	}
	_, issues := check.CheckCondition(e, nil)
	for _, is := range issues {
		if !is.Warning {
			return is.Msg
		}
	}
	t.Fatalf("CheckCondition(%q): no error", cond)
	return ""
}

// outputMsg is the checker's first error for an output format.
func outputMsg(t *testing.T, format string) string {
	t.Helper()
	_, issues := check.CheckOutput(format, nil)
	for _, is := range issues {
		if !is.Warning {
			return is.Msg
		}
	}
	t.Fatalf("CheckOutput(%q): no error", format)
	return ""
}

// TestWarningCodes checks the Falco code of warnings from the loader and
// from the checker, and that warnings do not stop a rule.
func TestWarningCodes(t *testing.T) {
	src := "- rule: Regex\n  desc: x\n  condition: evt.type = open and fd.name regex \"abc\"\n  output: x\n  priority: INFO\n" +
		"- rule: Any event\n  desc: x\n  condition: proc.name = cat\n  output: \"x %container.info\"\n  priority: INFO\n" +
		"- rule: Any event, quiet\n  desc: x\n  condition: proc.name = cat\n  output: x\n  priority: INFO\n  warn_evttypes: false\n" +
		"- rule: Audit\n  desc: x\n  condition: ka.verb = create\n  output: \"%ka.user.name\"\n  priority: INFO\n  source: k8s_audit\n" +
		"- rule: Plugin\n  desc: x\n  condition: ct.name = x\n  output: x\n  priority: INFO\n  source: aws_cloudtrail\n" +
		"- list: 'bad name'\n  items: []\n- macro: bad-name\n  condition: proc.name = x\n- oops: 1\n" +
		"- rule: Regex\n  extra: 1\n  enabled: true\n  append: false\n"
	rs, ds := rules.Load([]rules.Source{{Name: "w.yaml", Data: []byte(src)}}, nil)
	if rs == nil {
		t.Fatalf("load failed: %v", ds)
	}
	var got []string
	for _, d := range ds {
		if !d.Warning {
			t.Errorf("not a warning: %s", d.Render())
		}
		got = append(got, fmt.Sprintf("%d:%d %s", d.Line, d.Col, d.Code))
	}
	want := []string{
		"3:48 " + diag.WarnCompileCondition,
		"6:3 " + diag.WarnNoEvttype,
		"9:14 " + diag.WarnDeprecatedItem,
		"23:3 " + diag.WarnUnknownSource,
		"29:9 " + diag.WarnInvalidListName,
		"31:10 " + diag.WarnInvalidMacroName,
		"33:3 " + diag.WarnUnknownItem,
		"35:3 " + diag.WarnUnknownKey,
		"36:3 " + diag.WarnDeprecatedItem,
		// Unused items last, as Falco finds them.
		"29:3 " + diag.WarnUnusedList,
		"31:3 " + diag.WarnUnusedMacro,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	var names []string
	for _, r := range rs.Rules {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"Regex", "Any event", "Any event, quiet", "Audit"}, names); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
