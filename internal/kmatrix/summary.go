package kmatrix

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary prints the table of results, one row per kernel, then the
// details of each failure: failing tests grouped by their first error
// line, falco-run's error, missing alerts, headroom differences and the
// logs to read.
func WriteSummary(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tRELEASE\tMODULES\tBPF TESTS\tFALCO-RUN\tALERTS\tHEADROOM\tTIME\tRESULT")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Kernel.ID, r.release(), r.modulesCell(), r.testsCell(), r.falcoCell(),
			r.alertsCell(), r.headroomCell(), r.Duration.Round(time.Second), r.verdict())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		writeDetails(w, r)
	}
	return nil
}

func (r *Result) verdict() string {
	if len(r.Failures()) > 0 {
		return "FAIL"
	}
	return "ok"
}

func (r *Result) release() string {
	if r.Report != nil && r.Report.Release != "" {
		return r.Report.Release
	}
	if r.Image != nil {
		return "(" + r.Image.Version + ")"
	}
	return "-"
}

// modulesCell names the modules the guest loaded, or those it did not.
func (r *Result) modulesCell() string {
	if r.Image == nil || r.Image.Modules == nil || r.Report == nil || !r.Report.Begun {
		return "-"
	}
	var failed []string
	for _, name := range r.Image.Modules.Names {
		if msg, ok := r.Report.Modules[name]; !ok || msg != "" {
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return "FAIL " + abbreviateList(failed, 2)
	}
	return abbreviateList(r.Image.Modules.Names, 2)
}

func (r *Result) testsCell() string {
	t := &r.Tests
	if !t.Ran {
		return "-"
	}
	total := len(t.Passed) + len(t.Failed) + len(t.Skipped) + len(t.Unfinished)
	failing := t.Failing()
	if len(failing) == 0 {
		s := fmt.Sprintf("pass %d", len(t.Passed))
		if len(t.Skipped) > 0 {
			s += fmt.Sprintf(", skip %d", len(t.Skipped))
		}
		if !t.Finished || t.RC != 0 {
			s += fmt.Sprintf(" (status %d)", t.RC)
		}
		return s
	}
	return fmt.Sprintf("FAIL %d of %d: %s", len(failing), total, abbreviateList(failing, 3))
}

func (r *Result) falcoCell() string {
	f := &r.Falco
	switch {
	case !f.Ran:
		return "-"
	case !f.Ready:
		return "error: " + truncate(strings.TrimPrefix(f.Error, "falco-run: live capture: "), 60)
	case f.RC != 0:
		return fmt.Sprintf("started, exit %d", f.RC)
	}
	return "started"
}

func (r *Result) alertsCell() string {
	if !r.Falco.Ready {
		return "-"
	}
	exp := expectedAlerts()
	return fmt.Sprintf("%d/%d", len(exp)-len(r.MissingAlerts()), len(exp))
}

func (r *Result) headroomCell() string {
	if r.Headroom.Status == "" {
		return "-"
	}
	return string(r.Headroom.Status)
}

// writeDetails prints what failed on a kernel, and a note for an
// informative headroom status, followed by its logs.
func writeDetails(w io.Writer, r *Result) {
	failures := r.Failures()
	if len(failures) == 0 && r.Headroom.Status != HeadroomNone {
		return
	}
	title := r.Kernel.ID
	if r.Image != nil {
		title += fmt.Sprintf(" (%s %s)", r.Image.Package, r.Image.Version)
	}
	fmt.Fprintf(w, "\n== %s: %s\n", title, r.verdict())
	if r.Err != nil {
		fmt.Fprintf(w, "  error: %v\n", r.Err)
	}
	if r.Report != nil && r.Report.Begun && !r.Report.Ended {
		fmt.Fprintln(w, "  the guest did not finish its steps")
	}
	for _, m := range r.moduleFailures() {
		fmt.Fprintf(w, "  %s\n", m)
	}
	if t := &r.Tests; t.Ran {
		if failing := t.Failing(); len(failing) > 0 {
			fmt.Fprintf(w, "  bpf tests failing (%d): %s\n", len(failing), strings.Join(failing, ", "))
			if len(t.Unfinished) > 0 {
				fmt.Fprintf(w, "    unfinished (no result): %s\n", strings.Join(t.Unfinished, ", "))
			}
			if t.Panic != "" {
				fmt.Fprintf(w, "    %s\n", t.Panic)
			}
			for _, g := range groupByFirstLine(t) {
				fmt.Fprintf(w, "    %s\n      in %s\n", truncate(g.line, 400), strings.Join(g.tests, ", "))
			}
		} else if !t.Finished || t.RC != 0 {
			fmt.Fprintf(w, "  bpf tests: exit status %d, finished %v\n", t.RC, t.Finished)
		}
	}
	if f := &r.Falco; f.Ran {
		if !f.Ready || f.RC != 0 {
			fmt.Fprintf(w, "  falco-run (ready %v, exit %d): %s\n", f.Ready, f.RC, f.Error)
			var names []string
			for name := range r.Report.Files {
				if strings.HasPrefix(name, "falco-run-verifier-") {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			for _, name := range names {
				fmt.Fprintf(w, "    verifier log: %s.%s\n", strings.TrimSuffix(r.ResultsLog, ".log"), name)
			}
		}
		if f.Ready {
			var fired []string
			for _, e := range expectedAlerts() {
				if f.Alerts[e.Rule] > 0 {
					fired = append(fired, e.Rule)
				}
			}
			if missing := r.MissingAlerts(); len(missing) > 0 {
				fmt.Fprintf(w, "  alerts fired: %s; missing: %s\n", orNone(fired), strings.Join(missing, ", "))
				fmt.Fprintf(w, "    workloads: %s; other alerts: %s\n", formatWorkloads(f.Workloads), formatOtherAlerts(f.Alerts))
			}
		}
	}
	if h := r.Headroom; h.Status != "" && h.Status != HeadroomOK && h.Status != HeadroomUnchanged {
		fmt.Fprintf(w, "  headroom: %s: %s\n", h.Status, h.Note)
		for i, d := range h.Diff {
			if i == 40 {
				fmt.Fprintf(w, "    ... %d more\n", len(h.Diff)-i)
				break
			}
			fmt.Fprintf(w, "    %s\n", d)
		}
	}
	fmt.Fprintf(w, "  logs: %s (results), %s (console)\n", r.ResultsLog, r.ConsoleLog)
}

// errorGroup is a first error line and the failing tests that printed it.
type errorGroup struct {
	line  string
	tests []string
}

// logPosition is the "name_test.go:12: " t.Log puts before a message.
var logPosition = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// groupByFirstLine groups the failing tests by the first line of their
// output (without its file:line), most common first, so that one error
// shared by many tests shows once.
func groupByFirstLine(t *TestSummary) []errorGroup {
	idx := map[string]int{}
	var groups []errorGroup
	for _, name := range t.Failing() {
		line := "(no output)"
		if out := t.Output[name]; len(out) > 0 {
			line = logPosition.ReplaceAllString(out[0], "")
		}
		i, ok := idx[line]
		if !ok {
			i = len(groups)
			idx[line] = i
			groups = append(groups, errorGroup{line: line})
		}
		groups[i].tests = append(groups[i].tests, name)
	}
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].tests) > len(groups[j].tests) })
	return groups
}

func formatWorkloads(m map[string]int) string {
	var parts []string
	for _, e := range expectedAlerts() {
		rc, ok := m[e.Workload]
		if !ok {
			parts = append(parts, e.Workload+" not run")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s rc=%d", e.Workload, rc))
	}
	return strings.Join(parts, ", ")
}

func formatOtherAlerts(m map[string]int) string {
	want := map[string]bool{}
	for _, e := range expectedAlerts() {
		want[e.Rule] = true
	}
	var parts []string
	for rule, n := range m {
		if !want[rule] {
			parts = append(parts, fmt.Sprintf("%s ×%d", rule, n))
		}
	}
	sort.Strings(parts)
	return orNone(parts)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// abbreviateList joins the first n names and counts the rest.
func abbreviateList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, +%d", strings.Join(names[:n], ", "), len(names)-n)
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
