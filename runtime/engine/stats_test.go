package engine_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// TestStatsPublished: the per-event counters are kept by the processing
// goroutine and published in batches, so another goroutine reading Stats
// while events flow sees counts that never go back, and Flush makes them
// exact when processing stops. Run it with -race: the reader goroutine
// must not race with Process.
func TestStatsPublished(t *testing.T) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(20, 1)}}, nil)
	if art == nil {
		t.Fatalf("compile: %v", ds)
	}
	e := newReplayEngine(t, art, art.Plan, false)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var readerErr string
	go func() {
		defer wg.Done()
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := e.Stats()
			if s.Events < last {
				readerErr = "events went back"
				return
			}
			last = s.Events
		}
	}()
	r := replay.NewReader(bytes.NewReader(rulegen.ReplayTrace(5000)))
	var ev event.Event
	var pc event.ProcContext
	n := 0
	for {
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pc.Present() {
			state.ApplyProc(e.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		e.Process(&ev)
		n++
	}
	close(stop)
	wg.Wait()
	if readerErr != "" {
		t.Error(readerErr)
	}
	before := e.Stats()
	if before.Events > uint64(n) || uint64(n)-before.Events >= 64 {
		t.Errorf("before Flush: %d events published of %d, want within the batch of 64", before.Events, n)
	}
	e.Flush()
	s := e.Stats()
	if s.Events != uint64(n) {
		t.Errorf("after Flush: Events = %d, want %d", s.Events, n)
	}
	if s.Evaluated == 0 || s.Evaluated < before.Evaluated || s.Matches > s.Evaluated {
		t.Errorf("after Flush: %+v (before %+v)", s, before)
	}
	e.Flush() // nothing pending: no change
	if s2 := e.Stats(); s2 != s {
		t.Errorf("second Flush changed the counters: %+v, then %+v", s, s2)
	}
}
