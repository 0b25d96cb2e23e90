package scap_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/internal/cli"
)

// falcoCase is one line of testdata/falco/cases.txt.
type falcoCase struct {
	line                 int
	kind, capture, rules string
	expect               string
	args                 []string
}

func readCases(t *testing.T) []falcoCase {
	t.Helper()
	b, err := os.ReadFile("testdata/falco/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []falcoCase
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, "|")
		for j := range f {
			f[j] = strings.TrimSpace(f[j])
		}
		if len(f) < 4 {
			t.Fatalf("cases.txt:%d: %d fields, want 4 or 5", i+1, len(f))
		}
		c := falcoCase{line: i + 1, kind: f[0], capture: f[1], rules: f[2], expect: f[3]}
		if len(f) > 4 && f[4] != "" {
			c.args = strings.Fields(f[4])
		}
		out = append(out, c)
	}
	return out
}

// difference is one line of testdata/falco/differences.txt.
type difference struct {
	output, rule, field, reason string
	seen                        bool
}

func readDifferences(t *testing.T) []*difference {
	t.Helper()
	b, err := os.ReadFile("testdata/falco/differences.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []*difference
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.SplitN(l, " | ", 4)
		if len(f) != 4 {
			t.Fatalf("differences.txt:%d: want OUTPUT | RULE | FIELD | reason", i+1)
		}
		out = append(out, &difference{output: f[0], rule: f[1], field: f[2], reason: f[3]})
	}
	return out
}

// runFalcoRun runs falco-run in-process on capture with rules and args,
// and returns its standard output.
func runFalcoRun(t *testing.T, capture, rules string, args []string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := cli.NewFalcoRunCommand(cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	full := append([]string{"-r", filepath.Join("testdata/falco", rules), "-e", filepath.Join("testdata", capture)}, args...)
	if rc := cli.Main(cmd, full); rc != 0 {
		t.Fatalf("falco-run %s: exit %d\n%s", strings.Join(full, " "), rc, errb.String())
	}
	if !strings.Contains(errb.String(), "Capture ") {
		t.Errorf("no capture summary on stderr:\n%s", errb.String())
	}
	return out.String()
}

type alert struct {
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         string         `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
}

func parseAlerts(t *testing.T, name string, data string) []alert {
	t.Helper()
	var out []alert
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var a alert
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		if err := d.Decode(&a); err != nil {
			t.Fatalf("%s: %v: %s", name, err, l)
		}
		out = append(out, a)
	}
	return out
}

// TestFalcoCases replays Falco's test captures through falco-run and
// compares with what Falco recorded (testdata/falco/cases.txt): alert for
// alert and field for field, every difference either listed with its
// reason in differences.txt or a failure.
func TestFalcoCases(t *testing.T) {
	diffs := readDifferences(t)
	cases := readCases(t)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d_%s_%s", c.line, c.kind, strings.TrimSuffix(c.capture, ".scap")), func(t *testing.T) {
			switch c.kind {
			case "alerts":
				checkAlerts(t, c, diffs)
			case "counts":
				checkCounts(t, c)
			case "fields":
				checkFields(t, c, diffs)
			default:
				t.Fatalf("cases.txt:%d: unknown kind %q", c.line, c.kind)
			}
		})
	}
	for _, d := range diffs {
		if !d.seen {
			t.Errorf("differences.txt lists %s | %s | %s, which no longer happens: remove it", d.output, d.rule, d.field)
		}
	}
}

func known(diffs []*difference, output, rule, field string) bool {
	for _, d := range diffs {
		if d.output == output && d.rule == rule && d.field == field {
			d.seen = true
			return true
		}
	}
	return false
}

func checkAlerts(t *testing.T, c falcoCase, diffs []*difference) {
	b, err := os.ReadFile(filepath.Join("testdata/falco", c.expect))
	if err != nil {
		t.Fatal(err)
	}
	want := parseAlerts(t, c.expect, string(b))
	got := parseAlerts(t, "falco-run", runFalcoRun(t, c.capture, c.rules, c.args))
	if len(want) == 0 {
		t.Fatalf("%s holds no alert", c.expect)
	}
	if len(got) != len(want) {
		t.Fatalf("%d alerts, Falco recorded %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		report := func(field string, wv, gv any) {
			if known(diffs, c.expect, w.Rule, field) {
				return
			}
			t.Errorf("alert %d (%s at %s): %s: Falco %v, falcoc %v", i+1, w.Rule, w.Time, field, wv, gv)
		}
		for _, f := range []struct {
			name   string
			wv, gv any
		}{
			{"rule", w.Rule, g.Rule}, {"priority", w.Priority, g.Priority}, {"source", w.Source, g.Source},
			{"time", w.Time, g.Time}, {"output", w.Output, g.Output},
		} {
			if f.wv != f.gv {
				report(f.name, strconv.Quote(fmt.Sprint(f.wv)), strconv.Quote(fmt.Sprint(f.gv)))
			}
		}
		if !slices.Equal(w.Tags, g.Tags) {
			report("tags", w.Tags, g.Tags)
		}
		keys := map[string]bool{}
		for k := range w.OutputFields {
			keys[k] = true
		}
		for k := range g.OutputFields {
			keys[k] = true
		}
		for k := range keys {
			wv, wok := w.OutputFields[k]
			gv, gok := g.OutputFields[k]
			if wok != gok || !reflect.DeepEqual(wv, gv) {
				report(k, fmt.Sprintf("%#v", wv), fmt.Sprintf("%#v", gv))
			}
		}
	}
}

func checkCounts(t *testing.T, c falcoCase) {
	counts := map[string]int{}
	jout := runFalcoRun(t, c.capture, c.rules, append(slices.Clone(c.args), "-o", "json_output=true"))
	for _, a := range parseAlerts(t, "falco-run", jout) {
		counts[a.Rule]++
		counts["*"]++ // every rule
	}
	for _, e := range strings.Split(c.expect, ",") {
		rule, n, ok := strings.Cut(e, "=")
		if !ok {
			t.Fatalf("cases.txt:%d: bad count %q", c.line, e)
		}
		if n == ">=1" {
			if counts[rule] < 1 {
				t.Errorf("%s: %d alerts, Falco's test wants at least 1", rule, counts[rule])
			}
			continue
		}
		want, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("cases.txt:%d: bad count %q", c.line, e)
		}
		if counts[rule] != want {
			t.Errorf("%s: %d alerts, Falco's test wants %d", rule, counts[rule], want)
		}
	}
}

// TestCaptureRoundTrip replays each test capture with --capture into a
// new capture in the current format, replays that, and gets the same
// alerts, every field equal: with the differential rules and with the
// project's default rules.
func TestCaptureRoundTrip(t *testing.T) {
	captures, _ := filepath.Glob("testdata/*.scap")
	if len(captures) == 0 {
		t.Fatal("no captures")
	}
	for _, c := range captures {
		for _, rules := range []string{"testdata/falco/diff_rules.yaml", "../../rules/falco_rules.yaml"} {
			name := filepath.Base(c) + "/" + filepath.Base(rules)
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "x.scap")
				first := falcoRun(t, "-r", rules, "-o", "json_output=true", "-e", c, "--capture", out)
				again := falcoRun(t, "-r", rules, "-o", "json_output=true", "-e", out)
				a, b := parseAlerts(t, "first", first), parseAlerts(t, "again", again)
				if len(a) != len(b) {
					t.Fatalf("%d alerts, then %d from the written capture", len(a), len(b))
				}
				for i := range a {
					if !reflect.DeepEqual(a[i], b[i]) {
						t.Errorf("alert %d differs:\n%+v\n%+v", i+1, a[i], b[i])
					}
				}
				if rules == "testdata/falco/diff_rules.yaml" && len(a) == 0 && !strings.Contains(c, "syscall") {
					t.Errorf("no alert to compare")
				}
			})
		}
	}
}

func falcoRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := cli.NewFalcoRunCommand(cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if rc := cli.Main(cmd, args); rc != 0 {
		t.Fatalf("falco-run %s: exit %d\n%s", strings.Join(args, " "), rc, errb.String())
	}
	return out.String()
}

// checkFields: every alert of each rule named in the EXPECT file gives the
// values listed there; rules whose alerts the capture cannot give (another
// capture of the same expectations) must have none.
func checkFields(t *testing.T, c falcoCase, diffs []*difference) {
	b, err := os.ReadFile(filepath.Join("testdata/falco", c.expect))
	if err != nil {
		t.Fatal(err)
	}
	alerts := parseAlerts(t, "falco-run", runFalcoRun(t, c.capture, c.rules, append(slices.Clone(c.args), "-o", "json_output=true")))
	byRule := map[string][]alert{}
	for _, a := range alerts {
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	checked := 0
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) != 3 {
			t.Fatalf("%s:%d: want RULE | MIN | field=value ...", c.expect, i+1)
		}
		rule := strings.TrimSpace(f[0])
		min, err := strconv.Atoi(strings.TrimSpace(f[1]))
		if err != nil {
			t.Fatalf("%s:%d: %v", c.expect, i+1, err)
		}
		got := byRule[rule]
		if len(got) == 0 {
			continue // this capture does not hold that case
		}
		checked++
		if len(got) < min {
			t.Errorf("%s: %d alerts, want at least %d", rule, len(got), min)
		}
		for _, kv := range strings.Fields(f[2]) {
			field, want, _ := strings.Cut(kv, "=")
			for j, a := range got {
				v := a.OutputFields[field]
				if fmt.Sprint(v) == want {
					continue
				}
				if known(diffs, c.expect, rule, field) {
					break
				}
				t.Errorf("%s alert %d (%s): %s = %v, libsinsp's test wants %s", rule, j+1, a.Time, field, v, want)
			}
		}
	}
	if checked == 0 {
		t.Errorf("no rule of %s raised an alert on %s", c.expect, c.capture)
	}
}
