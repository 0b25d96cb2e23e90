package metrics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/falcoc/falcoc/runtime/output"
)

func testSnapshot() *Snapshot {
	start := time.Unix(1000, 0)
	return &Snapshot{
		Time: start.Add(90 * time.Second), Hostname: "h", Version: "0.1.0", EngineName: "falcoc_bpf",
		KernelRelease: "6.18.44", Start: start, Reload: start,
		ConfigFiles: []FileSum{{Path: "/etc/falco/falco.yaml", SHA256: "abc"}},
		Sources:     []SourceCounts{{Source: "syscall", Events: 10, Evaluated: 7, Matches: 2, Alerts: 2}},
		Rules: []RuleCount{
			{Name: "Read sensitive file untrusted", Priority: output.PriorityWarning, Source: "syscall",
				Tags: []string{"filesystem", "mitre.credential-access"}, Matches: 2},
		},
		Outputs: []OutputCount{{Name: "stdout", Sent: 2}, {Name: "http", Sent: 1, Dropped: 3, Failed: 1}},
		Kernel: &Kernel{Total: Stage{Calls: 100, GatePass: 40, PrefilterDrop: 30, Sent: 10, Lost: 2},
			BySyscall: []SyscallStage{{Syscall: "openat", Stage: Stage{Calls: 60, GatePass: 40, PrefilterDrop: 30, Sent: 10, Lost: 2}}}},
		State:     &State{Threads: 5, Processes: 3, Evicted: 1},
		Resources: Resources{RSS: 1 << 20, HostNumCPUs: 2},
	}
}

// The collector's exposition, as Prometheus reads it: Falco's names and
// labels where Falco has the quantity, falcoc_ for the prefilter stages.
func TestCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(testSnapshot, AllGroups))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	text := buf.String()
	for _, want := range []string{
		`falcosecurity_falco_rules_matches_total{priority="4",rule_name="Read sensitive file untrusted",source="syscall",tag_filesystem="true",tag_mitre_credential_access="true"} 2`,
		`falcosecurity_falco_outputs_queue_num_drops_total 3`,
		`falcosecurity_falco_duration_seconds_total 90`,
		`falcosecurity_falco_sha256_config_files_info{file_name="falco_yaml",sha256="abc"} 1`,
		`falcosecurity_scap_n_evts_total 12`,
		`falcosecurity_scap_n_drops_total 2`,
		`falcosecurity_scap_n_threads_total 5`,
		`falcosecurity_scap_n_drops_full_threadtable_total 1`,
		`falcosecurity_falco_memory_rss_bytes 1.048576e+06`,
		`falcoc_kernel_hook_calls_total{syscall="openat"} 60`,
		`falcoc_kernel_prefilter_dropped_total{syscall="openat"} 30`,
		`falcoc_kernel_lost_total{syscall="openat"} 2`,
		`falcoc_output_dropped_total{output="http"} 3`,
		`falcoc_engine_events_total{source="syscall"} 10`,
		"# TYPE falcosecurity_falco_rules_matches_total counter",
		"# TYPE falcosecurity_falco_cpu_usage_ratio gauge",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no line %q in\n%s", want, text)
		}
	}
	// Groups turned off leave their metrics out.
	reg = prometheus.NewRegistry()
	reg.MustRegister(NewCollector(testSnapshot, Groups{}))
	fams, err = reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		switch f.GetName() {
		case "falcosecurity_falco_rules_matches_total", "falcosecurity_falco_memory_rss_bytes", "falcoc_kernel_hook_calls_total", "falcosecurity_scap_n_threads_total":
			t.Errorf("%s with its group off", f.GetName())
		}
	}
}

// The snapshot alert: Falco's rule, priority, source and output, and the
// fields with rates against the previous snapshot.
func TestAlert(t *testing.T) {
	prev := testSnapshot()
	s := testSnapshot()
	s.Time = prev.Time.Add(10 * time.Second)
	s.Kernel = &Kernel{Total: Stage{Calls: 200, Sent: 110, Lost: 2}}
	s.Sources[0].Events = 110
	a := Alert(s, prev, AllGroups, true)
	if a.Rule != "Falco internal: metrics snapshot" || a.Priority != output.PriorityInformational || a.Source != "internal" || a.Message != "Falco metrics snapshot" {
		t.Errorf("alert %q %v %q %q", a.Rule, a.Priority, a.Source, a.Message)
	}
	got := map[string]string{}
	for _, f := range a.Fields {
		got[f.Name] = string(output.AppendText(nil, f.Value, nil))
	}
	want := map[string]string{
		"falco.num_evts": "110", "falco.num_evts_prev": "10", "scap.n_evts": "112", "scap.n_evts_prev": "12",
		"scap.evts_rate_sec": "10", "scap.n_drops_perc": "0", "falco.memory_rss_mb": "1",
		"falco.rules.Read sensitive file untrusted": "2", "falco.rules.matches_total": "2",
		"falco.outputs_queue_num_drops": "3", "falco.sha256_config_file.falco_yaml": "abc",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestReadResources(t *testing.T) {
	r := ReadResources("/proc")
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %v", r.Errors)
	}
	if r.RSS == 0 || r.VSZ < r.RSS || r.HostBoot.IsZero() || r.HostMemoryUsed == 0 || r.HostNumCPUs == 0 {
		t.Errorf("implausible figures: %+v", r)
	}
	if diff := cmp.Diff(true, r.HostBoot.Before(time.Now())); diff != "" {
		t.Errorf("boot time in the future: %v", r.HostBoot)
	}
}
