package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/internal/testutil"
)

func TestParseFinalStats(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   finalStats
	}{{
		name: "full",
		stderr: "falco-run: live capture ready (prefilter full, 76 processes and 97 threads from /proc)\n" +
			"Kernel: hook calls 169052, passed gate 14803, dropped by prefilter 13967, sent 1441, lost 7\n" +
			"syscall                 calls  passed gate      dropped         sent         lost\n" +
			"openat                  14075        14074        13962          112            0\n" +
			"Live source: events 1057, skipped 381, undecodable 0, malformed records 0\n" +
			"Events processed: 1063, rules evaluated: 570, matches: 3, alerts: 2\n",
		want: finalStats{Kernel: Stage{169052, 14803, 13967, 1441, 7}, Events: 1063, Alerts: 2, HasKernel: true, HasEngine: true},
	}, {
		name:   "nothing",
		stderr: "falco-run: live capture: load: operation not permitted\n",
		want:   finalStats{},
	}, {
		name:   "malformed",
		stderr: "Kernel: hook calls x, passed gate 1\nEvents processed: many\n",
		want:   finalStats{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseFinalStats(tc.stderr)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFdinfoField(t *testing.T) {
	info := "pos:\t0\nflags:\t02000002\nmap_type:\t6\nmap_id:\t12992\nfrozen:\t0\n"
	tests := []struct {
		key    string
		want   uint64
		wantOK bool
	}{
		{"map_id", 12992, true},
		{"map_type", 6, true},
		{"prog_id", 0, false},
		{"map", 0, false},
	}
	for _, tc := range tests {
		got, ok := fdinfoField(info, tc.key)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("fdinfoField(%q) = %d, %v, want %d, %v", tc.key, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       uint64
		wantErr    string
	}{
		{"ok", "1234 (falco run) S 1 1234 1234 0 -1 4194560 500 0 0 0 17 4 0 0 20 0 9 0 100 0 0", 21, ""},
		{"paren in name", "1234 (a) b) R 1 2 3 4 5 6 7 8 9 10 3 5 0 0", 8, ""},
		{"short", "1234 (x) S 1 2", 0, "short stat line"},
		{"no paren", "1234 x S", 0, "malformed stat line"},
		{"not numbers", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s 0", 0, "malformed stat times"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := statCPU(tc.stat)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.wantErr {
				t.Errorf("statCPU = %d, %q, want %d, %q", got, gotErr, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCountersSubSum(t *testing.T) {
	var a, b Counters
	a[257] = Stage{100, 90, 80, 10, 0}
	b[257] = Stage{40, 30, 25, 5, 0}
	a[39] = Stage{7, 0, 0, 0, 0}
	a[bpf.KindExec] = Stage{3, 3, 0, 2, 1}
	d := a.Sub(&b)
	if diff := cmp.Diff(Stage{60, 60, 55, 5, 0}, d[257]); diff != "" {
		t.Errorf("openat delta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stage{70, 63, 55, 7, 1}, d.Total()); diff != "" {
		t.Errorf("total (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stage{60, 60, 55, 5, 0}, d.Sum(func(k int) bool { return k == 257 })); diff != "" {
		t.Errorf("sum (-want +got):\n%s", diff)
	}
}

func sysID(t *testing.T, name string) int {
	t.Helper()
	id, ok := catalog.SyscallID(name)
	if !ok {
		t.Fatalf("no syscall %s", name)
	}
	return id
}

func TestClassify(t *testing.T) {
	var one plan.Mask
	one = one.With(0)
	gate := map[int]plan.Mask{
		sysID(t, "openat"):  one,
		sysID(t, "connect"): one,
		sysID(t, "execve"):  one,         // lifecycle
		sysID(t, "setuid"):  one,         // always sent
		sysID(t, "ptrace"):  plan.Mask{}, // no clause: not watched
	}
	always := map[int]bool{sysID(t, "setuid"): true, sysID(t, "chdir"): true}
	watched, excluded := classify(gate, always)
	if diff := cmp.Diff([]string{"connect", "openat"}, names(watched)); diff != "" {
		t.Errorf("watched (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"execve", "setuid"}, names(excluded)); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}
}

func TestPrepareRules(t *testing.T) {
	dir := t.TempDir()
	rs, err := prepareRules(dir, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Files) != 2 {
		t.Fatalf("files = %v, want the default rules and the generated ones", rs.Files)
	}
	for _, f := range rs.Files {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if !strings.HasPrefix(rs.Label, "default rules + 10 generated rules (") {
		t.Errorf("label = %q", rs.Label)
	}
	for _, want := range []string{"openat", "connect"} {
		if !rs.Watched[sysID(t, want)] {
			t.Errorf("%s not watched: %v", want, names(rs.Watched))
		}
	}
	if !rs.Excluded[sysID(t, "execve")] {
		t.Errorf("execve not excluded: %v", names(rs.Excluded))
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- rule: x\n  desc: x\n  condition: evt.type = openat and nosuch.field = 1\n  output: x\n  priority: INFO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = prepareRules(t.TempDir(), []string{bad}, 0)
	if err == nil || !strings.HasPrefix(err.Error(), "rules could not be loaded:\n") || !strings.Contains(err.Error(), "nosuch.field") {
		t.Errorf("bad rules: err = %v, want a load error naming the field", err)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// testSamples: two rounds of open-ordinary in each mode.
func testSamples() []Sample {
	mk := func(round int, mode string, ns int64, watched Stage) Sample {
		return Sample{Round: round, Workload: "open-ordinary", Mode: mode, Ops: 1000, Took: time.Duration(ns * 1000), Watched: watched, All: watched}
	}
	return []Sample{
		mk(0, "none", 1000, Stage{}),
		mk(0, "floor", 1120, Stage{}),
		mk(0, "off", 3000, Stage{Calls: 1000, GatePass: 1000, Sent: 1000}),
		mk(0, "evttype", 2500, Stage{Calls: 1000, GatePass: 1000, Sent: 990, Lost: 10}),
		mk(0, "full", 1100, Stage{Calls: 1000, GatePass: 1000, PrefilterDrop: 995, Sent: 5}),
		mk(1, "none", 1200, Stage{}),
		mk(1, "floor", 1100, Stage{}),
		mk(1, "off", 3200, Stage{Calls: 1000, GatePass: 1000, Sent: 1000}),
		mk(1, "evttype", 2700, Stage{Calls: 1000, GatePass: 1000, Sent: 1000}),
		mk(1, "full", 1200, Stage{Calls: 1000, GatePass: 1000, PrefilterDrop: 1000}),
	}
}

func TestSummariseAndTargets(t *testing.T) {
	sum := summarise(testSamples(), []string{"open-ordinary", "getppid"}, Modes)
	if len(sum) != 5 {
		t.Fatalf("%d summaries, want 5 (no getppid samples)", len(sum))
	}
	full := sum[4]
	want := Summary{Workload: "open-ordinary", Mode: "full", Rounds: 2, NsPerOp: 1150, Ratio: 1150.0 / 1100, ExtraNs: 50,
		Watched: Stage{Calls: 2000, GatePass: 2000, PrefilterDrop: 1995, Sent: 5}, DropPct: 99.75,
		All: Stage{Calls: 2000, GatePass: 2000, PrefilterDrop: 1995, Sent: 5}, GateDropPct: 99.75}
	if diff := cmp.Diff(want, full); diff != "" {
		t.Errorf("full summary (-want +got):\n%s", diff)
	}
	got := targets(sum)
	wantT := []TargetRow{
		{"openat+close: full adds at most 15%", "+4.5% (floor +0.9%)", true},
		{"openat+close: evttype adds 100% or more", "+136.4%", true},
		{"openat+close: full within 10% of the floor (issue 9)", "1.04x the floor", true},
		{"openat+close: evttype at most Falco's x1.70 (issue 9)", "2.36x", false},
	}
	if diff := cmp.Diff(wantT, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestWriteTable(t *testing.T) {
	r := &Result{Kernel: "6.18.44, no fallbacks", CPUs: 2, PinnedCPU: 1, Rounds: 2, Duration: "1s", Rules: "default rules (20 rules)",
		Watched: []string{"openat"}, Excluded: []string{"execve"}, Workloads: []string{"open-ordinary"},
		Ops: []string{"openat+close"}, Samples: testSamples(), Modes: Modes}
	r.Summary = summarise(r.Samples, r.Workloads, Modes)
	r.Targets = targets(r.Summary)
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `falcoc-bench: kernel 6.18.44, no fallbacks
falcoc-bench: 2 CPUs, workloads pinned to CPU 1; 2 rounds interleaved (none, floor, off, evttype, full), 1s per workload
floor: no falco-run, an empty program on falco-run's hook (tp_btf/sys_exit): what any syscall capture costs on this kernel
rules: default rules (20 rules)
watched syscalls (the rules look at them): openat
excluded from watched (process lifecycle, and always sent for the state): execve; and the fork/exec/exit scheduler records
per op: median over rounds; counters: kernel, system-wide, during the workload only, summed over rounds
  open-ordinary  one op = openat+close

       workload     mode     per op  vs none       extra  watched events  dropped  dropped %  sent  lost  other sent  other lost  all past gate  dropped %
  open-ordinary     none  1100.0 ns    1.00x
  open-ordinary    floor  1110.0 ns    1.01x    +10.0 ns
  open-ordinary      off  3100.0 ns    2.82x  +2000.0 ns            2000        0      0.00%  2000     0           0           0           2000      0.00%
  open-ordinary  evttype  2600.0 ns    2.36x  +1500.0 ns            2000        0      0.00%  1990    10           0           0           2000      0.00%
  open-ordinary     full  1150.0 ns    1.05x    +50.0 ns            2000     1995     99.75%     5     0           0           0           2000     99.75%

targets (issues 5 and 9)
  openat+close: full adds at most 15%                    +4.5% (floor +0.9%)  met
  openat+close: evttype adds 100% or more                +136.4%              met
  openat+close: full within 10% of the floor (issue 9)   1.04x the floor      met
  openat+close: evttype at most Falco's x1.70 (issue 9)  2.36x                MISSED
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if diff := cmp.Diff(r.Summary, back.Summary); diff != "" {
		t.Errorf("JSON summary round trip (-want +got):\n%s", diff)
	}
}

func TestMainUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"extra argument", []string{"now"}, 2, "falcoc-bench: unexpected arguments: now\n"},
		{"zero rounds", []string{"-rounds", "0"}, 2, "falcoc-bench: -rounds and -duration must be positive, -rules-generated not negative\n"},
		{"unknown flag", []string{"-fast"}, 2, "flag provided but not defined: -fast\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tc.args, &out, &errb)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			if !strings.HasPrefix(errb.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to start with %q", errb.String(), tc.wantStderr)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
		})
	}
}

func TestSelectWorkloads(t *testing.T) {
	got, err := selectWorkloads([]string{"open-shadow", "getppid"})
	if err != nil {
		t.Fatal(err)
	}
	var gotNames []string
	for _, w := range got {
		gotNames = append(gotNames, w.Name)
	}
	if diff := cmp.Diff([]string{"getppid", "open-shadow"}, gotNames); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = selectWorkloads([]string{"fork"})
	want := `-workloads: unknown workload "fork" (known: getppid, open-ordinary, mixed, open-shadow)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestNotRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs only without root")
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"-rounds", "1"}, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := "falcoc-bench: " + ErrNotRoot.Error() + "\n"
	if errb.String() != want {
		t.Errorf("stderr = %q, want %q", errb.String(), want)
	}
}

// TestRunLive runs the whole harness briefly against a real falco-run.
func TestRunLive(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBTF(t)
	testutil.SkipIfShort(t)
	dir := t.TempDir()
	falcoRun := filepath.Join(dir, "falco-run")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := buildFalcoRun(t.Context(), root, falcoRun); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), Options{FalcoRun: falcoRun, Rounds: 1, Duration: 50 * time.Millisecond, CPU: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != len(Modes)*len(workloads()) {
		t.Fatalf("%d samples, want %d", len(res.Samples), len(Modes)*len(workloads()))
	}
	for _, s := range res.Samples {
		if s.Ops == 0 || s.Took <= 0 {
			t.Errorf("%s/%s: %d ops in %v", s.Workload, s.Mode, s.Ops, s.Took)
		}
		agent := s.Mode != "none" && s.Mode != "floor"
		if agent && (s.Workload == "open-ordinary" || s.Workload == "open-shadow") && s.Watched.Calls < uint64(s.Ops) {
			t.Errorf("%s/%s: %d watched calls for %d opens", s.Workload, s.Mode, s.Watched.Calls, s.Ops)
		}
		if agent && s.Workload == "open-shadow" && s.Watched.Sent+s.Watched.Lost < uint64(s.Ops) {
			t.Errorf("%s/%s: %d sent and %d lost for %d opens of /etc/shadow", s.Workload, s.Mode, s.Watched.Sent, s.Watched.Lost, s.Ops)
		}
	}
	if len(res.Agents) != 3 {
		t.Errorf("%d falco-run processes, want 3", len(res.Agents))
	}
	for _, a := range res.Agents {
		if a.Alerts == 0 || a.AlertLines == 0 {
			t.Errorf("%s: %d alerts, %d lines: want the /etc/shadow alerts", a.Mode, a.Alerts, a.AlertLines)
		}
	}
}
