package kmatrix

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleLog is a results port as a guest writes it: CRLF line ends, a
// failing, a passing and a skipped test, subtests, headroom figures, and
// falco-run's step with its files.
const sampleLog = "@@kmatrix begin\r\n" +
	"@@kmatrix uname 6.1.0-57-cloud-amd64\r\n" +
	"@@kmatrix module overlay error insmod: can't insert '/kmatrix/modules/6.1.0-57-cloud-amd64/overlay.ko': invalid module format \r\n" +
	"@@kmatrix module foo loaded\r\n" +
	"@@kmatrix step bpf-tests begin\r\n" +
	"=== RUN   TestABILayout\r\n" +
	"=== RUN   TestABILayout/falcoc_hdr\r\n" +
	"--- PASS: TestABILayout (0.12s)\r\n" +
	"    --- PASS: TestABILayout/falcoc_hdr (0.01s)\r\n" +
	"=== RUN   TestPathPrefilter\r\n" +
	"    capture_test.go:40: Load: kernel 6.1.0-57-cloud-amd64 refused on_sys_exit: func 'sched_process_exit' doesn't have 2-th argument\r\n" +
	"--- FAIL: TestPathPrefilter (0.70s)\r\n" +
	"=== RUN   TestModes\r\n" +
	"=== RUN   TestModes/off\r\n" +
	"    more_test.go:12: Load: kernel 6.1.0-57-cloud-amd64 refused on_sys_exit: func 'sched_process_exit' doesn't have 2-th argument\r\n" +
	"--- FAIL: TestModes (0.71s)\r\n" +
	"    --- FAIL: TestModes/off (0.71s)\r\n" +
	"=== RUN   TestHeadroom\r\n" +
	"falcoc-headroom: on_sys_exit insns=12345 stack=320\r\n" +
	"    headroom_test.go:30: falcoc-headroom: on_fork insns=99 stack=64\r\n" +
	"    other_test.go:3: not falcoc-headroom: this one\r\n" +
	"--- PASS: TestHeadroom (1.00s)\r\n" +
	"=== RUN   TestMergeMeasure\r\n" +
	"--- SKIP: TestMergeMeasure (0.00s)\r\n" +
	"FAIL\r\n" +
	"@@kmatrix step bpf-tests end rc=1\r\n" +
	"@@kmatrix step falco-run begin\r\n" +
	"@@kmatrix falco-run ready\r\n" +
	"@@kmatrix workload read-shadow rc=0\r\n" +
	"@@kmatrix workload write-etc rc=0\r\n" +
	"@@kmatrix workload exec-dev-shm rc=0\r\n" +
	"@@kmatrix file falco-run.stderr begin\r\n" +
	"falco-run: live capture ready (prefilter full, 12 processes and 14 threads from /proc)\r\n" +
	"falco-run: 3 alerts\r\n" +
	"\r\n" +
	"@@kmatrix file falco-run.stderr end\r\n" +
	"@@kmatrix file alerts.json begin\r\n" +
	`{"output":"x","priority":"Warning","rule":"Read sensitive file untrusted","time":"t"}` + "\r\n" +
	`{"output":"x","priority":"Error","rule":"Write below etc","time":"t"}` + "\r\n" +
	`{"output":"x","priority":"Error","rule":"Write below etc","time":"t"}` + "\r\n" +
	"garbage\r\n" +
	"\r\n" +
	"@@kmatrix file alerts.json end\r\n" +
	"@@kmatrix step falco-run end rc=0\r\n" +
	"@@kmatrix end\r\n"

func TestParseReport(t *testing.T) {
	rep, err := ParseReport(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Begun || !rep.Ended || rep.Release != "6.1.0-57-cloud-amd64" || len(rep.Unknown) != 0 {
		t.Errorf("report: begun %v ended %v release %q unknown %q", rep.Begun, rep.Ended, rep.Release, rep.Unknown)
	}
	wantModules := map[string]string{"overlay": "insmod: can't insert '/kmatrix/modules/6.1.0-57-cloud-amd64/overlay.ko': invalid module format", "foo": ""}
	if diff := cmp.Diff(wantModules, rep.Modules); diff != "" || rep.ModulesNone {
		t.Errorf("modules (none %v) (-want +got):\n%s", rep.ModulesNone, diff)
	}
	if s := rep.Steps[stepTests]; s == nil || !s.Ended || s.RC != 1 || len(s.Lines) != 20 {
		t.Errorf("bpf-tests section: %+v", s)
	}
	if diff := cmp.Diff(map[string]int{"read-shadow": 0, "write-etc": 0, "exec-dev-shm": 0}, rep.Workloads); diff != "" {
		t.Errorf("workloads (-want +got):\n%s", diff)
	}

	tests := summarizeTests(rep.Steps[stepTests])
	want := TestSummary{
		Ran: true, Finished: true, RC: 1,
		Passed:         []string{"TestABILayout", "TestHeadroom"},
		Failed:         []string{"TestPathPrefilter", "TestModes"},
		Skipped:        []string{"TestMergeMeasure"},
		FailedSubtests: []string{"TestModes/off"},
		Output: map[string][]string{
			"TestPathPrefilter": {"capture_test.go:40: Load: kernel 6.1.0-57-cloud-amd64 refused on_sys_exit: func 'sched_process_exit' doesn't have 2-th argument"},
			"TestModes":         {"more_test.go:12: Load: kernel 6.1.0-57-cloud-amd64 refused on_sys_exit: func 'sched_process_exit' doesn't have 2-th argument"},
		},
	}
	if diff := cmp.Diff(want, tests); diff != "" {
		t.Errorf("tests (-want +got):\n%s", diff)
	}

	falco := summarizeFalcoRun(rep)
	if !falco.Ran || !falco.Ready || falco.RC != 0 || falco.Error != "" || falco.Garbled != 1 {
		t.Errorf("falco-run: %+v", falco)
	}
	if diff := cmp.Diff(map[string]int{"Read sensitive file untrusted": 1, "Write below etc": 2}, falco.Alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	wantHeadroom := []string{"falcoc-headroom: on_fork insns=99 stack=64", "falcoc-headroom: on_sys_exit insns=12345 stack=320"}
	if diff := cmp.Diff(wantHeadroom, headroomLines(rep.Steps[stepTests])); diff != "" {
		t.Errorf("headroom (-want +got):\n%s", diff)
	}
}

// TestParseReportTruncated: a guest that died in the middle of the tests
// (a kernel panic, the VM's timeout) leaves an unfinished test and no
// falco-run step.
func TestParseReportTruncated(t *testing.T) {
	log := "noise from the console\n\x00@@kmatrix begin\n@@kmatrix uname 5.10.0-46-cloud-amd64\n@@kmatrix modules none\n" +
		"@@kmatrix step bpf-tests begin\n=== RUN   TestA\n--- PASS: TestA (0.1s)\n=== RUN   TestB\n" +
		"panic: test timed out after 3m0s\n\trunning tests:\n\t\tTestB (3m0s)\n"
	rep, err := ParseReport(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Begun || rep.Ended || !rep.ModulesNone || len(rep.Unknown) != 0 {
		t.Errorf("begun %v ended %v modules none %v unknown %q", rep.Begun, rep.Ended, rep.ModulesNone, rep.Unknown)
	}
	tests := summarizeTests(rep.Steps[stepTests])
	if tests.Finished || tests.RC != -1 || tests.Panic != "panic: test timed out after 3m0s" {
		t.Errorf("tests: %+v", tests)
	}
	if diff := cmp.Diff([]string{"TestB"}, tests.Failing()); diff != "" {
		t.Errorf("failing (-want +got):\n%s", diff)
	}
	if f := summarizeFalcoRun(rep); f.Ran {
		t.Errorf("falco-run ran: %+v", f)
	}
}

func TestFalcoStartupError(t *testing.T) {
	log := "@@kmatrix begin\n@@kmatrix step falco-run begin\n@@kmatrix falco-run not-ready\n" +
		"@@kmatrix file falco-run.stderr begin\n" +
		"load program: argument list too long:\n\tverifier line\n" +
		"falco-run: live capture: kernel 5.10.0-46-cloud-amd64 refused on_sys_exit: Arg#0 type PTR in fill_hdr() is not supported yet\n" +
		"@@kmatrix file falco-run.stderr end\n@@kmatrix file alerts.json begin\n\n@@kmatrix file alerts.json end\n" +
		"@@kmatrix step falco-run end rc=1\n@@kmatrix end\n"
	rep, err := ParseReport(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	f := summarizeFalcoRun(rep)
	want := "falco-run: live capture: kernel 5.10.0-46-cloud-amd64 refused on_sys_exit: Arg#0 type PTR in fill_hdr() is not supported yet"
	if !f.Ran || f.Ready || f.RC != 1 || f.Error != want {
		t.Errorf("falco-run: ran %v ready %v rc %d error %q", f.Ran, f.Ready, f.RC, f.Error)
	}
}

func TestFalcoErrorLine(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{"panic: boom", "goroutine 1", ""}, "goroutine 1"},
		{[]string{"falco-run: live capture ready (prefilter full)", "fatal"}, "fatal"},
		{[]string{"falco-run: first", "falco-run: live capture ready (x)"}, "falco-run: first"},
	}
	for _, tc := range tests {
		if got := falcoErrorLine(tc.lines); got != tc.want {
			t.Errorf("falcoErrorLine(%q) = %q, want %q", tc.lines, got, tc.want)
		}
	}
}
