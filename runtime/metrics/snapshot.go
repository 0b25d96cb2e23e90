package metrics

import (
	"time"

	"github.com/falcoc/falcoc/runtime/output"
)

// Snapshot is every quantity falco-run reports at one instant. The agent
// fills one on each scrape and on each metrics.interval tick; the
// resource figures come from [ReadResources].
type Snapshot struct {
	Time     time.Time
	Hostname string
	// Version is falcoc's version ("falcoc 0.1.0-dev").
	Version string
	// EngineName names the syscall source: "falcoc_bpf" (live), "replay"
	// (-e) or "none" (no syscall source).
	EngineName    string
	KernelRelease string
	Start, Reload time.Time
	ConfigFiles   []FileSum
	RulesFiles    []FileSum

	// Sources are the engine's counters per event source.
	Sources []SourceCounts
	// Rules are the match counts per loaded rule, all sources.
	Rules []RuleCount
	// Outputs are the output channels' counters.
	Outputs []OutputCount
	// Kernel is the live capture's counters; nil without live capture.
	Kernel *Kernel
	// K8sAudit is the audit webhook's counters; nil when it is off.
	K8sAudit *K8sAudit
	// State is the syscall state tables' size; nil without a syscall
	// source.
	State *State

	Resources Resources
}

// FileSum is a configuration or rules file and its SHA-256 (hex).
type FileSum struct {
	Path   string
	SHA256 string
}

// SourceCounts are the engine's counters for one event source.
type SourceCounts struct {
	Source                             string
	Events, Evaluated, Matches, Alerts uint64
}

// RuleCount is one rule's match count.
type RuleCount struct {
	Name     string
	Priority output.Priority
	Source   string
	Tags     []string
	Matches  uint64
}

// OutputCount is one output channel's counters; Dropped are the alerts the
// channel's queue could not take or that were abandoned at close.
type OutputCount struct {
	Name                  string
	Sent, Dropped, Failed uint64
}

// Stage are the kernel prefilter's counters, per syscall or in total.
type Stage struct {
	// Calls: hook invocations; GatePass: passed the syscall gate;
	// PrefilterDrop: dropped by the prefilter in the kernel; Sent: put in
	// the ring buffer; Lost: the ring buffer was full.
	Calls, GatePass, PrefilterDrop, Sent, Lost uint64
}

// Kernel are the live capture's counters.
type Kernel struct {
	Total Stage
	// BySyscall are the counters of the syscalls (and <fork>, <exec>,
	// <exit>) with at least one hook call.
	BySyscall []SyscallStage
	// Missed counts invocations the kernel skipped (see bpf.Capture.Missed).
	Missed uint64
	// Undecodable counts records the decoder could not turn into events.
	Undecodable uint64
}

// SyscallStage is one syscall's kernel counters.
type SyscallStage struct {
	Syscall string
	Stage
}

// K8sAudit are the audit webhook's counters.
type K8sAudit struct {
	Events, Malformed, Dropped uint64
}

// State is the syscall state table's size and counters (published by
// the event loop every few thousand events).
type State struct {
	Threads, Processes uint64
	// Removed are exited threads removed; Evicted threads dropped because
	// the table was full; ProcReads lazy /proc reads on a miss.
	Removed, Evicted, ProcReads uint64
}

// MatchesTotal is the sum of the rules' matches.
func (s *Snapshot) MatchesTotal() uint64 {
	var n uint64
	for _, r := range s.Rules {
		n += r.Matches
	}
	return n
}

// OutputDrops is the sum of the outputs' drops (Falco's
// outputs_queue_num_drops).
func (s *Snapshot) OutputDrops() uint64 {
	var n uint64
	for _, o := range s.Outputs {
		n += o.Dropped
	}
	return n
}

// EventsTotal is the sum of the events processed by every source.
func (s *Snapshot) EventsTotal() uint64 {
	var n uint64
	for _, c := range s.Sources {
		n += c.Events
	}
	return n
}
