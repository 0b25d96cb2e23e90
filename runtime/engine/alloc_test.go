package engine_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// TestProcessAllocs: engine.Process as a whole (state updates, the
// userspace judge, candidate rules in the VM) allocates nothing per event
// in the steady state of BenchmarkReplay's workload: opens of ordinary
// files, closes, and connects by known processes to ever new address
// pairs (their fd.name is built only when asked for), none of them
// matching. Issue 10 asks for 0 allocations per event.
func TestProcessAllocs(t *testing.T) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if art == nil {
		t.Fatalf("compile: %v", ds)
	}
	for _, judged := range []bool{true, false} {
		e := newReplayEngine(t, art, art.Plan, judged)
		evs := decodedTrace(t, rulegen.ReplayTrace(2000), e.Table(), e)
		// Warm up: fd tables, caches and pools reach their size.
		for i := range evs {
			e.Process(&evs[i])
		}
		byType := map[string][]int{}
		for i := range evs {
			byType[evs[i].Info.Name] = append(byType[evs[i].Info.Name], i)
		}
		if len(byType["connect"]) < 100 {
			t.Fatalf("the trace has %d connects", len(byType["connect"]))
		}
		for typ, idx := range byType {
			allocs := testing.AllocsPerRun(20, func() {
				for _, i := range idx {
					e.Process(&evs[i])
				}
			})
			t.Logf("judged=%v %s: %.0f allocations per pass of %d events", judged, typ, allocs, len(idx))
			if allocs != 0 {
				t.Errorf("judged=%v: %s: %.0f allocations per pass of %d events, want 0", judged, typ, allocs, len(idx))
			}
		}
	}
}

// TestReplayAllocs: falco-run -e's whole path per event (the replay
// reader, engine.Process) allocates nothing in the steady state:
// BenchmarkReplay's events are read again and again from one Reader into
// one Event, as a replay of a long trace that repeats its paths and
// names would be. (A line with a "proc" object, which describes a
// process, goes through encoding/json and allocates.)
func TestReplayAllocs(t *testing.T) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if art == nil {
		t.Fatalf("compile: %v", ds)
	}
	// The lines that describe the processes (a "proc" object: the
	// encoding/json decoder's) come once, then the events again and again.
	var head, body []byte
	for l := range bytes.Lines(rulegen.ReplayTrace(4000)) {
		if bytes.Contains(l, []byte(`"proc":`)) {
			head = append(head, l...)
		} else {
			body = append(body, l...)
		}
	}
	lines := bytes.Count(body, []byte("\n"))
	e := newReplayEngine(t, art, art.Plan, true)
	r := replay.NewReader(io.MultiReader(bytes.NewReader(head), &cycle{b: body}))
	for range bytes.Count(head, []byte("\n")) {
		var ev event.Event
		var pc event.ProcContext
		if err := r.Next(&ev, &pc); err != nil {
			t.Fatal(err)
		}
		state.ApplyProc(e.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
		e.Process(&ev)
	}
	var ev event.Event
	var pc event.ProcContext
	pass := func() {
		for range lines {
			if err := r.Next(&ev, &pc); err != nil {
				t.Fatal(err)
			}
			if pc.Present() {
				state.ApplyProc(e.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
			}
			e.Process(&ev)
		}
	}
	pass() // warm up: interned strings, line shapes, fd tables
	pass()
	if allocs := testing.AllocsPerRun(5, pass); allocs != 0 {
		t.Errorf("%.0f allocations per pass of %d events, want 0", allocs, lines)
	}
}

// cycle reads b again and again.
type cycle struct {
	b []byte
	i int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.i:])
	c.i = (c.i + n) % len(c.b)
	return n, nil
}
