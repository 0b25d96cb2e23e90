package rules

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// parallelCases is a rules file with what changes the numbering of the
// origins or depends on the order of the loop: parse errors in macros and
// rules, macros (one broken, one unused, one using a list), lists (one
// unused, one nested), exceptions of both forms, a rule of an unknown
// source, rules whose checks or outputs fail, and an empty condition.
const parallelCases = `
- list: shells
  items: [bash, sh]
- list: all_shells
  items: [shells, zsh]
- list: never_used
  items: [x]
- macro: shell_procs
  condition: proc.name in (all_shells)
- macro: broken
  condition: proc.name = (
- macro: unused
  condition: fd.name startswith /etc
- macro: on_open
  condition: evt.type in (open, openat) and not proc.name in (shells)
- rule: uses broken
  desc: d
  condition: evt.type = open and broken
  output: "%proc.name"
  priority: WARNING
- rule: syntax error
  desc: d
  condition: |
    evt.type = open and
      proc.name = a b
  output: "%proc.name"
  priority: WARNING
- rule: bad field
  desc: d
  condition: evt.type = open and proc.nme = cat
  output: "%proc.name"
  priority: WARNING
- rule: bad output
  desc: d
  condition: on_open and fd.name = /etc/shadow
  output: "%proc.nam"
  priority: WARNING
- rule: other source
  desc: d
  condition: ka.verb = get and shells
  output: "%ka.verb"
  priority: WARNING
  source: k8s_audit
- rule: unknown source
  desc: d
  condition: anything ( at all
  output: x
  priority: WARNING
  source: nowhere
- rule: exceptions
  desc: d
  condition: shell_procs and on_open and tolower(proc.pname) = bash and fd.name = val(fd.directory)
  output: "%proc.name %fd.name"
  priority: WARNING
  exceptions:
    - name: pairs
      fields: [proc.name, fd.name]
      comps: [=, in]
      values:
        - [nano, [/etc]]
        - [vi, [/tmp, /var]]
    - name: single
      fields: proc.pname
      comps: in
      values: [shells, cron]
- rule: after the errors
  desc: d
  condition: (evt.type = execve and proc.name in (all_shells)) or (evt.type = connect and fd.sport > 1000)
  output: "%proc.name %fd.sport"
  priority: WARNING
- rule: empty
  desc: d
  condition: "   "
  output: x
  priority: WARNING
- rule: bad quote
  desc: d
  condition: proc.name = "a\qb" and evt.type = open
  output: x
  priority: WARNING
`

// loadSnapshot is what the loader made of a load: every diagnostic, every
// parsed and expanded tree (positions and origins included), the origins,
// and the ruleset.
type loadSnapshot struct {
	Diags   []diag.Diagnostic
	Origins []string
	Lists   []listSnap
	Macros  []macroSnap
	Rules   []ruleSnap
	Ruleset *Ruleset
}

type listSnap struct {
	Name     string
	Used     bool
	Compiled []string
}

type macroSnap struct {
	Name             string
	Parsed, Expanded syntax.Expr
	Macros, Lists    []string
	Used, Failed     bool
}

type ruleSnap struct {
	Name          string
	Cond          string
	Expr          syntax.Expr
	Macros, Lists []string
	Skipped       bool
	Checked, Tmpl bool
}

// loadWith loads files as Load does with the given number of parse
// workers and returns the loader's state. It checks that the path asked
// for was taken: with more than one worker, every condition came from a
// worker.
func loadWith(t *testing.T, workers int, files []Source) loadSnapshot {
	t.Helper()
	saved := parseWorkers
	parseWorkers = func() int { return workers }
	defer func() { parseWorkers = saved }()

	l := newLoader()
	for _, f := range files {
		l.readFile(f)
	}
	l.compile()
	for _, j := range append(append([]*condJob(nil), l.macroJobs...), l.ruleJobs...) {
		if j == nil {
			continue
		}
		if (j.ready != nil) != (workers > 1) {
			t.Fatalf("workers=%d: a condition was parsed on the wrong path (worker: %v)", workers, j.ready != nil)
		}
	}
	var s loadSnapshot
	s.Diags = l.sorted()
	for _, o := range l.origins {
		s.Origins = append(s.Origins, o.label+" | "+o.text.s)
	}
	for _, li := range l.listOrder {
		s.Lists = append(s.Lists, listSnap{li.name, li.used, li.compiled})
	}
	for _, m := range l.macroOrder {
		s.Macros = append(s.Macros, macroSnap{m.name, m.parsed, m.expanded, m.macros, m.lists, m.used, m.failed})
	}
	for _, r := range l.ruleOrder {
		c := l.results[r]
		s.Rules = append(s.Rules, ruleSnap{r.name, c.cond.s, c.expr, c.macros, c.lists, c.skipped, c.checked != nil, c.tmpl != nil})
	}
	if !diag.HasErrors(s.Diags) {
		s.Ruleset = l.ruleset()
	}
	return s
}

// TestParallelParse checks that parsing the conditions in parallel gives
// what the sequential parse gives: the same trees with the same positions
// and origins, the same diagnostics in the same order, the same origins,
// lists marked used and ruleset. The files have parse errors, macros,
// lists and exceptions; the project's default rules are loaded too.
func TestParallelParse(t *testing.T) {
	read := func(paths ...string) []Source {
		srcs, err := ReadPaths(paths)
		if err != nil {
			t.Fatal(err)
		}
		return srcs
	}
	defaults, err := filepath.Glob(filepath.Join("..", "..", "rules", "*.yaml"))
	if err != nil || len(defaults) == 0 {
		t.Fatalf("no default rules: %v", err)
	}
	big, err := os.ReadFile(filepath.Join("..", "..", "rules", "falco_rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		files      []Source
		wantErrors bool
	}{
		{"cases", []Source{{Name: "cases.yaml", Data: []byte(parallelCases)}}, true},
		{"errors", read(filepath.Join("testdata", "errors.yaml")), true},
		{"good+override", read(filepath.Join("testdata", "good.yaml"), filepath.Join("testdata", "override.yaml")), false},
		{"idioms", read(filepath.Join("testdata", "idioms.yaml")), false},
		{"default rules", read(defaults...), false},
		{"default rules then cases", append(read(defaults...), Source{Name: "z.yaml", Data: []byte(parallelCases)}), true},
		{"cases then default rules", []Source{{Name: "a.yaml", Data: []byte(parallelCases)}, {Name: "b.yaml", Data: big}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := loadWith(t, 1, tc.files)
			if diag.HasErrors(want.Diags) != tc.wantErrors {
				t.Fatalf("errors: %v, want %v: %v", diag.HasErrors(want.Diags), tc.wantErrors, want.Diags)
			}
			if len(want.Rules) == 0 || len(want.Origins) == 0 {
				t.Fatal("nothing loaded: the comparison would check nothing")
			}
			for _, workers := range []int{2, 4, 64} {
				got := loadWith(t, workers, tc.files)
				if d := cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true })); d != "" {
					t.Fatalf("workers=%d differs from the sequential load (-sequential +parallel):\n%s", workers, d)
				}
			}
		})
	}
}
