package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/falcoc/falcoc/bpf"
)

// Stage are the kernel counters of one syscall (or record kind), as
// falco-run's capture counts them.
type Stage struct {
	Calls         uint64 `json:"calls"`          // hook invocations
	GatePass      uint64 `json:"passed_gate"`    // passed the syscall gate
	PrefilterDrop uint64 `json:"prefilter_drop"` // dropped by a prefilter dimension
	Sent          uint64 `json:"sent"`           // written to the ring buffer
	Lost          uint64 `json:"lost"`           // ring buffer full
}

func (s *Stage) add(o Stage) {
	s.Calls += o.Calls
	s.GatePass += o.GatePass
	s.PrefilterDrop += o.PrefilterDrop
	s.Sent += o.Sent
	s.Lost += o.Lost
}

func (s Stage) sub(o Stage) Stage {
	return Stage{s.Calls - o.Calls, s.GatePass - o.GatePass, s.PrefilterDrop - o.PrefilterDrop, s.Sent - o.Sent, s.Lost - o.Lost}
}

// Counters are the kernel counters of every kind, indexed by syscall id or
// bpf.KindFork, bpf.KindExec, bpf.KindExit.
type Counters [bpf.NumKinds]Stage

// Sub returns c - o, kind by kind.
func (c *Counters) Sub(o *Counters) Counters {
	var d Counters
	for i := range c {
		d[i] = c[i].sub(o[i])
	}
	return d
}

// Total sums every kind.
func (c *Counters) Total() Stage {
	var t Stage
	for i := range c {
		t.add(c[i])
	}
	return t
}

// Sum sums the kinds for which keep is true.
func (c *Counters) Sum(keep func(kind int) bool) Stage {
	var t Stage
	for i := range c {
		if keep(i) {
			t.add(c[i])
		}
	}
	return t
}

// counterMapName is the name of the capture's counters map (capture.c).
const counterMapName = "counters"

// counterValueSize is sizeof(struct falcoc_counters).
const counterValueSize = 40

// errNoCounterMap is returned when a process holds no counters map.
var errNoCounterMap = errors.New("no falcoc counters map")

// counterMap finds the capture's counters map among the BPF maps that the
// process pid holds open, from /proc/PID/fdinfo. The caller closes it.
func counterMap(pid int) (*ebpf.Map, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, fmt.Errorf("find counters map: %w", err)
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil || link != "anon_inode:bpf-map" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		id, ok := fdinfoField(string(info), "map_id")
		if !ok {
			continue
		}
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue
		}
		mi, err := m.Info()
		if err == nil && mi.Name == counterMapName && mi.Type == ebpf.PerCPUArray &&
			mi.ValueSize == counterValueSize && mi.MaxEntries == bpf.NumKinds {
			return m, nil
		}
		m.Close()
	}
	return nil, fmt.Errorf("find counters map of pid %d: %w", pid, errNoCounterMap)
}

// fdinfoField returns the numeric value of a "key:\tvalue" line.
func fdinfoField(info, key string) (uint64, bool) {
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// readCounters reads every kind of the counters map, summed over CPUs.
func readCounters(m *ebpf.Map, c *Counters) error {
	var per []Stage
	for k := range uint32(bpf.NumKinds) {
		if err := m.Lookup(k, &per); err != nil {
			return fmt.Errorf("read counters: %w", err)
		}
		var s Stage
		for _, p := range per {
			s.add(p)
		}
		c[k] = s
	}
	return nil
}

// finalStats is what falco-run prints on stderr when it stops.
type finalStats struct {
	Kernel    Stage  // the "Kernel:" totals line
	Events    uint64 // events processed by the engine
	Alerts    uint64 // alerts emitted
	HasKernel bool
	HasEngine bool
}

// parseFinalStats reads falco-run's final counters from its stderr:
//
//	Kernel: hook calls N, passed gate N, dropped by prefilter N, sent N, lost N
//	Events processed: N, rules evaluated: N, matches: N, alerts: N
func parseFinalStats(stderr string) finalStats {
	var f finalStats
	for _, line := range strings.Split(stderr, "\n") {
		var k Stage
		if _, err := fmt.Sscanf(line, "Kernel: hook calls %d, passed gate %d, dropped by prefilter %d, sent %d, lost %d",
			&k.Calls, &k.GatePass, &k.PrefilterDrop, &k.Sent, &k.Lost); err == nil {
			f.Kernel, f.HasKernel = k, true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "Events processed: "); ok {
			var ev, evald, matches, alerts uint64
			if _, err := fmt.Sscanf(rest, "%d, rules evaluated: %d, matches: %d, alerts: %d", &ev, &evald, &matches, &alerts); err == nil {
				f.Events, f.Alerts, f.HasEngine = ev, alerts, true
			}
		}
	}
	return f
}
