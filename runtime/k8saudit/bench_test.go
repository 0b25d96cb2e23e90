package k8saudit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/output"
)

// BenchmarkDecode decodes one pod creation event.
func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "pod_create.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var n int
	for b.Loop() {
		evs, _, err := Decode(data, DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n += len(evs)
	}
	if n == 0 {
		b.Fatal("no events")
	}
}

type countSink struct{ n int }

func (c *countSink) Send(*output.Alert) { c.n++ }

// BenchmarkPipeline evaluates the test rules on one pod creation event.
func BenchmarkPipeline(b *testing.B) {
	art := compile(b, pipelineRules)
	ev := loadEvent(b, "pod_create")
	var sink countSink
	p, err := NewPipeline(art, engine.SourceOptions{Sink: &sink, MinPriority: output.PriorityDebug}, EnvOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Process(ev)
	}
	if sink.n == 0 {
		b.Fatal("no alerts")
	}
}

// BenchmarkUpstreamRules evaluates the k8saudit plugin's 48 rules
// (testdata/upstream) on a pod creation event, alerts included.
func BenchmarkUpstreamRules(b *testing.B) {
	data, err := os.ReadFile("testdata/upstream/k8s_audit_rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	art := compile(b, string(data))
	ev := loadEvent(b, "pod_create")
	var sink countSink
	p, err := NewPipeline(art, engine.SourceOptions{Sink: &sink, MinPriority: output.PriorityDebug}, EnvOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Process(ev)
	}
	if sink.n == 0 {
		b.Fatal("no alerts")
	}
}
