// Package golden runs end-to-end cases: rule files and a replayed event
// trace go in, Falco-format alerts (text and JSON), the disassembly of every
// rule, or the load error come out. Each case is one txtar archive in
// testdata/; see the comment on TestGolden for its sections.
package golden

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/kplan"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

var update = flag.Bool("update", false, "update golden files")

// updating reports whether the out/ sections are to be rewritten.
func updating() bool { return *update || os.Getenv("FALCO_UPDATE") == "1" }

const (
	defaultPasswd = "root:x:0:0:root:/root:/bin/bash\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"alice:x:1000:1000:Alice:/home/alice:/bin/zsh\n"
	defaultGroup = "root:x:0:\n" +
		"daemon:x:1:\n" +
		"alice:x:1000:\n"
)

// TestGolden runs every testdata/*.txtar case. Sections:
//
//	rules.yaml, rules2.yaml, ... rule files, loaded in that order
//	events.jsonl                 the trace, in the replay format
//	config                       optional: key=value lines, applied as -o
//	passwd, group                optional: the host's /etc/passwd and /etc/group
//	out/alerts                   the text alerts, one a line
//	out/json                     optional: the JSON alerts, one a line
//	out/bytecode                 optional: the disassembly of every rule
//	out/plan                     the kernel prefilter plan, per rule
//	out/error                    for cases that must not load: the errors
//
// A line "#skip reason" or "#todo reason" in the archive comment skips the
// case; -update (or FALCO_UPDATE=1) rewrites the out/ sections of the
// cases that are not skipped.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cases in testdata")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, file)
		})
	}
}

// goldenCase is a parsed archive.
type goldenCase struct {
	arc   *txtar.Archive
	rules []rules.Source
	files map[string]string
}

func (c *goldenCase) section(name string) (string, bool) {
	s, ok := c.files[name]
	return s, ok
}

func readCase(t *testing.T, path string) *goldenCase {
	t.Helper()
	arc, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &goldenCase{arc: arc, files: map[string]string{}}
	for _, f := range arc.Files {
		if _, dup := c.files[f.Name]; dup {
			t.Fatalf("section %q appears twice", f.Name)
		}
		c.files[f.Name] = string(f.Data)
	}
	for i := 1; ; i++ {
		n := "rules.yaml"
		if i > 1 {
			n = fmt.Sprintf("rules%d.yaml", i)
		}
		s, ok := c.files[n]
		if !ok {
			break
		}
		c.rules = append(c.rules, rules.Source{Name: n, Data: []byte(s)})
	}
	if len(c.rules) == 0 {
		t.Fatal("no rules.yaml section")
	}
	return c
}

// skipReason returns the reason of a "#skip" or "#todo" comment line.
func skipReason(comment []byte) (string, bool) {
	for l := range strings.SplitSeq(string(comment), "\n") {
		l = strings.TrimSpace(l)
		for _, tag := range []string{"#skip", "#todo"} {
			if rest, ok := strings.CutPrefix(l, tag); ok && (rest == "" || rest[0] == ' ') {
				return tag[1:] + ":" + rest, true
			}
		}
	}
	return "", false
}

// result is what a case produced.
type result struct {
	err      string // rendered load errors; "" when the rules loaded
	alerts   []string
	json     []string
	bytecode string
	plan     string
}

func runCase(t *testing.T, path string) {
	c := readCase(t, path)
	if reason, ok := skipReason(c.arc.Comment); ok {
		t.Skip(reason)
	}
	got := run(t, c)
	if updating() {
		writeCase(t, path, c, got)
		return
	}
	wantErr, isErrCase := c.section("out/error")
	if isErrCase || got.err != "" {
		if diff := cmp.Diff(lines(wantErr), lines(got.err)); diff != "" {
			t.Errorf("load errors (-want +got):\n%s", diff)
		}
		return
	}
	wantAlerts, ok := c.section("out/alerts")
	if !ok {
		t.Fatal("no out/alerts section")
	}
	if diff := cmp.Diff(lines(wantAlerts), got.alerts); diff != "" {
		t.Errorf("text alerts (-want +got):\n%s", diff)
	}
	if want, ok := c.section("out/json"); ok {
		if diff := cmp.Diff(lines(want), got.json); diff != "" {
			t.Errorf("JSON alerts (-want +got):\n%s", diff)
		}
	}
	if want, ok := c.section("out/bytecode"); ok {
		if diff := cmp.Diff(lines(want), lines(got.bytecode)); diff != "" {
			t.Errorf("bytecode (-want +got):\n%s", diff)
		}
	}
	want, ok := c.section("out/plan")
	if !ok {
		t.Fatal("no out/plan section (go test ./golden -update writes it)")
	}
	if diff := cmp.Diff(lines(want), lines(got.plan)); diff != "" {
		t.Errorf("kernel plan (-want +got):\n%s", diff)
	}
}

// lines splits s into lines without their newlines; "" has none.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// run loads the rules, replays the events and collects the outputs.
func run(t *testing.T, c *goldenCase) result {
	t.Helper()
	cfg := config.Default()
	if s, ok := c.section("config"); ok {
		for _, l := range lines(s) {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if err := cfg.Set(l); err != nil {
				t.Fatalf("config: %v", err)
			}
		}
	}
	minPrio, err := cfg.MinPriority()
	if err != nil {
		t.Fatalf("config: %v", err)
	}

	var res result
	// Compile as falcoc and falco-run do: the artifact is what a .fbc
	// file would hold.
	art, ds := compiler.Compile(c.rules, nil)
	if art == nil {
		var b strings.Builder
		for _, d := range ds {
			if !d.Warning {
				b.WriteString(d.Render())
			}
		}
		res.err = b.String()
		if res.err == "" {
			t.Fatal("rules did not load, with no error")
		}
		return res
	}
	kp := art.Plan
	if kp == nil {
		t.Fatal("the artifact has no kernel plan")
	}

	var bc strings.Builder
	for i := range art.Rules {
		r := &art.Rules[i]
		fmt.Fprintf(&bc, "rule %q\n", r.Name)
		if r.Program != nil {
			bc.WriteString(r.Program.Disassemble())
		}
	}
	res.bytecode = bc.String()

	fo := cfg.FormatOptions()
	fo.Location = time.UTC
	// The kernel prefilter's plan, applied in userspace: a case must give
	// the same alerts with it as without (the prefilter may only drop
	// what no rule can match).
	res.plan = describePlan(t, kp)
	replayCase := func(withPlan bool) *collector {
		sink := &collector{opts: &fo}
		opts := engine.Options{
			// No /proc: the trace alone describes the processes.
			Table:       state.NewTable(&state.Options{ProcRoot: t.TempDir(), ProcReadsPerSec: -1}),
			Users:       state.NewUsers(&state.UsersOptions{Root: userRoot(t, c)}),
			Hostname:    "test-host",
			Sink:        sink,
			MatchAll:    cfg.RuleMatching == "all",
			MinPriority: minPrio,
		}
		if withPlan {
			opts.Judge = kplan.NewUserJudge(kp)
			opts.RuleMasks = ruleMasks(kp, art)
		}
		eng, err := engine.New(art, opts)
		if err != nil {
			t.Fatalf("engine: %v", err)
		}
		events, ok := c.section("events.jsonl")
		if !ok {
			t.Fatal("no events.jsonl section")
		}
		r := replay.NewReader(strings.NewReader(events))
		var ev event.Event
		var pc event.ProcContext
		for {
			err := r.Next(&ev, &pc)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("events.jsonl: %v", err)
			}
			if pc.Present() {
				state.ApplyProc(eng.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
			}
			eng.Process(&ev)
		}
		if s := eng.Stats(); s.EvalErrors != 0 {
			t.Errorf("%d evaluation errors", s.EvalErrors)
		}
		return sink
	}
	sink := replayCase(false)
	if filtered := replayCase(true); !cmp.Equal(sink.text, filtered.text) {
		t.Errorf("alerts differ with the prefilter's judgement applied (-without +with):\n%s", cmp.Diff(sink.text, filtered.text))
	}
	res.alerts, res.json = sink.text, sink.json
	if res.alerts == nil {
		res.alerts, res.json = []string{}, []string{}
	}
	return res
}

// userRoot writes etc/passwd and etc/group into a temporary directory.
func userRoot(t *testing.T, c *goldenCase) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, def string }{{"passwd", defaultPasswd}, {"group", defaultGroup}} {
		data, ok := c.section(f.name)
		if !ok {
			data = f.def
		}
		if err := os.WriteFile(filepath.Join(root, "etc", f.name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// collector formats every alert as text and as JSON.
type collector struct {
	opts       *output.Options
	text, json []string
}

func (c *collector) Send(a *output.Alert) {
	c.text = append(c.text, string(output.FormatText(nil, a, c.opts)))
	c.json = append(c.json, string(output.FormatJSON(nil, a, c.opts)))
}

// writeCase rewrites the out/ sections of the archive at path.
func writeCase(t *testing.T, path string, c *goldenCase, got result) {
	t.Helper()
	set := map[string]string{}
	drop := map[string]bool{}
	joined := func(ls []string) string {
		if len(ls) == 0 {
			return ""
		}
		return strings.Join(ls, "\n") + "\n"
	}
	if got.err != "" {
		set["out/error"] = got.err
		for _, n := range []string{"out/alerts", "out/json", "out/bytecode", "out/plan"} {
			drop[n] = true
		}
	} else {
		drop["out/error"] = true
		set["out/alerts"] = joined(got.alerts)
		if _, ok := c.section("out/json"); ok {
			set["out/json"] = joined(got.json)
		}
		if _, ok := c.section("out/bytecode"); ok {
			set["out/bytecode"] = got.bytecode
		}
		set["out/plan"] = got.plan
	}
	var files []txtar.File
	for _, f := range c.arc.Files {
		if drop[f.Name] {
			continue
		}
		if s, ok := set[f.Name]; ok {
			f.Data = []byte(s)
			delete(set, f.Name)
		}
		files = append(files, f)
	}
	for _, n := range []string{"out/error", "out/alerts", "out/json", "out/bytecode", "out/plan"} {
		if s, ok := set[n]; ok {
			files = append(files, txtar.File{Name: n, Data: []byte(s)})
		}
	}
	c.arc.Files = files
	if err := os.WriteFile(path, txtar.Format(c.arc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ruleMasks(p *plan.Plan, art *artifact.Artifact) []plan.Mask {
	names := make([]string, len(art.Rules))
	for i, r := range art.Rules {
		names[i] = r.Name
	}
	return p.RuleMasks(names)
}

// describePlan renders the plan per rule, as `falcoc inspect` does, without
// the plan-wide list of state syscalls (the same in every case; the
// prefilter package's default_plan.golden covers it), so that a planner
// change shows in the cases of the rules it changes.
func describePlan(t *testing.T, p *plan.Plan) string {
	t.Helper()
	var b strings.Builder
	if err := p.Describe(&b, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, l := range lines(b.String()) {
		if !strings.HasPrefix(l, "always sent (state): ") {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}
