package scap

import (
	"bytes"
	"io"
	"testing"

	"github.com/falcoc/falcoc/runtime/event"
)

// BenchmarkReadDecode reads and decodes the test captures (decompressed):
// blocks, parameters, enter merging and flag translation, without the
// state.
func BenchmarkReadDecode(b *testing.B) {
	var data [][]byte
	total := 0
	for _, s := range fullCaptures(b) {
		data = append(data, s)
		total += len(s)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	events := 0
	var raw RawEvent
	var ev event.Event
	for b.Loop() {
		for _, d := range data {
			r, err := NewReader(bytes.NewReader(d))
			if err != nil {
				b.Fatal(err)
			}
			dec := NewDecoder()
			for {
				err := r.Next(&raw)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if dec.Decode(&raw, &ev) {
					events++
				}
			}
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
