package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// BenchmarkGetppid measures an uninteresting syscall with and without the
// capture attached: the gate misses, so "attached" minus "detached" is the
// cost of the hook and one array lookup.
func BenchmarkGetppid(b *testing.B) {
	b.Run("detached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			unix.Getppid()
		}
	})
	b.Run("attached", func(b *testing.B) {
		c := load(b, &Options{NoSchedEvents: true})
		setTables(b, c, &Tables{Gate: map[int]Mask{sysOpenat: MaskOf(0)}}, ModeFull)
		b.ReportAllocs()
		for b.Loop() {
			unix.Getppid()
		}
	})
}

// BenchmarkOpenatClose measures openat+close of an ordinary file: without
// the capture, with the full prefilter dropping it (path not listed), and
// with the gate only (evttype), where every openat is sent and read.
func BenchmarkOpenatClose(b *testing.B) {
	path := filepath.Join(b.TempDir(), "plain")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		b.Fatal(err)
	}
	tables := &Tables{
		Gate:           map[int]Mask{sysOpenat: MaskOf(0)},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimComm},
		PathExact:      map[string]Mask{"/etc/shadow": MaskOf(0)},
		CommDefault:    MaskOf(0),
	}
	loop := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			unix.Close(fd)
		}
	}
	b.Run("detached", loop)
	b.Run("full-dropped", func(b *testing.B) {
		c := load(b, &Options{NoSchedEvents: true})
		setTables(b, c, tables, ModeFull)
		loop(b)
		cnt, err := c.Counters()
		if err != nil {
			b.Fatal(err)
		}
		if o := cnt.ByKind[sysOpenat]; o.PrefilterDrop < uint64(b.N) {
			b.Errorf("prefilter dropped %d openat, want at least %d", o.PrefilterDrop, b.N)
		}
	})
	b.Run("evttype-sent", func(b *testing.B) {
		c := load(b, &Options{NoSchedEvents: true})
		setTables(b, c, tables, ModeEvttype)
		done := make(chan int)
		go func() {
			n := 0
			var r Record
			for {
				if err := c.ReadInto(&r); errors.Is(err, ErrClosed) {
					done <- n
					return
				}
				n++
			}
		}()
		loop(b)
		cnt, err := c.Counters()
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		read := <-done
		b.ReportMetric(float64(read)/float64(b.N), "records/op")
		if o := cnt.ByKind[sysOpenat]; o.Sent < uint64(b.N)/2 {
			b.Errorf("sent %d openat records, want about %d", o.Sent, b.N)
		}
	})
}

// BenchmarkDecode measures decoding one record (no kernel involved).
func BenchmarkDecode(b *testing.B) {
	raw := sampleRecord()
	var r Record
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		r.raw.RawSample = raw
		if err := r.decode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAB interleaves blocks of syscalls with the sys_exit program
// detached and attached, so that machine noise hits both sides alike, and
// reports ns per syscall for each side and their difference. One op is one
// round of both blocks.
func BenchmarkAB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "plain")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		b.Fatal(err)
	}
	pathp, err := unix.BytePtrFromString(path)
	if err != nil {
		b.Fatal(err)
	}
	atFdcwd := ^uintptr(99) // AT_FDCWD (-100) as a register value
	openClose := func() {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFdcwd, uintptr(unsafe.Pointer(pathp)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if errno != 0 {
			b.Fatal(errno)
		}
		unix.Close(int(fd))
	}
	dropTables := &Tables{
		Gate:           map[int]Mask{sysOpenat: MaskOf(0)},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath},
		PathExact:      map[string]Mask{"/etc/shadow": MaskOf(0)},
	}
	for _, tc := range []struct {
		name   string
		tables *Tables
		mode   Mode
		op     func()
		batch  time.Duration // Options.BatchDelay
	}{
		{"getppid/gate-miss", &Tables{Gate: map[int]Mask{sysOpenat: MaskOf(0)}}, ModeFull, func() { unix.Getppid() }, 0},
		{"getppid/sent", &Tables{Gate: map[int]Mask{sysGetppid: MaskOf(0)}}, ModeEvttype, func() { unix.Getppid() }, 0},
		{"getppid/sent-batch1ms", &Tables{Gate: map[int]Mask{sysGetppid: MaskOf(0)}}, ModeEvttype, func() { unix.Getppid() }, time.Millisecond},
		{"openat-close/dropped", dropTables, ModeFull, openClose, 0},
		{"openat-close/evttype-sent", dropTables, ModeEvttype, openClose, 0},
		{"openat-close/evttype-sent-batch1ms", dropTables, ModeEvttype, openClose, time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := load(b, &Options{NoSchedEvents: true, BatchDelay: tc.batch})
			setTables(b, c, tc.tables, tc.mode)
			go func() { // keep the ring buffer drained
				var r Record
				for !errors.Is(c.ReadInto(&r), ErrClosed) {
				}
			}()
			sysExit := c.links[0]
			if err := sysExit.Close(); err != nil {
				b.Fatal(err)
			}
			const block = 2000
			var off, on time.Duration
			rounds := 0
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				for range block {
					tc.op()
				}
				off += time.Since(start)
				l, err := link.AttachTracing(link.TracingOptions{Program: c.objs.OnSysExit, AttachType: ebpf.AttachTraceRawTp})
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				for range block {
					tc.op()
				}
				on += time.Since(start)
				l.Close()
				rounds++
			}
			c.links[0] = noLink{}
			n := float64(rounds * block)
			b.ReportMetric(float64(off.Nanoseconds())/n, "ns/detached")
			b.ReportMetric(float64(on.Nanoseconds())/n, "ns/attached")
			b.ReportMetric(float64((on-off).Nanoseconds())/n, "ns/overhead")
		})
	}
}

// noLink stands in for a link the benchmark already closed.
type noLink struct{ link.Link }

func (noLink) Close() error { return nil }
