package kmatrix

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// markerPrefix starts every line the guest's /init writes about itself on
// the results port; everything else there is the output of a step or the
// content of a file (see guest/init.sh):
//
//	@@kmatrix begin
//	@@kmatrix uname RELEASE
//	@@kmatrix module NAME loaded     insmod of a kernel module worked
//	@@kmatrix module NAME error MSG  or failed, with insmod's message
//	@@kmatrix modules none           no modules for this release
//	@@kmatrix step NAME begin        the step's output follows, live
//	@@kmatrix step NAME end rc=N
//	@@kmatrix file NAME begin        a file's content follows
//	@@kmatrix file NAME end
//	@@kmatrix falco-run ready|not-ready
//	@@kmatrix workload NAME rc=N
//	@@kmatrix end
const markerPrefix = "@@kmatrix "

// Step and file names the guest reports.
const (
	stepTests      = "bpf-tests"
	stepFalcoRun   = "falco-run"
	fileFalcoErr   = "falco-run.stderr"
	fileFalcoAlert = "alerts.json"
)

// Section is the output of one step, or the content of one file, as the
// guest reported it.
type Section struct {
	// Lines are the lines between the begin and end markers.
	Lines []string
	// Ended tells whether the end marker came: a step that hung or a
	// guest that died leaves a section without its end.
	Ended bool
	// RC is a step's exit status from its end marker (-1 if none).
	RC int
}

// Report is everything one guest reported on its results port.
type Report struct {
	// Begun and Ended tell whether /init started and finished.
	Begun, Ended bool
	// Release is the guest kernel's `uname -r`.
	Release string
	// Steps and Files hold the sections by name.
	Steps map[string]*Section
	Files map[string]*Section
	// FalcoReady is true when falco-run said it was ready, and
	// FalcoReadyKnown when /init got as far as telling either way.
	FalcoReady, FalcoReadyKnown bool
	// Workloads maps a workload's name to its exit status.
	Workloads map[string]int
	// Modules maps each kernel module /init loaded to "" or, when insmod
	// failed, its error message; ModulesNone tells that the initramfs had
	// no modules for the guest's release.
	Modules     map[string]string
	ModulesNone bool
	// Unknown counts marker lines the parser did not understand.
	Unknown []string
}

// ParseReport reads a guest's results port. It never fails on content: a
// truncated or garbled stream gives a report with what came through.
func ParseReport(r io.Reader) (*Report, error) {
	rep := &Report{Steps: map[string]*Section{}, Files: map[string]*Section{}, Workloads: map[string]int{}, Modules: map[string]string{}}
	var cur *Section
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		// A console can prefix a line with NULs or other noise; a marker
		// is recognised anywhere on its line only at its start after
		// such bytes are trimmed.
		trimmed := strings.TrimLeft(line, "\x00")
		if !strings.HasPrefix(trimmed, markerPrefix) {
			if cur != nil {
				cur.Lines = append(cur.Lines, line)
			}
			continue
		}
		f := strings.Fields(strings.TrimPrefix(trimmed, markerPrefix))
		switch {
		case len(f) == 1 && f[0] == "begin":
			rep.Begun = true
		case len(f) == 1 && f[0] == "end":
			rep.Ended = true
			cur = nil
		case len(f) >= 1 && f[0] == "uname":
			rep.Release = strings.Join(f[1:], " ")
		case len(f) >= 3 && (f[0] == "step" || f[0] == "file") && f[2] == "begin":
			cur = &Section{RC: -1}
			if f[0] == "step" {
				rep.Steps[f[1]] = cur
			} else {
				rep.Files[f[1]] = cur
			}
		case len(f) >= 3 && (f[0] == "step" || f[0] == "file") && f[2] == "end":
			m := rep.Files
			if f[0] == "step" {
				m = rep.Steps
			}
			s := m[f[1]]
			if s == nil {
				s = &Section{RC: -1}
				m[f[1]] = s
			}
			s.Ended = true
			if len(f) >= 4 {
				s.RC = parseRC(f[3])
			}
			cur = nil
		case len(f) == 2 && f[0] == "falco-run" && (f[1] == "ready" || f[1] == "not-ready"):
			rep.FalcoReadyKnown, rep.FalcoReady = true, f[1] == "ready"
		case len(f) == 3 && f[0] == "module" && f[2] == "loaded":
			rep.Modules[f[1]] = ""
		case len(f) >= 3 && f[0] == "module" && f[2] == "error":
			msg := strings.Join(f[3:], " ")
			if msg == "" {
				msg = "insmod failed"
			}
			rep.Modules[f[1]] = msg
		case len(f) == 2 && f[0] == "modules" && f[1] == "none":
			rep.ModulesNone = true
		case len(f) == 3 && f[0] == "workload":
			rep.Workloads[f[1]] = parseRC(f[2])
		default:
			rep.Unknown = append(rep.Unknown, trimmed)
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("read results: %w", err)
	}
	return rep, nil
}

// parseRC reads "rc=N"; anything else is -1.
func parseRC(s string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "rc="))
	if err != nil || !strings.HasPrefix(s, "rc=") {
		return -1
	}
	return n
}

// TestSummary is what `go test -v` output says.
type TestSummary struct {
	// Ran tells whether the step started at all.
	Ran bool
	// Finished tells whether the step's end marker came; RC is then the
	// test binary's exit status.
	Finished bool
	RC       int
	// Passed, Failed and Skipped are top-level test names, in order.
	Passed, Failed, Skipped []string
	// FailedSubtests names failing subtests ("TestX/case").
	FailedSubtests []string
	// Unfinished are tests that started and never reported a result
	// (the binary panicked, timed out or the guest died).
	Unfinished []string
	// Output holds the log lines of each failing or unfinished
	// top-level test, trimmed, in order.
	Output map[string][]string
	// Panic is the binary's "panic: ..." line, if any.
	Panic string
}

// Failing is every test that did not pass: failed, then unfinished.
func (s *TestSummary) Failing() []string {
	return append(append([]string(nil), s.Failed...), s.Unfinished...)
}

var (
	goTestResult = regexp.MustCompile(`^(\s*)--- (PASS|FAIL|SKIP): (\S+)`)
	goTestStart  = regexp.MustCompile(`^=== (RUN|CONT|PAUSE|NAME)\s+(\S+)`)
)

// summarizeTests reads the output of a test binary run with -test.v.
func summarizeTests(sec *Section) TestSummary {
	s := TestSummary{RC: -1, Output: map[string][]string{}}
	if sec == nil {
		return s
	}
	s.Ran, s.Finished, s.RC = true, sec.Ended, sec.RC
	logs := map[string][]string{}
	started := map[string]bool{}
	var order []string
	done := map[string]bool{}
	cur := ""
	for _, line := range sec.Lines {
		if m := goTestStart.FindStringSubmatch(line); m != nil {
			top, _, _ := strings.Cut(m[2], "/")
			if m[1] != "PAUSE" {
				cur = top
			}
			if !started[top] {
				started[top] = true
				order = append(order, top)
			}
			continue
		}
		if m := goTestResult.FindStringSubmatch(line); m != nil {
			name := m[3]
			if m[1] != "" || strings.Contains(name, "/") {
				if m[2] == "FAIL" {
					s.FailedSubtests = append(s.FailedSubtests, name)
				}
				continue
			}
			done[name] = true
			switch m[2] {
			case "PASS":
				s.Passed = append(s.Passed, name)
			case "FAIL":
				s.Failed = append(s.Failed, name)
			case "SKIP":
				s.Skipped = append(s.Skipped, name)
			}
			continue
		}
		if strings.HasPrefix(line, "panic: ") && s.Panic == "" {
			s.Panic = line
		}
		t := strings.TrimSpace(line)
		if cur != "" && t != "" && !done[cur] {
			logs[cur] = append(logs[cur], t)
		}
	}
	for _, name := range order {
		if !done[name] {
			s.Unfinished = append(s.Unfinished, name)
		}
	}
	for _, name := range s.Failing() {
		s.Output[name] = logs[name]
	}
	return s
}

// FalcoSummary is how falco-run did in the guest.
type FalcoSummary struct {
	// Ran tells whether the step started.
	Ran bool
	// Ready is true when falco-run reported its capture ready.
	Ready bool
	// RC is falco-run's exit status (-1 unknown).
	RC int
	// Error is falco-run's error line when it did not start or did not
	// exit cleanly.
	Error string
	// Stderr is all falco-run printed on its standard error.
	Stderr []string
	// Alerts counts alerts by rule name.
	Alerts map[string]int
	// Garbled counts output lines that were not JSON alerts.
	Garbled int
	// Workloads maps each workload to its exit status.
	Workloads map[string]int
}

// summarizeFalcoRun reads the falco-run step's markers and files.
func summarizeFalcoRun(rep *Report) FalcoSummary {
	s := FalcoSummary{RC: -1, Alerts: map[string]int{}, Workloads: rep.Workloads}
	step := rep.Steps[stepFalcoRun]
	if step == nil {
		return s
	}
	s.Ran, s.Ready, s.RC = true, rep.FalcoReady, step.RC
	if f := rep.Files[fileFalcoErr]; f != nil {
		s.Stderr = f.Lines
	}
	if f := rep.Files[fileFalcoAlert]; f != nil {
		for _, line := range f.Lines {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var a struct {
				Rule string `json:"rule"`
			}
			if err := json.Unmarshal([]byte(line), &a); err != nil || a.Rule == "" {
				s.Garbled++
				continue
			}
			s.Alerts[a.Rule]++
		}
	}
	if !s.Ready || s.RC != 0 {
		s.Error = falcoErrorLine(s.Stderr)
		if s.Error == "" && !step.Ended {
			s.Error = "the guest stopped before falco-run's step ended"
		}
	}
	return s
}

// falcoErrorLine picks falco-run's error from its standard error: the
// last line it printed as "falco-run: ..." other than its ready line, or
// else the last non-empty line.
func falcoErrorLine(lines []string) string {
	last := ""
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if t == "" {
			continue
		}
		if last == "" {
			last = t
		}
		if strings.HasPrefix(t, "falco-run: ") && !strings.HasPrefix(t, "falco-run: live capture ready") {
			return t
		}
	}
	return last
}

// headroomPrefix starts the lines of the bpf package's headroom test.
const headroomPrefix = "falcoc-headroom:"

// headroomLines collects the headroom figures from the test output,
// sorted. A line counts when it starts with [headroomPrefix] after
// indentation, or after the "file_test.go:NN: " that t.Log adds.
func headroomLines(sec *Section) []string {
	if sec == nil {
		return nil
	}
	var out []string
	for _, line := range sec.Lines {
		t := strings.TrimSpace(line)
		if i := strings.Index(t, headroomPrefix); i > 0 {
			if !isTestLogPrefix(t[:i]) {
				continue
			}
			t = t[i:]
		}
		if strings.HasPrefix(t, headroomPrefix) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// testLogPrefix matches the "name_test.go:12: " that t.Log puts first.
var testLogPrefix = regexp.MustCompile(`^[\w.-]+\.go:\d+: $`)

func isTestLogPrefix(s string) bool { return testLogPrefix.MatchString(s) }
