package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
)

const validRules = `- list: shell_binaries
  items: [bash, sh]
- macro: unused_macro
  condition: proc.name = ls
- rule: Shell
  desc: a shell was spawned
  condition: evt.type in (execve, execveat) and proc.name in (shell_binaries)
  output: "Shell (proc=%proc.name)"
  priority: NOTICE
  tags: [process]
`

const invalidRules = `- rule: Bad field
  desc: uses an unknown field
  condition: evt.type = open and proc.nme = cat
  output: "x %proc.name"
  priority: WARNING
- rule: Bad priority
  desc: x
  condition: evt.type = open
  output: "x"
  priority: SEVERE
`

func writeRules(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runValidateCmd(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	cmd := NewFalcocCommand(Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	code = Main(cmd, append([]string{"validate"}, args...))
	return out.String(), errb.String(), code
}

func TestValidate(t *testing.T) {
	dir := writeRules(t, map[string]string{"good.yaml": validRules, "bad.yaml": invalidRules})
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantErr    string
		wantStatus int
	}{
		{
			name: "valid with a warning",
			args: []string{good},
			wantOut: good + ":3:3: warning: Macro not referred to by any other rule/macro\n | - macro: unused_macro\n |   ^\n" +
				"1 file(s), ok, 1 warning(s)\n",
		},
		{
			name: "invalid",
			args: []string{bad},
			wantOut: bad + ":3:34: filter_check called with nonexistent field proc.nme\n" +
				" |   condition: evt.type = open and proc.nme = cat\n" +
				" |                                  ^\n" +
				bad + ":10:13: Invalid priority\n" +
				" |   priority: SEVERE\n" +
				" |             ^\n" +
				"1 file(s), 2 error(s)\n",
			wantStatus: 1,
		},
		{
			name:       "missing file",
			args:       []string{filepath.Join(dir, "nope.yaml")},
			wantErr:    "falcoc: read rules: stat " + filepath.Join(dir, "nope.yaml") + ": no such file or directory\n",
			wantStatus: 1,
		},
		{
			name:       "no arguments",
			args:       nil,
			wantErr:    "falcoc: requires at least 1 arg(s), only received 0\n",
			wantStatus: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runValidateCmd(tc.args...)
			if diff := cmp.Diff(tc.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if code != tc.wantStatus {
				t.Errorf("exit status %d, want %d", code, tc.wantStatus)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	dir := writeRules(t, map[string]string{"a.yaml": "- rule: yaml\n  desc: [unclosed\n", "b.yaml": validRules})
	out, errOut, code := runValidateCmd("--json", dir)
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	want := `{"falco_load_results":[` +
		`{"errors":[{"code":"LOAD_ERR_YAML_PARSE","codedesc":"YAML parse error","context":{"locations":[` +
		`{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,"name":"` + a + `","offset":0}}],` +
		`"snippet":"- rule: yaml\n^\n"},"message":"yaml: line 1: did not find expected ',' or ']'"}],"name":"` + a + `","successful":false,"warnings":[]},` +
		`{"errors":[],"name":"` + b + `","schema_valid":true,"schema_warnings":[],"successful":true,"warnings":[` +
		`{"code":"LOAD_UNUSED_MACRO","codedesc":"A macro is defined in the rules content but is not used by any other macro or rule.","context":{"locations":[` +
		`{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,"name":"` + b + `","offset":0}},` +
		`{"item_name":"unused_macro","item_type":"macro","position":{"column":2,"line":2,"name":"` + b + `","offset":45}}],` +
		`"snippet":"- macro: unused_macro\n  ^\n"},"message":"Macro not referred to by any other rule/macro"}]}]}` + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if errOut != "" || code != 1 {
		t.Errorf("stderr %q, exit status %d; want none and 1", errOut, code)
	}
}

func TestValidateFalcoText(t *testing.T) {
	srcs := []rules.Source{{Name: "bad2.yaml", Data: []byte(invalidRules)}, {Name: "ok.yaml", Data: []byte(validRules)}}
	_, ds := rules.Load(srcs[:1], nil)
	_, ds2 := rules.Load(srcs[1:], nil)
	var b strings.Builder
	if err := writeFalcoValidation(&b, diag.GroupByFile([]string{"bad2.yaml", "ok.yaml"}, append(ds, ds2...)), false); err != nil {
		t.Fatal(err)
	}
	want := "bad2.yaml: Invalid\n" +
		"2 Errors:\n" +
		"In rules content: (bad2.yaml:0:0)\n" +
		"    rule 'Bad field': (bad2.yaml:0:2)\n" +
		"    rule condition: (bad2.yaml:2:13)\n" +
		"    condition expression: (\"evt.type = open a...\":3:34)\n" +
		"------\n" +
		"evt.type = open and proc.nme = cat\n" +
		"                                 ^\n" +
		"------\n" +
		"LOAD_ERR_COMPILE_CONDITION (Error compiling condition): filter_check called with nonexistent field proc.nme\n" +
		"\n" +
		"In rules content: (bad2.yaml:0:0)\n" +
		"    rule 'Bad priority': (bad2.yaml:5:2)\n" +
		"    rule priority: (bad2.yaml:9:12)\n" +
		"------\n" +
		"  priority: SEVERE\n" +
		"            ^\n" +
		"------\n" +
		"LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): Invalid priority\n" +
		"\n" +
		"ok.yaml: Ok, with warnings\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestValidateFalcoList(t *testing.T) {
	rs, ds := rules.Load([]rules.Source{{Name: "r.yaml", Data: []byte(validRules + `- rule: Second
  desc: another rule
  condition: evt.type = open
  output: "open %fd.name"
  priority: INFO
  enabled: false
  exceptions:
    - name: known
      fields: [proc.name]
      values: [[sh -c true]]
`)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	var text strings.Builder
	if err := writeFalcoList(&text, rs, false); err != nil {
		t.Fatal(err)
	}
	wantText := "Rule                                               Description\n" +
		"----                                               -----------\n" +
		"Shell                                              a shell was spawned \n\n" +
		"Second                                             another rule \n\n"
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	var js strings.Builder
	if err := writeFalcoList(&js, rs, true); err != nil {
		t.Fatal(err)
	}
	// The parts that do not depend on the checker's rendering.
	for _, want := range []string{
		`"info":{"items":["bash","sh"],"name":"shell_binaries"}`,
		`"details":{"items_compiled":["bash","sh"],"lists":[],"plugins":[],"used":true}`,
		`"info":{"condition":"proc.name = ls","name":"unused_macro"}`,
		`"info":{"capture":false,"capture_duration":0,"condition":"evt.type in (execve, execveat) and proc.name in (shell_binaries)","description":"a shell was spawned","enabled":true,"name":"Shell","output":"Shell (proc=%proc.name)","priority":"Notice","source":"syscall","tags":["process"]}`,
		`"exception_fields":["proc.name"],"exception_names":["known"],"exception_operators":["="],"lists":[],"macros":[],"output_compiled":"open %fd.name","output_fields":["fd.name"],"plugins":[]}`,
		`"enabled":false,"name":"Second"`,
		`"required_engine_version":"0.0.0","required_plugin_versions":[]`,
	} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s\nJSON: %s", want, js.String())
		}
	}
}

func TestValidateRunHelpers(t *testing.T) {
	dir := writeRules(t, map[string]string{"good.yaml": validRules, "bad.yaml": invalidRules})
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")

	var out bytes.Buffer
	if err := runFalcoValidate(&out, []string{good}, false); err != nil {
		t.Errorf("runFalcoValidate(good) = %v", err)
	}
	if diff := cmp.Diff(good+": Ok, with warnings\n", out.String()); diff != "" {
		t.Errorf("-V good (-want +got):\n%s", diff)
	}

	out.Reset()
	err := runFalcoValidate(&out, []string{bad}, false)
	if ee, ok := err.(*ExitError); !ok || ee.Code != 1 {
		t.Errorf("runFalcoValidate(bad) = %v, want exit status 1", err)
	}
	if !strings.HasPrefix(out.String(), bad+": Invalid\n2 Errors:\n") {
		t.Errorf("-V bad printed %q", out.String())
	}

	out.Reset()
	var errOut bytes.Buffer
	if err := runFalcoList(&out, &errOut, []string{good}, &rules.Options{DisabledRules: []string{"*"}}, false); err != nil {
		t.Errorf("runFalcoList(good) = %v", err)
	}
	if !strings.Contains(out.String(), "\nShell ") || errOut.Len() != 0 {
		t.Errorf("-L printed %q, errors %q", out.String(), errOut.String())
	}

	out.Reset()
	errOut.Reset()
	err = runFalcoList(&out, &errOut, []string{bad}, nil, true)
	if ee, ok := err.(*ExitError); !ok || ee.Code != 1 {
		t.Errorf("runFalcoList(bad) = %v, want exit status 1", err)
	}
	if out.Len() != 0 || !strings.HasPrefix(errOut.String(), bad+":3:34: filter_check called with nonexistent field proc.nme\n") {
		t.Errorf("-L bad printed %q, errors %q", out.String(), errOut.String())
	}
}
