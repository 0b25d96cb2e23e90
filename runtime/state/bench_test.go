package state

import (
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
