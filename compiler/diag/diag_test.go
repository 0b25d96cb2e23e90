package diag_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/diag"
)

// priorityErr is the diagnostic for a bad priority on line 10 of rules.yaml.
var priorityErr = diag.Diagnostic{
	Code:    diag.ErrYAMLValidate,
	Message: "Invalid priority",
	File:    "rules.yaml",
	Line:    10,
	Col:     13,
	Snippet: "  priority: SEVERE",
	Context: []diag.Location{
		{ItemType: "rules content", File: "rules.yaml"},
		{ItemType: "rule", ItemName: "Bad priority", File: "rules.yaml", Line: 5, Col: 2, Offset: 163},
		{ItemType: "rule priority", File: "rules.yaml", Line: 9, Col: 12, Offset: 247},
	},
}

var unusedWarn = diag.Diagnostic{
	Code:    diag.WarnUnusedMacro,
	Message: "Macro not referred to by any other rule/macro",
	Warning: true,
	File:    "rules.yaml",
	Line:    1,
	Col:     3,
	Snippet: "- macro: unused_macro",
	Context: []diag.Location{
		{ItemType: "rules content", File: "rules.yaml"},
		{ItemType: "macro", ItemName: "unused_macro", File: "rules.yaml", Line: 0, Col: 2, Offset: 2},
	},
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		d    diag.Diagnostic
		want string
	}{
		{"error", priorityErr, "rules.yaml:10:13: Invalid priority\n |   priority: SEVERE\n |             ^\n"},
		{"warning", unusedWarn, "rules.yaml:1:3: warning: Macro not referred to by any other rule/macro\n | - macro: unused_macro\n |   ^\n"},
		{"tabs keep the caret aligned", diag.Diagnostic{Message: "m", File: "f", Line: 2, Col: 3, Snippet: "\tab"},
			"f:2:3: m\n | \tab\n | \t ^\n"},
		{"no position", diag.Diagnostic{Message: "cannot read", File: "f.yaml"}, "f.yaml: cannot read\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.d.Render()); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
			first, _, _ := strings.Cut(tc.want, "\n")
			if !tc.d.Warning && tc.d.Error() != first {
				t.Errorf("Error() = %q, want %q", tc.d.Error(), first)
			}
		})
	}
}

func TestFalcoText(t *testing.T) {
	results := []diag.FileResult{
		{Name: "bad.yaml", Diagnostics: []diag.Diagnostic{withFile(unusedWarn, "bad.yaml"), withFile(priorityErr, "bad.yaml")}},
		{Name: "warn.yaml", Diagnostics: []diag.Diagnostic{withFile(unusedWarn, "warn.yaml")}},
		{Name: "ok.yaml"},
	}
	want := "bad.yaml: Invalid\n" +
		"1 Errors:\n" +
		"In rules content: (bad.yaml:0:0)\n" +
		"    rule 'Bad priority': (bad.yaml:5:2)\n" +
		"    rule priority: (bad.yaml:9:12)\n" +
		"------\n" +
		"  priority: SEVERE\n" +
		"            ^\n" +
		"------\n" +
		"LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): Invalid priority\n" +
		"\n" +
		"warn.yaml: Ok, with warnings\n" +
		"ok.yaml: Ok\n"
	var b strings.Builder
	if err := diag.WriteFalcoText(&b, results); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestFalcoJSON(t *testing.T) {
	results := []diag.FileResult{
		{Name: "rules.yaml", Diagnostics: []diag.Diagnostic{priorityErr}},
		{Name: "warn.yaml", Diagnostics: []diag.Diagnostic{withFile(unusedWarn, "warn.yaml")}},
		{Name: "broken.yaml", Diagnostics: []diag.Diagnostic{{Code: diag.ErrYAMLParse, Message: "yaml: bad <&>", File: "broken.yaml",
			Context: []diag.Location{{ItemType: "rules content", File: "broken.yaml"}}}}},
	}
	want := `{"falco_load_results":[` +
		`{"errors":[{"code":"LOAD_ERR_YAML_VALIDATE","codedesc":"Error validating internal structure of YAML file","context":{"locations":[` +
		`{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,"name":"rules.yaml","offset":0}},` +
		`{"item_name":"Bad priority","item_type":"rule","position":{"column":2,"line":5,"name":"rules.yaml","offset":163}},` +
		`{"item_name":"","item_type":"rule priority","position":{"column":12,"line":9,"name":"rules.yaml","offset":247}}],` +
		`"snippet":"  priority: SEVERE\n            ^\n"},"message":"Invalid priority"}],` +
		`"name":"rules.yaml","schema_valid":true,"schema_warnings":[],"successful":false,"warnings":[]},` +
		`{"errors":[],"name":"warn.yaml","schema_valid":true,"schema_warnings":[],"successful":true,"warnings":[` +
		`{"code":"LOAD_UNUSED_MACRO","codedesc":"A macro is defined in the rules content but is not used by any other macro or rule.","context":{"locations":[` +
		`{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,"name":"warn.yaml","offset":0}},` +
		`{"item_name":"unused_macro","item_type":"macro","position":{"column":2,"line":0,"name":"warn.yaml","offset":2}}],` +
		`"snippet":"- macro: unused_macro\n  ^\n"},"message":"Macro not referred to by any other rule/macro"}]},` +
		`{"errors":[{"code":"LOAD_ERR_YAML_PARSE","codedesc":"YAML parse error","context":{"locations":[` +
		`{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,"name":"broken.yaml","offset":0}}],` +
		`"snippet":""},"message":"yaml: bad <&>"}],"name":"broken.yaml","successful":false,"warnings":[]}]}` + "\n"
	var b strings.Builder
	if err := diag.WriteFalcoJSON(&b, results); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestGroupByFile(t *testing.T) {
	a := diag.Diagnostic{File: "a.yaml", Message: "1"}
	b := diag.Diagnostic{File: "b.yaml", Message: "2"}
	x := diag.Diagnostic{File: "x.yaml", Message: "3"}
	got := diag.GroupByFile([]string{"a.yaml", "b.yaml", "c.yaml", "a.yaml"}, []diag.Diagnostic{b, a, x, b})
	want := []diag.FileResult{
		{Name: "a.yaml", Diagnostics: []diag.Diagnostic{a}},
		{Name: "b.yaml", Diagnostics: []diag.Diagnostic{b, b}},
		{Name: "c.yaml"},
		{Name: "x.yaml", Diagnostics: []diag.Diagnostic{x}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupByFile (-want +got):\n%s", diff)
	}
}

func TestCodeDesc(t *testing.T) {
	codes := []string{
		diag.ErrFileRead, diag.ErrYAMLParse, diag.ErrYAMLValidate, diag.ErrCompileCondition, diag.ErrCompileOutput,
		diag.ErrValidate, diag.ErrExtension, diag.WarnUnknownSource, diag.WarnUnsafeNACheck, diag.WarnNoEvttype,
		diag.WarnUnknownFilter, diag.WarnUnusedMacro, diag.WarnUnusedList, diag.WarnUnknownItem, diag.WarnDeprecatedItem,
		diag.WarnExtension, diag.WarnAppendNoValues, diag.WarnExceptionNotUnique, diag.WarnInvalidMacroName,
		diag.WarnInvalidListName, diag.WarnCompileCondition, diag.WarnUnknownKey,
	}
	for _, c := range codes {
		if d := diag.CodeDesc(c); d == c || d == "" {
			t.Errorf("CodeDesc(%s) = %q: no description", c, d)
		}
	}
	if got := diag.CodeDesc("LOAD_SOMETHING_NEW"); got != "LOAD_SOMETHING_NEW" {
		t.Errorf("CodeDesc(unknown) = %q", got)
	}
	if got := diag.CodeDesc(diag.ErrCompileCondition); got != "Error compiling condition" {
		t.Errorf("CodeDesc(%s) = %q", diag.ErrCompileCondition, got)
	}
}

func withFile(d diag.Diagnostic, file string) diag.Diagnostic {
	d.File = file
	d.Context = append([]diag.Location(nil), d.Context...)
	for i := range d.Context {
		d.Context[i].File = file
	}
	return d
}
