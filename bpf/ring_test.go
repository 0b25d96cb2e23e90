package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/google/go-cmp/cmp"
)

// fakeRing is a ring buffer in ordinary memory, laid out as the kernel
// lays one out (data pages twice in a row), with a producer for tests.
type fakeRing struct {
	consPos, prodPos uintptr
	inflight         uint64 // records the fake CPU is writing
	data             []byte
	size             int
}

func newFakeRing(size int) *fakeRing {
	return &fakeRing{data: make([]byte, 2*size), size: size}
}

// ring is the reader's view of f.
func (f *fakeRing) ring() ring {
	return ring{fd: -1, data: f.data, consPos: &f.consPos, prodPos: &f.prodPos, inflight: &f.inflight, mask: uintptr(f.size - 1)}
}

// write copies b at ring position pos, into both mappings.
func (f *fakeRing) write(pos uintptr, b []byte) {
	for i, c := range b {
		o := (int(pos) + i) % f.size
		f.data[o] = c
		f.data[o+f.size] = c
	}
}

// put appends a record with the given kernel header flags and returns its
// position.
func (f *fakeRing) put(rec []byte, flags uint32) uintptr {
	pos := f.prodPos // only put writes it
	used := pos - atomic.LoadUintptr(&f.consPos)
	n := ringHdrSize + (len(rec)+7)&^7
	if int(used)+n > f.size {
		panic(fmt.Sprintf("fake ring full: %d bytes used, %d more", used, n))
	}
	var hdr [ringHdrSize]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(rec))|flags)
	f.write(pos, hdr[:])
	f.write(pos+ringHdrSize, rec)
	atomic.StoreUintptr(&f.prodPos, pos+uintptr(n))
	return pos
}

// commit clears the busy bit of the record at pos.
func (f *fakeRing) commit(pos uintptr) {
	o := int(pos) % f.size
	w := binary.LittleEndian.Uint32(f.data[o:]) &^ ringBusyBit
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], w)
	f.write(pos, hdr[:])
}

// stamped is a record with the given timestamp (and tid, to tell records
// apart).
func stamped(ts uint64, tid uint32) []byte {
	return buildRecord(captureFalcocHdr{TsBootNs: ts, Tid: tid})
}

func newTestMerger(t *testing.T, window time.Duration, rings ...*fakeRing) *merger {
	t.Helper()
	rs := make([]ring, len(rings))
	for i, f := range rings {
		rs[i] = f.ring()
	}
	m, err := newMerger(rs, window)
	if err != nil {
		t.Fatalf("newMerger: %v", err)
	}
	t.Cleanup(func() {
		if err := m.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// readAll reads until the deadline passes, returning the tids read.
func readAll(t *testing.T, m *merger, d time.Duration) []uint32 {
	t.Helper()
	m.setDeadline(time.Now().Add(d))
	var got []uint32
	var rec ringbuf.Record
	for {
		err := m.read(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(rec.RawSample) < hdrSize {
			got = append(got, 0)
			continue
		}
		got = append(got, binary.LittleEndian.Uint32(rec.RawSample[offTid:]))
	}
}

func TestMergeOrder(t *testing.T) {
	const long = time.Hour
	type rec struct {
		ts    uint64
		tid   uint32
		flags uint32
		short bool // a 4-byte record (no header)
	}
	type cpu struct {
		recs     []rec
		inflight uint64
	}
	for _, tc := range []struct {
		name   string
		window time.Duration
		cpus   []cpu
		want   []uint32
	}{{
		name:   "oldest head first, each ring in commit order",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}, {ts: 30, tid: 2}, {ts: 20, tid: 3}}},
			{recs: []rec{{ts: 15, tid: 4}, {ts: 25, tid: 5}, {ts: 40, tid: 6}}},
		},
		want: []uint32{1, 4, 5, 2, 3, 6},
	}, {
		name:   "an empty ring whose CPU writes nothing holds nothing back",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}, {ts: 20, tid: 2}}},
			{},
		},
		want: []uint32{1, 2},
	}, {
		name:   "an empty ring whose CPU writes a record holds the heads back",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}}},
			{inflight: 1},
		},
		want: nil,
	}, {
		name:   "a CPU writing a record does not hold back its own ring",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}}, inflight: 1},
			{recs: []rec{{ts: 20, tid: 2}}},
		},
		want: []uint32{1}, // then ring 1's head waits for CPU 0
	}, {
		name:   "a record being committed holds the heads back",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 5, tid: 1, flags: ringBusyBit}}, inflight: 1},
			{recs: []rec{{ts: 10, tid: 2}}},
		},
		want: nil,
	}, {
		name:   "the window bounds the wait",
		window: time.Millisecond,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}, {ts: 20, tid: 2}}},
			{inflight: 1},
		},
		want: []uint32{1, 2},
	}, {
		name:   "no window",
		window: 0,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}, {ts: 20, tid: 2}}},
			{inflight: 1},
		},
		want: []uint32{1, 2},
	}, {
		name:   "discarded records are skipped",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1, flags: ringDiscardBit}, {ts: 11, tid: 2}}},
			{recs: []rec{{ts: 12, tid: 3, flags: ringDiscardBit}}},
		},
		want: []uint32{2},
	}, {
		name:   "a record too short for a header goes first",
		window: long,
		cpus: []cpu{
			{recs: []rec{{ts: 10, tid: 1}}},
			{recs: []rec{{short: true}}},
		},
		want: []uint32{0, 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var rings []*fakeRing
			for _, c := range tc.cpus {
				f := newFakeRing(4096)
				for _, r := range c.recs {
					b := stamped(r.ts, r.tid)
					if r.short {
						b = []byte{1, 2, 3, 4}
					}
					f.put(b, r.flags)
				}
				f.inflight = c.inflight
				rings = append(rings, f)
			}
			m := newTestMerger(t, tc.window, rings...)
			got := readAll(t, m, 20*time.Millisecond)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeLateRecords follows one merge as records arrive: a record that
// another CPU was writing goes before the younger head that waited for it.
func TestMergeLateRecords(t *testing.T) {
	a, b := newFakeRing(4096), newFakeRing(4096)
	m := newTestMerger(t, time.Hour, a, b)
	a.put(stamped(20, 1), 0)
	b.inflight = 1
	if diff := cmp.Diff([]uint32(nil), readAll(t, m, 10*time.Millisecond)); diff != "" {
		t.Errorf("records while CPU 1 writes (-want +got):\n%s", diff)
	}
	pos := b.put(stamped(10, 2), ringBusyBit)
	if diff := cmp.Diff([]uint32(nil), readAll(t, m, 10*time.Millisecond)); diff != "" {
		t.Errorf("records while CPU 1 commits (-want +got):\n%s", diff)
	}
	b.commit(pos)
	b.inflight = 0
	b.put(stamped(30, 3), 0)
	if diff := cmp.Diff([]uint32{2, 1, 3}, readAll(t, m, 10*time.Millisecond)); diff != "" {
		t.Errorf("records after the commit (-want +got):\n%s", diff)
	}
	// Space read goes back to the producer.
	if a.consPos != a.prodPos || b.consPos != b.prodPos {
		t.Errorf("consumer positions %d, %d; want %d, %d", a.consPos, b.consPos, a.prodPos, b.prodPos)
	}
}

// TestMergeWrap reads records that straddle the end of the data pages.
func TestMergeWrap(t *testing.T) {
	f := newFakeRing(4096)
	m := newTestMerger(t, 0, f)
	var want, got []uint32
	for i := range uint32(100) {
		f.put(stamped(uint64(i+1), i+1), 0)
		want = append(want, i+1)
		got = append(got, readAll(t, m, 0)...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestMergeBadLength reads past a record whose length runs beyond what
// was produced: the reader takes what is there and goes on.
func TestMergeBadLength(t *testing.T) {
	f := newFakeRing(4096)
	m := newTestMerger(t, 0, f)
	pos := f.put(stamped(10, 1), 0)
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], 3000)
	f.write(pos, hdr[:])
	var got []uint32
	got = append(got, readAll(t, m, 0)...)
	f.put(stamped(20, 2), 0)
	got = append(got, readAll(t, m, 0)...)
	if diff := cmp.Diff([]uint32{0, 2}, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestMergeWakeups checks that Close and a new deadline end a blocked read.
func TestMergeWakeups(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(*merger)
		want error
	}{
		{"close", func(m *merger) { m.close() }, ErrClosed},
		{"deadline", func(m *merger) { m.setDeadline(time.Now()) }, os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMerger(t, time.Millisecond, newFakeRing(4096), newFakeRing(4096))
			done := make(chan error)
			go func() {
				var rec ringbuf.Record
				done <- m.read(&rec)
			}()
			time.Sleep(10 * time.Millisecond) // let the read block (it returns the same either way)
			tc.do(m)
			if err := <-done; !errors.Is(err, tc.want) {
				t.Errorf("read = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestMergeBatch checks that with a batch delay, a record committed into
// another ring shortly after the one that ended the idle wait is merged
// with it (older first), not read after it.
func TestMergeBatch(t *testing.T) {
	a, b := newFakeRing(4096), newFakeRing(4096)
	m := newTestMerger(t, 0, a, b)
	m.batch = 300 * time.Millisecond
	m.setDeadline(time.Now().Add(5 * time.Second)) // fake rings wake no one
	got := make(chan []uint32)
	go func() {
		var tids []uint32
		var rec ringbuf.Record
		for range 2 {
			if err := m.read(&rec); err != nil {
				t.Errorf("read: %v", err)
				break
			}
			tids = append(tids, binary.LittleEndian.Uint32(rec.RawSample[offTid:]))
		}
		got <- tids
	}()
	time.Sleep(20 * time.Millisecond) // the read waits on empty rings
	a.put(stamped(20, 1), 0)
	m.wake()                          // stands for the kernel's wakeup
	time.Sleep(20 * time.Millisecond) // well inside the batch delay
	b.put(stamped(10, 2), 0)
	if diff := cmp.Diff([]uint32{2, 1}, <-got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestMergeAfterClose checks that a closed merger reads nothing and that
// setting a deadline then writes to no descriptor.
func TestMergeAfterClose(t *testing.T) {
	f := newFakeRing(4096)
	m := newTestMerger(t, 0, f)
	f.put(stamped(10, 1), 0)
	if err := m.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	m.setDeadline(time.Now())
	var rec ringbuf.Record
	if err := m.read(&rec); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close = %v, want %v", err, ErrClosed)
	}
	if m.evfd != -1 || m.rings != nil {
		t.Errorf("after close: eventfd %d, %d rings; want -1 and none", m.evfd, len(m.rings))
	}
}

func TestMergeAllocs(t *testing.T) {
	a, b := newFakeRing(1<<16), newFakeRing(1<<16)
	m := newTestMerger(t, time.Millisecond, a, b)
	var rec ringbuf.Record
	ts := uint64(1)
	allocs := testing.AllocsPerRun(1000, func() {
		a.put(stamped(ts, 1)[:hdrSize], 0)
		b.put(stamped(ts+1, 2)[:hdrSize], 0)
		ts += 2
		for range 2 {
			if err := m.read(&rec); err != nil {
				t.Fatal(err)
			}
		}
	})
	// stamped allocates its record (1 each); the merge must add nothing.
	if allocs > 2 {
		t.Errorf("%v allocations per two records, want 2 (the test's own)", allocs)
	}
}

// BenchmarkMerge measures the merge's cost per record (no kernel): two
// rings of a backlog of records older than the window, so no wait; with
// one ring empty, each record also checks the empty ring.
func BenchmarkMerge(b *testing.B) {
	for _, tc := range []struct {
		name  string
		rings int
	}{{"two-rings", 2}, {"one-ring-empty", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			const size = 1 << 16
			rec := stamped(1, 1)
			per := size / (ringHdrSize + len(rec)) // records per lap
			rings := []*fakeRing{newFakeRing(size), newFakeRing(size)}
			rs := []ring{rings[0].ring(), rings[1].ring()}
			m, err := newMerger(rs, time.Millisecond)
			if err != nil {
				b.Fatal(err)
			}
			defer m.close()
			fill := func() {
				for i := range per {
					for j := range tc.rings {
						binary.LittleEndian.PutUint64(rec[offTs:], uint64(2*i+j+1))
						rings[j].put(rec, 0)
					}
				}
			}
			var out ringbuf.Record
			left := 0
			b.SetBytes(int64(len(rec)))
			b.ReportAllocs()
			for b.Loop() {
				if left == 0 {
					b.StopTimer()
					fill()
					left = per * tc.rings
					b.StartTimer()
				}
				if err := m.read(&out); err != nil {
					b.Fatal(err)
				}
				left--
			}
		})
	}
}
