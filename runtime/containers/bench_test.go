package containers

import (
	"testing"
	"time"
)

// BenchmarkContainerHit is the event path: a cached container.
func BenchmarkContainerHit(b *testing.B) {
	l := New(&Options{Backends: []Backend{&fakeBackend{name: "fake", fetch: known("abc")}}})
	defer l.Close()
	if _, ok := l.Wait("abc", 10*time.Second); !ok {
		b.Fatal("not cached")
	}
	b.ReportAllocs()
	var ok bool
	for b.Loop() {
		_, ok = l.Container("abc")
	}
	if !ok {
		b.Fatal("miss")
	}
}
