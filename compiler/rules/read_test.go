package rules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/diag"
)

// readOnly runs the reading phase and list compilation (no condition
// parsing) over files named a.yaml, b.yaml, ...
func readOnly(files ...string) *loader {
	l := newLoader()
	for i, f := range files {
		l.readFile(Source{Name: string(rune('a'+i)) + ".yaml", Data: []byte(f)})
	}
	l.compileLists()
	return l
}

// ruleCond is the final condition text of a rule, before parsing.
func (l *loader) ruleCond(name string) string {
	r := l.rules[name]
	if r == nil {
		return "<no rule>"
	}
	c, _ := l.substitute(withExceptions(r.cond, r.exceptions))
	return c.s
}

func renderAll(ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Render())
	}
	return out
}

func TestRuleConditionText(t *testing.T) {
	const rule = "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n"
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{
			name:  "without exceptions, not wrapped (Falco wraps for exceptions only)",
			files: []string{rule + "  condition: evt.type = open\n"},
			want:  "evt.type = open",
		},
		{
			name: "list substituted",
			files: []string{"- list: shells\n  items: [bash, sh]\n" +
				rule + "  condition: proc.name in (shells)\n"},
			want: "proc.name in ( bash, sh )",
		},
		{
			name: "list defined after the rule is still visible to it",
			files: []string{rule + "  condition: proc.name in (shells)\n" +
				"- list: shells\n  items: [bash]\n"},
			want: "proc.name in ( bash )",
		},
		{
			name: "list items with spaces are quoted",
			files: []string{"- list: l\n  items: ['a b', '\"c d\"', x]\n" +
				rule + "  condition: proc.cmdline in (l)\n"},
			want: `proc.cmdline in ( "a b", "c d", x )`,
		},
		{
			name: "empty list removes a comma",
			files: []string{"- list: e\n  items: []\n" +
				rule + "  condition: proc.name in (a, e)\n"},
			want: "proc.name in (a  )",
		},
		{
			name: "nested list flattened once with raw items",
			files: []string{"- list: a\n  items: [x, y]\n- list: b\n  items: [a, z]\n- list: c\n  items: [b]\n" +
				rule + "  condition: proc.name in (c)\n"},
			want: "proc.name in ( a, z )",
		},
		{
			// b is not flattened (a is defined after it), but a is then
			// substituted textually into the rule's condition.
			name: "nested list must be defined before",
			files: []string{"- list: b\n  items: [a, z]\n- list: a\n  items: [x]\n" +
				rule + "  condition: proc.name in (b)\n"},
			want: "proc.name in ( x , z )",
		},
		{
			name: "list append",
			files: []string{"- list: l\n  items: [a]\n- list: l\n  items: [b]\n  append: true\n" +
				"- list: l\n  items: [c]\n  override:\n    items: append\n" +
				rule + "  condition: proc.name in (l)\n"},
			want: "proc.name in ( a, b, c )",
		},
		{
			name: "list override replace",
			files: []string{"- list: l\n  items: [a]\n- list: l\n  items: [b]\n  override:\n    items: replace\n" +
				rule + "  condition: proc.name in (l)\n"},
			want: "proc.name in ( b )",
		},
		{
			name: "legacy rule append",
			files: []string{rule + "  condition: evt.type = open\n",
				"- rule: r\n  condition: and proc.name = cat\n  append: true\n"},
			want: "evt.type = open and proc.name = cat",
		},
		{
			name: "override condition append",
			files: []string{rule + "  condition: evt.type = open\n" +
				"- rule: r\n  condition: or proc.name = cat\n  override:\n    condition: append\n"},
			want: "evt.type = open or proc.name = cat",
		},
		{
			name: "override condition replace",
			files: []string{rule + "  condition: evt.type = open\n" +
				"- rule: r\n  condition: proc.name = cat\n  override:\n    condition: replace\n"},
			want: "proc.name = cat",
		},
		{
			name:  "duplicate definition replaces",
			files: []string{rule + "  condition: evt.type = open\n" + rule + "  condition: evt.type = close\n"},
			want:  "evt.type = close",
		},
		{
			name: "exception list form",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n" +
				"      values:\n        - [my-yum, /usr/bin]\n        - [my dpkg, [/a, /b c]]\n"},
			want: `(evt.type = open) and not (( proc.name = my-yum and  fd.name startswith /usr/bin) or ( proc.name = "my dpkg" and  fd.name startswith (/a, "/b c")))`,
		},
		{
			name: "exception list form, list operator values get parentheses",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name, fd.name]\n      comps: [in, pmatch]\n" +
				"      values:\n        - [a, (/etc)]\n        - [shells, /usr]\n" +
				"- list: shells\n  items: [bash, sh]\n"},
			want: `(evt.type = open) and not (( proc.name in (a) and  fd.name pmatch (/etc)) or ( proc.name in ( bash, sh ) and  fd.name pmatch (/usr)))`,
		},
		{
			name: "exception default comps are =",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: known\n      fields: [proc.name]\n      values:\n        - [sh -c true]\n"},
			want: `(evt.type = open) and not (( proc.name = "sh -c true"))`,
		},
		{
			name: "exception modifier operator",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [fd.name]\n      comps: [startswith oneof]\n      values:\n        - [[/a, /b]]\n        - [/c]\n"},
			want: `(evt.type = open) and not (( fd.name startswith oneof (/a, /b)) or ( fd.name startswith oneof (/c)))`,
		},
		{
			name: "exception scalar form",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: proc.name\n      values: [python, 'go run']\n"},
			want: `(evt.type = open) and not (proc.name in (python, "go run"))`,
		},
		{
			name: "exception scalar form pmatch",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: fd.name\n      comps: pmatch\n      values: [/etc, /usr]\n"},
			want: `(evt.type = open) and not (fd.name pmatch (/etc, /usr))`,
		},
		{
			name: "exception without values adds nothing",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name]\n    - name: f\n      fields: fd.name\n"},
			want: `(evt.type = open)`,
		},
		{
			name: "several exceptions",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name]\n      values: [[a]]\n" +
				"    - name: f\n      fields: fd.name\n      values: [b]\n"},
			want: `(evt.type = open) and not (( proc.name = a)) and not (fd.name in (b))`,
		},
		{
			name: "exception values appended by name",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name]\n      values: [[a]]\n",
				"- rule: r\n  exceptions:\n    - name: e\n      values: [[b]]\n    - name: n\n      fields: fd.name\n      values: [c]\n  override:\n    exceptions: append\n"},
			want: `(evt.type = open) and not (( proc.name = a) or ( proc.name = b)) and not (fd.name in (c))`,
		},
		{
			name: "legacy append of exceptions only",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name]\n",
				"- rule: r\n  exceptions:\n    - name: e\n      values: [[b]]\n  append: true\n"},
			want: `(evt.type = open) and not (( proc.name = b))`,
		},
		{
			name: "exceptions replaced",
			files: []string{rule + "  condition: evt.type = open\n  exceptions:\n" +
				"    - name: e\n      fields: [proc.name]\n      values: [[a]]\n",
				"- rule: r\n  exceptions:\n    - name: x\n      fields: [fd.name]\n      values: [[b]]\n  override:\n    exceptions: replace\n"},
			want: `(evt.type = open) and not (( fd.name = b))`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := readOnly(tc.files...)
			if ds := l.sorted(); diag.HasErrors(ds) {
				t.Fatalf("unexpected errors:\n%s", strings.Join(renderAll(ds), ""))
			}
			if diff := cmp.Diff(tc.want, l.ruleCond("r")); diff != "" {
				t.Errorf("condition (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadDiagnostics checks whole messages of the reading phase.
func TestReadDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{
			name:  "yaml parse error",
			files: []string{"- rule: yaml\n  desc: [unclosed\n"},
			want:  []string{"a.yaml:1:1: yaml: line 1: did not find expected ',' or ']'\n | - rule: yaml\n | ^\n"},
		},
		{
			name:  "not a sequence",
			files: []string{"rule: x\n"},
			want:  []string{"a.yaml:1:1: Rules content is not yaml array of objects\n | rule: x\n | ^\n"},
		},
		{
			name:  "scalar document",
			files: []string{"hello\n"},
			want:  []string{"a.yaml:1:1: Rules content is not yaml\n | hello\n | ^\n"},
		},
		{
			name:  "element not a map",
			files: []string{"- just a string\n- ~\n"},
			want: []string{"a.yaml:1:3: Unexpected element type. Each element should be a yaml associative array.\n" +
				" | - just a string\n |   ^\n"},
		},
		{
			name:  "unknown item and unknown key",
			files: []string{"- foo: bar\n- list: l\n  items: [a]\n  colour: red\n"},
			want: []string{
				"a.yaml:1:3: warning: Unknown top level item\n | - foo: bar\n |   ^\n",
				"a.yaml:4:3: warning: Unknown key 'colour'. The key will be ignored.\n |   colour: red\n |   ^\n",
				"a.yaml:2:3: warning: List not referred to by any other rule/macro\n | - list: l\n |   ^\n",
			},
		},
		{
			name:  "invalid names",
			files: []string{"- list: 'a b'\n  items: []\n- macro: 1m\n  condition: x\n"},
			want: []string{
				"a.yaml:1:9: warning: List has an invalid name. List names should match a regular expression: [^()\"'[:space:]=,]+\n | - list: 'a b'\n |         ^\n",
				"a.yaml:3:10: warning: Macro has an invalid name. Macro names should match a regular expression: [a-zA-Z]+[a-zA-Z0-9_]*\n | - macro: 1m\n |          ^\n",
				"a.yaml:1:3: warning: List not referred to by any other rule/macro\n | - list: 'a b'\n |   ^\n",
				"a.yaml:3:3: warning: Macro not referred to by any other rule/macro\n | - macro: 1m\n |   ^\n",
			},
		},
		{
			name:  "missing required key",
			files: []string{"- rule: r\n  desc: d\n  condition: evt.type = open\n  priority: INFO\n"},
			want:  []string{"a.yaml:1:3: Item has no mapping for key 'output'\n | - rule: r\n |   ^\n"},
		},
		{
			name:  "missing list items",
			files: []string{"- list: l\n"},
			want:  []string{"a.yaml:1:3: Item has no mapping for key 'items'\n | - list: l\n |   ^\n"},
		},
		{
			name:  "bad priority",
			files: []string{"- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: SEVERE\n"},
			want:  []string{"a.yaml:5:13: Invalid priority\n |   priority: SEVERE\n |             ^\n"},
		},
		{
			name:  "bad boolean",
			files: []string{"- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n  enabled: maybe\n"},
			want:  []string{"a.yaml:6:12: Value for key 'enabled' is not a boolean\n |   enabled: maybe\n |            ^\n"},
		},
		{
			name:  "list append without list",
			files: []string{"- list: l\n  items: [a]\n  append: true\n"},
			want: []string{
				"a.yaml:1:3: List uses 'append' or 'override.items: append' but no list by that name already exists\n | - list: l\n |   ^\n",
				"a.yaml:3:3: warning: 'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.\n |   append: true\n |   ^\n",
			},
		},
		{
			name:  "macro append without macro",
			files: []string{"- macro: m\n  condition: and x\n  override:\n    condition: append\n"},
			want:  []string{"a.yaml:1:3: Macro uses 'append' or 'override.condition: append' but no macro by that name already exists\n | - macro: m\n |   ^\n"},
		},
		{
			name:  "rule append without rule",
			files: []string{"- rule: r\n  condition: and x\n  override:\n    condition: append\n"},
			want:  []string{"a.yaml:1:3: Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists\n | - rule: r\n |   ^\n"},
		},
		{
			name:  "rule replace without rule",
			files: []string{"- rule: r\n  priority: INFO\n  override:\n    priority: replace\n"},
			want:  []string{"a.yaml:1:3: An 'override.<key>: replace' to a rule was requested but no rule by that name already exists\n | - rule: r\n |   ^\n"},
		},
		{
			name:  "override and append together",
			files: []string{"- macro: m\n  condition: x\n  append: true\n  override:\n    condition: append\n"},
			want:  []string{"a.yaml:3:3: Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.\n |   append: true\n |   ^\n"},
		},
		{
			name:  "key cannot be appended",
			files: []string{"- rule: r\n  priority: INFO\n  override:\n    priority: append\n"},
			want:  []string{"a.yaml:4:5: Key 'priority' cannot be appended to, use 'replace' instead\n |     priority: append\n |     ^\n"},
		},
		{
			name:  "key cannot be replaced",
			files: []string{"- rule: r\n  source: syscall\n  override:\n    source: replace\n"},
			want:  []string{"a.yaml:4:5: Key 'source' cannot be replaced\n |     source: replace\n |     ^\n"},
		},
		{
			name:  "invalid override operation",
			files: []string{"- rule: r\n  desc: x\n  override:\n    desc: prepend\n"},
			want:  []string{"a.yaml:4:11: Invalid override operation for key 'desc': 'prepend'. Allowed values are: append, replace\n |     desc: prepend\n |           ^\n"},
		},
		{
			name:  "override of an undefined key",
			files: []string{"- rule: r\n  desc: x\n  override:\n    desc: replace\n    output: append\n"},
			want:  []string{"a.yaml:5:5: An append override for 'output' was specified but 'output' is not defined\n |     output: append\n |     ^\n"},
		},
		{
			name:  "key without override entry",
			files: []string{"- rule: r\n  desc: x\n  output: y\n  override:\n    desc: replace\n"},
			want:  []string{"a.yaml:3:3: Unexpected key 'output': no corresponding entry under 'override' is defined.\n |   output: y\n |   ^\n"},
		},
		{
			name:  "empty override",
			files: []string{"- rule: r\n  desc: x\n  override: {}\n"},
			want:  []string{"a.yaml:3:13: The rule must have at least one field that can be replaced\n |   override: {}\n |             ^\n"},
		},
		{
			name:  "legacy append without condition or exceptions",
			files: []string{"- rule: r\n  desc: x\n  append: true\n"},
			want: []string{
				"a.yaml:1:3: Appended rule must have exceptions or condition property\n | - rule: r\n |   ^\n",
				"a.yaml:3:3: warning: 'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.\n |   append: true\n |   ^\n",
			},
		},
		{
			name:  "enable-only without rule",
			files: []string{"- rule: r\n  enabled: false\n"},
			want:  []string{"a.yaml:1:3: Rule has 'enabled' key but no rule by that name already exists\n | - rule: r\n |   ^\n"},
		},
		{
			name:  "different source",
			files: []string{"- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n- rule: r\n  source: k8s_audit\n  condition: and x\n  append: true\n"},
			want: []string{
				"a.yaml:7:11: Rule has been re-defined with a different source\n |   source: k8s_audit\n |           ^\n",
				"a.yaml:9:3: warning: 'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.\n |   append: true\n |   ^\n",
			},
		},
		{
			name:  "engine version too new",
			files: []string{"- required_engine_version: 0.99.0\n"},
			want:  []string{"a.yaml:1:28: Rules require engine version 0.99.0, but engine version is 0.62.0\n | - required_engine_version: 0.99.0\n |                            ^\n"},
		},
		{
			name:  "engine version other major",
			files: []string{"- required_engine_version: 1.0.0\n"},
			want:  []string{"a.yaml:1:28: Rules require engine version 1.0.0, but engine version is 0.62.0\n | - required_engine_version: 1.0.0\n |                            ^\n"},
		},
		{
			name:  "engine version unparsable",
			files: []string{"- required_engine_version: 0.x\n"},
			want:  []string{"a.yaml:1:28: Unable to parse engine version '0.x'. Expected \"x.y.z\"\n | - required_engine_version: 0.x\n |                            ^\n"},
		},
		{
			name:  "engine version accepted",
			files: []string{"- required_engine_version: 0.57.0\n- required_engine_version: 15\n"},
		},
		{
			name: "plugins satisfied",
			files: []string{"- required_plugin_versions:\n  - name: container\n    version: 0.4.0\n  - name: container\n    version: 0.7.12\n" +
				"  - name: k8saudit\n    version: 0.1.0\n  - name: cloudtrail\n    version: 0.1.0\n    alternatives:\n      - name: json\n        version: 0.7.0\n"},
		},
		{
			name:  "k8saudit 0.18 rules (falcosecurity/plugins)",
			files: []string{"- required_plugin_versions:\n  - name: k8saudit\n    version: 0.18.0\n  - name: json\n    version: 0.7.0\n"},
		},
		{
			name:  "k8saudit too new",
			files: []string{"- required_plugin_versions:\n  - name: k8saudit\n    version: 0.19.0\n"},
			want:  []string{"a.yaml:2:5: Plugin 'k8saudit' version '0.18.x' is not compatible with required plugin version '0.19.0'\n |   - name: k8saudit\n |     ^\n"},
		},
		{
			name:  "plugin too new",
			files: []string{"- required_plugin_versions:\n  - name: container\n    version: 0.8.0\n"},
			want:  []string{"a.yaml:2:5: Plugin 'container' version '0.7.x' is not compatible with required plugin version '0.8.0'\n |   - name: container\n |     ^\n"},
		},
		{
			name:  "plugin unknown",
			files: []string{"- required_plugin_versions:\n  - name: okta\n    version: 0.1.0\n"},
			want:  []string{"a.yaml:2:5: Plugin 'okta' is required but not loaded\n |   - name: okta\n |     ^\n"},
		},
		{
			name:  "plugin version not semver",
			files: []string{"- required_plugin_versions:\n  - name: container\n    version: latest\n"},
			want:  []string{"a.yaml:3:14: Invalid required version 'latest' for plugin 'container'\n |     version: latest\n |              ^\n"},
		},
		{
			name:  "plugin named twice",
			files: []string{"- required_plugin_versions:\n  - name: okta\n    version: 0.1.0\n    alternatives:\n      - name: okta\n        version: 0.2.0\n"},
			want:  []string{"a.yaml:2:5: Plugin 'okta' is named more than once among the alternatives\n |   - name: okta\n |     ^\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := readOnly(tc.files...)
			l.reportUnused()
			if diff := cmp.Diff(tc.want, renderAll(l.sorted())); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExceptionDiagnostics checks every exception validation message.
func TestExceptionDiagnostics(t *testing.T) {
	const head = "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n  exceptions:\n"
	tests := []struct {
		name string
		ex   string
		more string
		want []string
	}{
		{
			name: "comps length",
			ex:   "    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=]\n",
			want: []string{"a.yaml:7:7: Fields and comps lists must have equal length\n |     - name: e\n |       ^\n"},
		},
		{
			name: "bad operator",
			ex:   "    - name: e\n      fields: [proc.name]\n      comps: [like]\n",
			want: []string{"a.yaml:9:15: 'like' is not a supported comparison operator\n |       comps: [like]\n |               ^\n"},
		},
		{
			name: "bad field",
			ex:   "    - name: e\n      fields: [proc.nme]\n",
			want: []string{"a.yaml:8:16: 'proc.nme' is not a supported filter field\n |       fields: [proc.nme]\n |                ^\n"},
		},
		{
			name: "scalar fields with list comps",
			ex:   "    - name: e\n      fields: proc.name\n      comps: [in]\n",
			want: []string{"a.yaml:7:7: Fields and comps must both be strings\n |     - name: e\n |       ^\n"},
		},
		{
			name: "scalar fields with scalar operator",
			ex:   "    - name: e\n      fields: proc.name\n      comps: startswith\n",
			want: []string{"a.yaml:9:14: When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator\n |       comps: startswith\n |              ^\n"},
		},
		{
			name: "no fields",
			ex:   "    - name: e\n      values: [[a]]\n",
			want: []string{"a.yaml:7:7: Rule exception item must have fields property with a list of fields\n |     - name: e\n |       ^\n"},
		},
		{
			name: "values length",
			ex:   "    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a]]\n",
			want: []string{"a.yaml:9:17: Fields and values lists must have equal length\n |       values: [[a]]\n |                 ^\n"},
		},
		{
			name: "scalar form with tuple values",
			ex:   "    - name: e\n      fields: proc.name\n      values: [[a, b]]\n",
			want: []string{"a.yaml:9:17: Expected values array to contain a list of strings\n |       values: [[a, b]]\n |                 ^\n"},
		},
		{
			name: "values not a sequence",
			ex:   "    - name: e\n      fields: [proc.name]\n      values: [{a: b}]\n",
			want: []string{"a.yaml:9:16: Expected values array to contain a list of strings\n |       values: [{a: b}]\n |                ^\n"},
		},
		{
			name: "duplicate name",
			ex:   "    - name: e\n      fields: [proc.name]\n    - name: e\n      fields: [fd.name]\n",
			want: []string{"a.yaml:9:7: warning: Multiple definitions of exception 'e' in the same rule\n |     - name: e\n |       ^\n"},
		},
		{
			name: "append fields to existing",
			ex:   "    - name: e\n      fields: [proc.name]\n",
			more: "- rule: r\n  exceptions:\n    - name: e\n      fields: [fd.name]\n      values: [[a]]\n  override:\n    exceptions: append\n",
			want: []string{"a.yaml:11:7: Can not append exception fields/comps to existing exception, only values\n |     - name: e\n |       ^\n"},
		},
		{
			name: "append with no values",
			ex:   "    - name: e\n      fields: [proc.name]\n",
			more: "- rule: r\n  exceptions:\n    - name: e\n  override:\n    exceptions: append\n",
			want: []string{"a.yaml:11:7: warning: Overriding/appending exception with no values\n |     - name: e\n |       ^\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := readOnly(head + tc.ex + tc.more)
			if diff := cmp.Diff(tc.want, renderAll(l.sorted())); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleKeys(t *testing.T) {
	base := "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: '  out  '\n  priority: WARNING\n  tags: [a, b]\n"
	tests := []struct {
		name  string
		files []string
		want  ruleView
	}{
		{
			name:  "defaults",
			files: []string{base},
			want:  ruleView{Desc: "d", Output: "out", Priority: Warning, Source: "syscall", Enabled: true, Tags: []string{"a", "b"}, WarnEvttypes: true},
		},
		{
			name: "every key set",
			files: []string{"- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  source: k8s_audit\n" +
				"  enabled: false\n  warn_evttypes: false\n  skip-if-unknown-filter: true\n  capture: true\n  capture_duration: 500\n"},
			want: ruleView{Desc: "d", Output: "o", Priority: Informational, Source: "k8s_audit", SkipUnknown: true, Capture: true, CaptureDuration: 500},
		},
		{
			name: "override append and replace",
			files: []string{base, "- rule: r\n  desc: more\n  output: '(x)'\n  tags: [b, c]\n  priority: debug\n  enabled: false\n" +
				"  override:\n    desc: append\n    output: append\n    tags: append\n    priority: replace\n    enabled: replace\n"},
			want: ruleView{Desc: "d more", Output: "out (x)", Priority: Debug, Source: "syscall", Tags: []string{"a", "b", "c"}, WarnEvttypes: true},
		},
		{
			name:  "tags replace",
			files: []string{base, "- rule: r\n  tags: [z]\n  override:\n    tags: replace\n"},
			want:  ruleView{Desc: "d", Output: "out", Priority: Warning, Source: "syscall", Enabled: true, Tags: []string{"z"}, WarnEvttypes: true},
		},
		{
			name:  "enable-only",
			files: []string{base, "- rule: r\n  enabled: false\n"},
			want:  ruleView{Desc: "d", Output: "out", Priority: Warning, Source: "syscall", Tags: []string{"a", "b"}, WarnEvttypes: true},
		},
		{
			name:  "failed override leaves the rule unchanged",
			files: []string{base, "- rule: r\n  desc: x\n  priority: bad\n  override:\n    desc: replace\n    priority: replace\n"},
			want:  ruleView{Desc: "d", Output: "out", Priority: Warning, Source: "syscall", Enabled: true, Tags: []string{"a", "b"}, WarnEvttypes: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := readOnly(tc.files...)
			r := l.rules["r"]
			if r == nil {
				t.Fatalf("no rule; diagnostics:\n%s", strings.Join(renderAll(l.sorted()), ""))
			}
			got := ruleView{Desc: r.desc, Output: r.output.s, Priority: r.priority, Source: r.source, Enabled: r.enabled,
				Tags: r.tags, WarnEvttypes: r.warnEvttypes, SkipUnknown: r.skipUnknown, Capture: r.capture, CaptureDuration: r.captureDuration}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rule (-want +got):\n%s", diff)
			}
		})
	}
}

type ruleView struct {
	Desc, Output, Source string
	Priority             Priority
	Enabled              bool
	Tags                 []string
	WarnEvttypes         bool
	SkipUnknown          bool
	Capture              bool
	CaptureDuration      int
}

// TestDuplicateKeepsPosition checks that redefinitions keep the original
// load order of lists, macros and rules.
func TestDuplicateKeepsPosition(t *testing.T) {
	l := readOnly("- rule: a\n  desc: 1\n  condition: c\n  output: o\n  priority: INFO\n" +
		"- rule: b\n  desc: 2\n  condition: c\n  output: o\n  priority: INFO\n" +
		"- rule: a\n  desc: 3\n  condition: c\n  output: o\n  priority: INFO\n" +
		"- list: x\n  items: [1]\n- list: y\n  items: [2]\n- list: x\n  items: [3]\n")
	var got []string
	for _, r := range l.ruleOrder {
		got = append(got, r.name+"="+r.desc)
	}
	for _, li := range l.listOrder {
		got = append(got, li.name+"="+strings.Join(li.items, ","))
	}
	if diff := cmp.Diff([]string{"a=3", "b=2", "x=3", "y=2"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestDocuments(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		rules []string
		want  []string
	}{
		{
			name:  "several documents, nulls and aliases",
			src:   "---\n- &base\n  rule: a\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n- ~\n---\n# only a comment\n---\n- <<: *base\n  rule: b\n",
			rules: []string{"a"},
			// yaml-cpp has no merge keys either: "<<" is just an unknown key,
			// and "rule: b" alone is an enable-only item without `enabled`.
			want: []string{
				"a.yaml:12:3: warning: Unknown key '<<'. The key will be ignored.\n | - <<: *base\n |   ^\n",
				"a.yaml:12:3: Item has no mapping for key 'enabled'\n | - <<: *base\n |   ^\n",
			},
		},
		{
			name:  "empty file",
			src:   "",
			rules: nil,
		},
		{
			name:  "alias element",
			src:   "- &r {rule: a, desc: d, condition: c, output: o, priority: INFO}\n- *r\n",
			rules: []string{"a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := readOnly(tc.src)
			var names []string
			for _, r := range l.ruleOrder {
				names = append(names, r.name)
			}
			if diff := cmp.Diff(tc.rules, names); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, renderAll(l.sorted())); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
