package state

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func BenchmarkLookupCmdlineAncestor(b *testing.B) {
	tb := newTestTable(nil)
	tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
	prev := int64(1)
	for i := int64(2); i < 10; i++ {
		tb.Fork(uint64(i), prev, i*100, i*100, 0)
		tb.Exec(uint64(i), i*100, "/bin/sh", []string{"sh", "-c", "echo hi"}, nil, ExecInfo{})
		prev = i * 100
	}
	for i := int64(0); i < 10000; i++ {
		tb.Fork(uint64(i), prev, 10000+i, 10000+i, 0)
	}
	tb.Get(prev).Cmdline() // fill the cache once
	b.ReportAllocs()
	var n int
	for b.Loop() {
		th := tb.Lookup(prev)
		n += len(th.Cmdline())
		if a := th.Ancestor(3); a != nil {
			n += len(a.Comm()) + len(a.Cmdline())
		}
		if p := th.Parent(); p != nil {
			n += len(p.Proc().ArgsString())
		}
	}
	if n == 0 {
		b.Fatal("nothing read")
	}
}

func BenchmarkOpenClose(b *testing.B) {
	tb := newTestTable(nil)
	tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
	tb.Chdir(1, "/var/lib")
	b.ReportAllocs()
	for b.Loop() {
		tb.Open(1, 3, "data/file.db", 0, 0, AtFDCWD)
		tb.Close(1, 3)
	}
}

func BenchmarkForkExecExit(b *testing.B) {
	tb := newTestTable(nil)
	tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
	argv := []string{"ls", "-l"}
	b.ReportAllocs()
	tid := int64(100)
	for b.Loop() {
		tb.Fork(1, 1, tid, tid, 0)
		tb.Exec(2, tid, "/bin/ls", argv, nil, ExecInfo{})
		tb.Exit(3, tid)
		tid++
	}
}

// BenchmarkSeed reads the real /proc; ns/process is the seeding cost per
// process.
func BenchmarkSeed(b *testing.B) {
	b.ReportAllocs()
	procs := 0
	for b.Loop() {
		tb := NewTable(nil)
		st, err := tb.Seed()
		if err != nil {
			b.Fatal(err)
		}
		procs += st.Processes
	}
	if procs == 0 {
		b.Fatal("no process seeded")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(procs), "ns/process")
}

// BenchmarkFullTable measures the memory bound of the process table: a
// fork storm whose exits were all lost fills it to MaxThreads with
// processes that each exec'd with their own arguments and a 1 KiB
// environment, then keeps going, so that every insert evicts. It reports
// the heap per thread and the heap of the full table (MiB at the bound),
// and checks that the evictions kept the table at its bound.
func BenchmarkFullTable(b *testing.B) {
	const bound = 1 << 15
	env := make([]string, 20)
	for i := range env {
		env[i] = fmt.Sprintf("VAR%02d=%s", i, strings.Repeat("x", 45))
	}
	var perThread, full float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tb := newTestTable(&Options{MaxThreads: bound})
		tb.Exec(1, 1, "/sbin/init", []string{"init"}, nil, ExecInfo{})
		for i := int64(0); i < 2*bound; i++ {
			tid := 1000 + i
			tb.Fork(uint64(i), 1, tid, tid, 0)
			// Each exec record brings its own strings, as decoded events do.
			penv := make([]string, len(env))
			for j, e := range env {
				penv[j] = strings.Clone(e)
			}
			tb.Exec(uint64(i), tid, strings.Clone("/usr/bin/worker"), []string{"worker", "--id", strconv.FormatInt(i, 10)}, penv, ExecInfo{})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := tb.Stats()
		if st.Threads > bound || st.Evicted < bound-1 {
			b.Fatalf("threads %d evicted %d, want at most %d threads and about %d evictions", st.Threads, st.Evicted, bound, bound)
		}
		perThread = float64(after.HeapAlloc-before.HeapAlloc) / float64(st.Threads)
		full = perThread * DefaultMaxThreads / (1 << 20)
		runtime.KeepAlive(tb)
	}
	b.ReportMetric(perThread, "B/thread")
	b.ReportMetric(full, "MiB-at-default-bound")
}
