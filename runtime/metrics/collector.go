package metrics

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Groups select the metric groups, as falco.yaml's metrics.*_enabled keys
// do.
type Groups struct {
	// Rules: rule matches by rule (metrics.rules_counters_enabled).
	Rules bool
	// Resources: CPU and memory of falco-run and the host
	// (metrics.resource_utilization_enabled).
	Resources bool
	// State: state table sizes (metrics.state_counters_enabled).
	State bool
	// Kernel: the capture's counters, Falco's scap_* and falcoc's own
	// prefilter stages (metrics.kernel_event_counters_enabled).
	Kernel bool
}

// AllGroups is every group on, Falco's default.
var AllGroups = Groups{Rules: true, Resources: true, State: true, Kernel: true}

// Collector is a prometheus.Collector over snapshots: each Collect asks
// for a fresh [Snapshot] and turns it into constant metrics. Names follow
// Falco 0.44 (prefix falcosecurity_) where Falco has the same quantity;
// falcoc's own quantities have the prefix falcoc_. It is unchecked (its
// Describe sends nothing), since the label sets of the rule metrics
// depend on the rules. Safe for concurrent use if snap is.
type Collector struct {
	snap   func() *Snapshot
	groups Groups
}

// NewCollector returns a collector calling snap on every scrape.
func NewCollector(snap func() *Snapshot, g Groups) *Collector {
	return &Collector{snap: snap, groups: g}
}

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

type emitter struct {
	ch chan<- prometheus.Metric
}

func (e emitter) emit(name, help string, vt prometheus.ValueType, v float64, labels prometheus.Labels) {
	d := prometheus.NewDesc(name, help, nil, labels)
	e.ch <- prometheus.MustNewConstMetric(d, vt, v)
}

func (e emitter) gauge(name, help string, v float64, labels prometheus.Labels) {
	e.emit(name, help, prometheus.GaugeValue, v, labels)
}

func (e emitter) counter(name, help string, v uint64, labels prometheus.Labels) {
	e.emit(name, help, prometheus.CounterValue, float64(v), labels)
}

// Collect turns a fresh snapshot into metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	e := emitter{ch}
	const f, fs = "falcosecurity_falco_", "falcosecurity_scap_"
	e.gauge(f+"version_info", "falcoc's version", 1, prometheus.Labels{"version": s.Version})
	e.gauge("falcosecurity_evt_hostname_info", "the host name in alerts", 1, prometheus.Labels{"hostname": s.Hostname})
	e.gauge(f+"kernel_release_info", "the kernel release", 1, prometheus.Labels{"kernel_release": s.KernelRelease})
	e.gauge(fs+"engine_name_info", "the syscall source", 1, prometheus.Labels{"engine_name": s.EngineName})
	e.gauge(f+"start_timestamp_nanoseconds", "when falco-run started", float64(s.Start.UnixNano()), nil)
	e.gauge(f+"reload_timestamp_nanoseconds", "when the rules were last (re)loaded", float64(s.Reload.UnixNano()), nil)
	e.emit(f+"duration_seconds_total", "seconds since falco-run started", prometheus.CounterValue,
		float64(int64(s.Time.Sub(s.Start).Seconds())), nil)
	for _, fsum := range s.ConfigFiles {
		e.gauge(f+"sha256_config_files_info", "SHA-256 of a configuration file", 1,
			prometheus.Labels{"file_name": fileKey(fsum.Path), "sha256": fsum.SHA256})
	}
	for _, fsum := range s.RulesFiles {
		e.gauge(f+"sha256_rules_files_info", "SHA-256 of a rules file", 1,
			prometheus.Labels{"file_name": fileKey(fsum.Path), "sha256": fsum.SHA256})
	}
	e.counter(f+"outputs_queue_num_drops_total", "alerts the output queues dropped", s.OutputDrops(), nil)
	for _, o := range s.Outputs {
		l := prometheus.Labels{"output": o.Name}
		e.counter("falcoc_output_sent_total", "alerts an output delivered", o.Sent, l)
		e.counter("falcoc_output_dropped_total", "alerts an output's queue dropped", o.Dropped, l)
		e.counter("falcoc_output_failed_total", "alert writes that failed", o.Failed, l)
	}
	for _, src := range s.Sources {
		l := prometheus.Labels{"source": src.Source}
		e.counter("falcoc_engine_events_total", "events the engine processed", src.Events, l)
		e.counter("falcoc_engine_rule_evaluations_total", "rule evaluations", src.Evaluated, l)
		e.counter("falcoc_engine_matches_total", "rule matches", src.Matches, l)
		e.counter("falcoc_engine_alerts_total", "alerts handed to the outputs", src.Alerts, l)
	}
	if c.groups.Rules {
		for _, r := range s.Rules {
			l := prometheus.Labels{"priority": strconv.Itoa(int(r.Priority)), "rule_name": r.Name, "source": r.Source}
			for _, t := range r.Tags {
				l["tag_"+labelName(t)] = "true"
			}
			e.counter(f+"rules_matches_total", "matches by rule", r.Matches, l)
		}
	}
	if c.groups.Resources {
		r := &s.Resources
		e.gauge(f+"cpu_usage_ratio", "falco-run's CPU time over its run time", r.CPUUsageRatio, nil)
		e.gauge(f+"memory_rss_bytes", "falco-run's resident memory", float64(r.RSS), nil)
		e.gauge(f+"memory_vsz_bytes", "falco-run's virtual memory", float64(r.VSZ), nil)
		e.gauge(f+"memory_pss_bytes", "falco-run's proportional set size", float64(r.PSS), nil)
		e.gauge(f+"container_memory_used_bytes", "memory.current of falco-run's cgroup", float64(r.ContainerMemory), nil)
		e.gauge(f+"host_boot_timestamp_nanoseconds", "host boot time", float64(r.HostBoot.UnixNano()), nil)
		e.gauge(f+"host_cpu_usage_ratio", "host busy CPU time over all CPU time since boot", r.HostCPUUsageRatio, nil)
		e.gauge(f+"host_memory_used_bytes", "host memory in use (total - available)", float64(r.HostMemoryUsed), nil)
		e.gauge(f+"host_num_cpus_total", "host CPUs", float64(r.HostNumCPUs), nil)
		e.gauge(f+"host_procs_running_total", "host running processes", float64(r.HostProcsRunning), nil)
		e.gauge(f+"host_open_fds_total", "host open files", float64(r.HostOpenFds), nil)
	}
	if c.groups.State && s.State != nil {
		e.gauge(fs+"n_threads_total", "threads in the state table", float64(s.State.Threads), nil)
		e.counter(fs+"n_removed_threads_total", "exited threads removed from the state table", s.State.Removed, nil)
		e.counter(fs+"n_drops_full_threadtable_total", "threads dropped because the state table was full", s.State.Evicted, nil)
		e.gauge("falcoc_state_processes", "processes in the state table", float64(s.State.Processes), nil)
		e.counter("falcoc_state_proc_reads_total", "lazy /proc reads for threads the table did not know", s.State.ProcReads, nil)
	}
	if k := s.Kernel; c.groups.Kernel && k != nil {
		// Falco's scap counters: every event the kernel tried to send,
		// and the ones the ring buffer could not take.
		e.counter(fs+"n_evts_total", "events the kernel sent or lost", k.Total.Sent+k.Total.Lost, nil)
		e.counter(fs+"n_drops_total", "events lost in the kernel", k.Total.Lost, nil)
		e.counter(fs+"n_drops_buffer_total", "events lost because the ring buffer was full", k.Total.Lost, nil)
		e.counter("falcoc_kernel_missed_total", "hook invocations the kernel skipped (program already running on the CPU)", k.Missed, nil)
		e.counter("falcoc_kernel_undecodable_total", "kernel records that could not be decoded", k.Undecodable, nil)
		for _, sc := range k.BySyscall {
			l := prometheus.Labels{"syscall": sc.Syscall}
			e.counter("falcoc_kernel_hook_calls_total", "kernel hook calls", sc.Calls, l)
			e.counter("falcoc_kernel_gate_passed_total", "calls that passed the syscall gate", sc.GatePass, l)
			e.counter("falcoc_kernel_prefilter_dropped_total", "events dropped in the kernel by the prefilter", sc.PrefilterDrop, l)
			e.counter("falcoc_kernel_sent_total", "events put in the ring buffer", sc.Sent, l)
			e.counter("falcoc_kernel_lost_total", "events lost because the ring buffer was full", sc.Lost, l)
		}
	}
	if k := s.K8sAudit; k != nil {
		e.counter("falcoc_k8saudit_events_total", "audit events the webhook received", k.Events, nil)
		e.counter("falcoc_k8saudit_malformed_total", "webhook requests, and events within them, refused as not audit events or too large", k.Malformed, nil)
		e.counter("falcoc_k8saudit_dropped_total", "audit events dropped (engine busy)", k.Dropped, nil)
	}
}

// fileKey is Falco's name for a file in its metrics: the base name with
// dots as underscores ("falco_yaml").
func fileKey(path string) string {
	return strings.ReplaceAll(filepath.Base(path), ".", "_")
}

// labelName makes s a valid Prometheus label name: characters other than
// letters, digits and '_' become '_'.
func labelName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
