package metrics

import (
	"math"

	"github.com/falcoc/falcoc/runtime/output"
)

// SnapshotRule, SnapshotOutput and SnapshotSource are the rule name, the
// output text and the source of the alert Falco emits every
// metrics.interval.
const (
	SnapshotRule   = "Falco internal: metrics snapshot"
	SnapshotOutput = "Falco metrics snapshot"
	SnapshotSource = "internal"
)

// Alert builds the metrics snapshot alert for s; prev is the previous
// snapshot (nil for the first), for the *_prev fields and the rates.
// Memory is in megabytes as with Falco's metrics.convert_memory_to_mb
// (the default), else in bytes.
func Alert(s, prev *Snapshot, g Groups, memoryMB bool) *output.Alert {
	var fs []output.Field
	add := func(name string, v output.Value) { fs = append(fs, output.Field{Name: name, Value: v}) }
	mem := func(name string, b uint64) {
		if memoryMB {
			add(name+"_mb", output.Double(math.Round(float64(b)/(1<<20)*100)/100))
		} else {
			add(name+"_bytes", output.Uint(b))
		}
	}
	add("evt.hostname", output.String(s.Hostname))
	add("evt.source", output.String("syscall"))
	add("evt.time", output.Uint(uint64(s.Time.UnixNano())))
	add("falco.version", output.String(s.Version))
	add("falco.start_ts", output.Uint(uint64(s.Start.UnixNano())))
	add("falco.reload_ts", output.Uint(uint64(s.Reload.UnixNano())))
	add("falco.duration_sec", output.Uint(uint64(s.Time.Sub(s.Start).Seconds())))
	add("falco.kernel_release", output.String(s.KernelRelease))
	add("scap.engine_name", output.String(s.EngineName))
	for _, f := range s.ConfigFiles {
		add("falco.sha256_config_file."+fileKey(f.Path), output.String(f.SHA256))
	}
	for _, f := range s.RulesFiles {
		add("falco.sha256_rules_file."+fileKey(f.Path), output.String(f.SHA256))
	}
	var prevEvts uint64
	if prev != nil {
		prevEvts = prev.EventsTotal()
	}
	add("falco.num_evts", output.Uint(s.EventsTotal()))
	add("falco.num_evts_prev", output.Uint(prevEvts))
	add("falco.outputs_queue_num_drops", output.Uint(s.OutputDrops()))
	if g.Rules {
		add("falco.rules.matches_total", output.Uint(s.MatchesTotal()))
		for _, r := range s.Rules {
			if r.Matches > 0 {
				add("falco.rules."+r.Name, output.Uint(r.Matches))
			}
		}
	}
	if g.Resources {
		r := &s.Resources
		add("falco.cpu_usage_perc", output.Double(round2(r.CPUUsageRatio*100)))
		mem("falco.memory_rss", r.RSS)
		mem("falco.memory_vsz", r.VSZ)
		mem("falco.memory_pss", r.PSS)
		mem("falco.container_memory_used", r.ContainerMemory)
		add("falco.host_boot_ts", output.Uint(uint64(r.HostBoot.UnixNano())))
		add("falco.host_cpu_usage_perc", output.Double(round2(r.HostCPUUsageRatio*100)))
		mem("falco.host_memory_used", r.HostMemoryUsed)
		add("falco.host_num_cpus", output.Uint(uint64(r.HostNumCPUs)))
		add("falco.host_procs_running", output.Uint(r.HostProcsRunning))
		add("falco.host_open_fds", output.Uint(r.HostOpenFds))
	}
	if g.State && s.State != nil {
		add("falco.n_threads", output.Uint(s.State.Threads))
		add("falco.n_removed_threads", output.Uint(s.State.Removed))
		add("falco.n_drops_full_threadtable", output.Uint(s.State.Evicted))
	}
	if k := s.Kernel; g.Kernel && k != nil {
		evts, drops := k.Total.Sent+k.Total.Lost, k.Total.Lost
		var pe, pd uint64
		var secs float64
		if prev != nil && prev.Kernel != nil {
			pe, pd = prev.Kernel.Total.Sent+prev.Kernel.Total.Lost, prev.Kernel.Total.Lost
			secs = s.Time.Sub(prev.Time).Seconds()
		} else {
			secs = s.Time.Sub(s.Start).Seconds()
		}
		add("scap.n_evts", output.Uint(evts))
		add("scap.n_evts_prev", output.Uint(pe))
		add("scap.n_drops", output.Uint(drops))
		add("scap.n_drops_prev", output.Uint(pd))
		perc := 0.0
		if evts > pe {
			perc = float64(drops-pd) / float64(evts-pe) * 100
		}
		add("scap.n_drops_perc", output.Double(round2(perc)))
		if secs > 0 {
			add("scap.evts_rate_sec", output.Double(round2(float64(evts-pe)/secs)))
			add("scap.evts_drop_rate_sec", output.Double(round2(float64(drops-pd)/secs)))
		}
		add("falcoc.kernel.hook_calls", output.Uint(k.Total.Calls))
		add("falcoc.kernel.gate_passed", output.Uint(k.Total.GatePass))
		add("falcoc.kernel.prefilter_dropped", output.Uint(k.Total.PrefilterDrop))
		add("falcoc.kernel.sent", output.Uint(k.Total.Sent))
		add("falcoc.kernel.lost", output.Uint(k.Total.Lost))
		add("falcoc.kernel.missed", output.Uint(k.Missed))
	}
	if k := s.K8sAudit; k != nil {
		add("falcoc.k8saudit.events", output.Uint(k.Events))
		add("falcoc.k8saudit.malformed", output.Uint(k.Malformed))
		add("falcoc.k8saudit.dropped", output.Uint(k.Dropped))
	}
	return &output.Alert{
		Time:     s.Time.UnixNano(),
		Rule:     SnapshotRule,
		Priority: output.PriorityInformational,
		Source:   SnapshotSource,
		Hostname: s.Hostname,
		Message:  SnapshotOutput,
		Fields:   fs,
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
