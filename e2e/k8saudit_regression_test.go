package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// regressionDir holds Falco's k8s audit regression tests (falcosecurity/falco
// 0.34.1, test/) and the rule files they name; see its README.md.
const regressionDir = "testdata/k8saudit_regression"

// regressionCase is one entry of falco_k8s_audit_tests.yaml.
type regressionCase struct {
	Name           string
	Detect         bool              `yaml:"detect"`
	DetectLevel    any               `yaml:"detect_level"` // a priority or a list of them
	DetectCounts   []map[string]int  `yaml:"detect_counts"`
	EnableSource   string            `yaml:"enable_source"`
	RulesFile      []string          `yaml:"rules_file"`
	ConfFile       string            `yaml:"conf_file"`
	AddlCmdline    string            `yaml:"addl_cmdline_opts"`
	StderrContains string            `yaml:"stderr_contains"`
	Extra          map[string]string `yaml:",inline"`
}

// regressionNotLoaded are the cases whose rule files Falco 0.44 (and so
// falcoc) refuses to load, with the reason. They count as failures.
var regressionNotLoaded = map[string]string{}

// regressionKnownFailures are the cases falcoc fails, with the reason.
var regressionKnownFailures = map[string]string{}

func init() {
	// rules/k8s_audit/engine_v4_k8s_audit_rules.yaml (the old built-in
	// k8s audit rules) uses `ka.req.role.rules.resources contains
	// "pods/exec"`; Falco 0.44 refuses `contains` on a list field:
	// "'contains' operator not supported for list filters".
	for _, c := range []string{
		"compat_engine_v4_create_disallowed_pod", "compat_engine_v4_create_allowed_pod",
		"compat_engine_v4_create_privileged_pod", "compat_engine_v4_create_privileged_trusted_pod",
		"compat_engine_v4_create_unprivileged_pod", "compat_engine_v4_create_hostnetwork_pod",
		"compat_engine_v4_create_hostnetwork_trusted_pod",
	} {
		regressionNotLoaded[c] = "engine_v4_k8s_audit_rules.yaml: 'contains' operator not supported for list filters"
	}
}

// loadRegressionCases reads falco_k8s_audit_tests.yaml (its trace_files
// mapping carries Avocado's !mux tag), in file order.
func loadRegressionCases(t *testing.T) []regressionCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(regressionDir, "falco_k8s_audit_tests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	var mux *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "trace_files" {
			mux = top.Content[i+1]
		}
	}
	if mux == nil || mux.Kind != yaml.MappingNode {
		t.Fatal("no trace_files mapping")
	}
	var cases []regressionCase
	for i := 0; i+1 < len(mux.Content); i += 2 {
		var c regressionCase
		if err := mux.Content[i+1].Decode(&c); err != nil {
			t.Fatalf("%s: %v", mux.Content[i].Value, err)
		}
		c.Name = mux.Content[i].Value
		if len(c.Extra) > 0 {
			t.Fatalf("%s: keys this harness does not know: %v", c.Name, c.Extra)
		}
		cases = append(cases, c)
	}
	return cases
}

// rulesPath maps a rules_file entry to the copy in regressionDir.
func rulesPath(t *testing.T, p string) string {
	t.Helper()
	switch {
	case strings.HasSuffix(p, "falcosecurity-rules-falco/falco_rules.yaml"):
		p = "falco-rules-0.1.0/falco_rules.yaml"
	case strings.HasSuffix(p, "k8saudit-rules/k8s_audit_rules.yaml"):
		p = "k8saudit-rules-0.5.0/k8s_audit_rules.yaml"
	case strings.HasPrefix(p, "./rules/"):
	default:
		t.Fatalf("unknown rules file %s", p)
	}
	abs, err := filepath.Abs(filepath.Join(regressionDir, p))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// traceBodies reads the trace named by addl_cmdline_opts
// (-o plugins[0].open_params=trace_files/...): each non-empty line is one
// body, as the plugin reads a file.
func traceBodies(t *testing.T, opts string) []string {
	t.Helper()
	const key = "-o plugins[0].open_params="
	if !strings.HasPrefix(opts, key) || strings.ContainsRune(opts[len(key):], ' ') {
		t.Fatalf("addl_cmdline_opts %q: want %s<trace>", opts, key)
	}
	f, err := os.Open(filepath.Join(regressionDir, opts[len(key):]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bodies []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			bodies = append(bodies, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return bodies
}

// judge applies Falco's checks (test/falco_test.py of 0.34): rules load;
// detect False: no alert; detect True: some alert, and some at each
// detect_level priority; each detect_counts rule fired exactly that many
// times (others may fire too); stderr_contains is in stderr. It returns
// the reasons the case fails ("" when it passes).
func (c *regressionCase) judge(r webhookRun) string {
	if r.err != nil {
		return fmt.Sprintf("falco-run: %v: %s", r.err, lastLine(r.stderr))
	}
	byRule := map[string]int{}
	byPriority := map[string]int{}
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var a alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			return fmt.Sprintf("stdout line %q: %v", l, err)
		}
		total++
		byRule[a.Rule]++
		byPriority[shortPriority(a.Priority)]++
	}
	var why []string
	if !c.Detect && total > 0 {
		why = append(why, fmt.Sprintf("detected %d events, want none (%v)", total, byRule))
	}
	if c.Detect {
		if total == 0 {
			why = append(why, "detected no event")
		}
		for _, lvl := range c.levels() {
			if byPriority[strings.ToLower(lvl)] == 0 {
				why = append(why, fmt.Sprintf("no event at level %s (%v)", lvl, byPriority))
			}
		}
	}
	for _, m := range c.DetectCounts {
		for rule, n := range m {
			if byRule[rule] != n {
				why = append(why, fmt.Sprintf("rule %q: %d alerts, want %d", rule, byRule[rule], n))
			}
		}
	}
	if c.StderrContains != "" && !strings.Contains(r.stderr, c.StderrContains) {
		why = append(why, fmt.Sprintf("stderr lacks %q", c.StderrContains))
	}
	sort.Strings(why)
	return strings.Join(why, "; ")
}

func (c *regressionCase) levels() []string {
	switch v := c.DetectLevel.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// shortPriority is the name Falco's end-of-run counts print for a priority
// ("INFO: 1" for Informational), which falco_test.py matches
// detect_level against, case-insensitively.
func shortPriority(p string) string {
	p = strings.ToLower(p)
	if p == "informational" {
		return "info"
	}
	return p
}

// reasonText is the message of a "file: message" reason.
func reasonText(reason string) string {
	_, msg, _ := strings.Cut(reason, ": ")
	return msg
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestK8sAuditRegression runs Falco's k8s audit regression suite through
// the real webhook: for each case, falco-run loads the case's rule files,
// every line of its trace is posted as one request, and the alerts are
// judged as Falco's harness judges them. The set of passing cases must be
// exactly the expected one, so a regression and an unexpected fix both
// fail the test; the count is logged.
func TestK8sAuditRegression(t *testing.T) {
	cases := loadRegressionCases(t)
	if len(cases) != 66 {
		t.Fatalf("%d cases, want the 66 of Falco 0.34.1", len(cases))
	}
	var report bytes.Buffer
	pass := 0
	var unexpected []string
	for _, c := range cases {
		if c.EnableSource != "k8s_audit" {
			t.Fatalf("%s: enable_source %q", c.Name, c.EnableSource)
		}
		var rules []string
		for _, f := range c.RulesFile {
			rules = append(rules, rulesPath(t, f))
		}
		r := runWebhook(t, rules, traceBodies(t, c.AddlCmdline), "-o", "json_output=true", "--enable-source", "k8s_audit")
		if r.started && r.err != nil {
			t.Errorf("%s: falco-run failed after starting: %v\n%s", c.Name, r.err, r.stderr)
		}
		why := c.judge(r)
		if why == "" {
			pass++
		}
		expected, known := regressionNotLoaded[c.Name], false
		if expected == "" {
			expected, known = regressionKnownFailures[c.Name]
		} else {
			known = true
		}
		switch {
		case why == "" && known:
			unexpected = append(unexpected, fmt.Sprintf("%s: passes, but is listed as failing (%s)", c.Name, expected))
		case why != "" && !known:
			unexpected = append(unexpected, fmt.Sprintf("%s: %s", c.Name, why))
		case why != "" && regressionNotLoaded[c.Name] != "" && r.started:
			unexpected = append(unexpected, fmt.Sprintf("%s: listed as not loading, but loads: %s", c.Name, why))
		case regressionNotLoaded[c.Name] != "" && !strings.Contains(r.stderr, reasonText(regressionNotLoaded[c.Name])):
			unexpected = append(unexpected, fmt.Sprintf("%s: does not load, but not for the listed reason: %s", c.Name, r.stderr))
		}
		status := "pass"
		if why != "" {
			status = "FAIL " + why
		}
		fmt.Fprintf(&report, "%-50s %s\n", c.Name, status)
	}
	t.Logf("Falco 0.34.1 k8s audit regression suite: pass %d of %d\n%s", pass, len(cases), report.String())
	slices.Sort(unexpected)
	if d := cmp.Diff([]string(nil), unexpected); d != "" {
		t.Errorf("unexpected results (-want +got):\n%s", d)
	}
	if want := len(cases) - len(regressionNotLoaded) - len(regressionKnownFailures); pass != want {
		t.Errorf("pass %d of %d, want %d", pass, len(cases), want)
	}
}
