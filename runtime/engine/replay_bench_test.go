package engine_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/kplan"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// BenchmarkReplay measures falco-run -e's whole path per event: decode
// (the replay reader), state, candidate rules in the VM, and formatting of
// the rare alert. 100 generated rules are loaded (process names, paths,
// ports), as issue 3 asks. "judged" applies the kernel prefilter's plan
// in userspace, as falco-run does by default; "every-rule" evaluates every
// candidate rule of the event type, as --prefilter=off does.
func BenchmarkReplay(b *testing.B) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if art == nil {
		b.Fatalf("compile: %v", ds)
	}
	kp := art.Plan
	const n = 200000
	trace := rulegen.ReplayTrace(n)
	for _, judged := range []bool{true, false} {
		name := "every-rule"
		if judged {
			name = "judged"
		}
		b.Run(name, func(b *testing.B) {
			var alerts uint64
			events := 0
			b.ReportAllocs()
			b.SetBytes(int64(len(trace)))
			cpu := cpuClock()
			for b.Loop() {
				e := newReplayEngine(b, art, kp, judged)
				r := replay.NewReader(bytes.NewReader(trace))
				var ev event.Event
				var pc event.ProcContext
				for {
					err := r.Next(&ev, &pc)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if pc.Present() {
						state.ApplyProc(e.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
					}
					e.Process(&ev)
					events++
				}
				alerts += e.Stats().Alerts
			}
			reportRates(b, events, cpu)
			b.ReportMetric(float64(alerts)/float64(b.N), "alerts/run")
		})
	}
}

// BenchmarkReplayScap is BenchmarkReplay/judged with the trace written
// as a libscap capture (the format falco-run -e FILE.scap reads): the
// capture's tables, then its binary event blocks, decoded by runtime/scap.
func BenchmarkReplayScap(b *testing.B) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if art == nil {
		b.Fatalf("compile: %v", ds)
	}
	file := filepath.Join(b.TempDir(), "trace.scap")
	writeScapTrace(b, file, rulegen.ReplayTrace(200000))
	var alerts uint64
	events := 0
	b.ReportAllocs()
	cpu := cpuClock()
	for b.Loop() {
		e := newReplayEngine(b, art, art.Plan, true)
		src, err := replay.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		var ev event.Event
		for {
			err := src.Next(context.Background(), &ev, e.Table())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			e.Process(&ev)
			events++
		}
		src.Close()
		alerts += e.Stats().Alerts
	}
	reportRates(b, events, cpu)
	b.ReportMetric(float64(alerts)/float64(b.N), "alerts/run")
}

// writeScapTrace writes a JSON lines trace as a libscap capture: the
// processes its lines describe go into the capture's process table.
func writeScapTrace(b *testing.B, file string, trace []byte) {
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	evs := decodedTrace(b, trace, tab, nil)
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := replay.NewScapCapture(f, nil, "bench")
	for i := range evs {
		if err := w.Write(&evs[i], tab); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(tab); err != nil {
		b.Fatal(err)
	}
}

func newReplayEngine(b testing.TB, art *artifact.Artifact, kp *plan.Plan, judged bool) *engine.Engine {
	opts := engine.Options{
		Table:       state.NewTable(&state.Options{ProcReadsPerSec: -1}),
		Users:       state.NewUsers(nil),
		Sink:        formatSink{},
		MinPriority: output.PriorityDebug,
	}
	if judged {
		opts.Judge = kplan.NewUserJudge(kp)
		opts.RuleMasks = kp.RuleMasks(ruleNames(art))
	}
	e, err := engine.New(art, opts)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func ruleNames(art *artifact.Artifact) []string {
	names := make([]string, len(art.Rules))
	for i, r := range art.Rules {
		names[i] = r.Name
	}
	return names
}

// formatSink formats each alert as text, as the stdout output would.
type formatSink struct{}

var sinkBuf []byte

func (formatSink) Send(a *output.Alert) { sinkBuf = output.FormatText(sinkBuf[:0], a, nil) }

// BenchmarkReplayDecodeOnly is BenchmarkReplay's trace through the reader
// alone, to split the cost between decoding and the engine.
func BenchmarkReplayDecodeOnly(b *testing.B) {
	trace := rulegen.ReplayTrace(200000)
	events := 0
	b.ReportAllocs()
	cpu := cpuClock()
	for b.Loop() {
		r := replay.NewReader(bytes.NewReader(trace))
		var ev event.Event
		var pc event.ProcContext
		for r.Next(&ev, &pc) == nil {
			events++
		}
	}
	reportRates(b, events, cpu)
}

// BenchmarkReplayEngine is BenchmarkReplay/judged's engine path without the
// reader: 4,096 events of the same trace are decoded once (the processes
// applied first) and fed to one engine again and again, so that the events
// stay in the cache as the reader's reused buffers do. It splits the cost
// between decoding and the engine (state, the userspace judge, the VM).
func BenchmarkReplayEngine(b *testing.B) {
	art, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if art == nil {
		b.Fatalf("compile: %v", ds)
	}
	e := newReplayEngine(b, art, art.Plan, true)
	evs := decodedTrace(b, rulegen.ReplayTrace(4096), e.Table(), e)
	for i := range evs { // warm up: fd tables and pools reach their size
		e.Process(&evs[i])
	}
	b.ReportAllocs()
	events := 0
	cpu := cpuClock()
	for b.Loop() {
		for i := range evs {
			e.Process(&evs[i])
		}
		events += len(evs)
	}
	reportRates(b, events, cpu)
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		for i := range evs {
			e.Process(&evs[i])
		}
	}))/float64(len(evs)), "allocs/event")
}

// decodedTrace decodes trace once, each event with its own parameters.
// The processes its lines describe are applied to tab; with e set, the
// events that describe them also go through e and are left out of the
// result (the rest make a steady-state loop), without e every event is
// returned.
func decodedTrace(tb testing.TB, trace []byte, tab *state.Table, e *engine.Engine) []event.Event {
	tb.Helper()
	r := replay.NewReader(bytes.NewReader(trace))
	var evs []event.Event
	for {
		var ev event.Event
		var pc event.ProcContext
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			return evs
		}
		if err != nil {
			tb.Fatal(err)
		}
		if pc.Present() {
			state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &pc)
			if e != nil {
				e.Process(&ev)
				continue
			}
		}
		ev.Params = slices.Clone(ev.Params)
		evs = append(evs, ev)
	}
}

// cpuClock returns the CPU time the process has used (every thread, the
// garbage collector's included).
func cpuClock() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports events per second of the benchmark's elapsed time,
// and the CPU time per event since cpu (a cpuClock reading taken before
// the loop). On a machine shared with other work, the elapsed time
// includes the time the benchmark waited for a CPU; the CPU time does
// not, so it is the steadier figure to compare.
func reportRates(b *testing.B, events int, cpu time.Duration) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if used := cpuClock() - cpu; used > 0 && events > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(events), "cpu-ns/event")
	}
}
