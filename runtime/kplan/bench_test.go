package kplan

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// BenchmarkUserJudge measures UserJudge.Mask alone on the events of
// runtime/engine's BenchmarkReplay trace (opens of 400 paths, closes,
// connects by ten processes), under 100 generated rules.
func BenchmarkUserJudge(b *testing.B) {
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if rs == nil {
		b.Fatal(ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		b.Fatal(err)
	}
	u := NewUserJudge(p)
	tab := state.NewTable(&state.Options{ProcRoot: b.TempDir(), ProcReadsPerSec: -1})
	r := replay.NewReader(bytes.NewReader(rulegen.ReplayTrace(4096)))
	var evs []event.Event
	var ths []*state.Thread
	for {
		var ev event.Event
		var pc event.ProcContext
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if pc.Present() {
			state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		state.ApplyBefore(tab, &ev)
		ev.Params = slices.Clone(ev.Params)
		evs = append(evs, ev)
		ths = append(ths, tab.Get(ev.Tid))
		state.ApplyAfter(tab, &ev)
	}
	// A few events, again and again, so that they stay in the cache as
	// a reader's one reused Event does.
	evs, ths = evs[len(evs)-128:], ths[len(ths)-128:]
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range evs {
			m := u.Mask(&evs[i], ths[i])
			if !m.IsZero() {
				n++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	b.ReportMetric(float64(n)/float64(b.N*len(evs)), "kept/event")
}
