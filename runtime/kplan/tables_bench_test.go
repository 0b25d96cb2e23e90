package kplan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/internal/testutil"
	rulefiles "github.com/falcoc/falcoc/rules"
)

// abOps are the A/B benchmarks' operations: getppid (gated out) and
// openat+close of a plain file in the benchmark's temporary directory
// (judged by the dimensions and dropped).
func abOps(b *testing.B) []struct {
	name string
	op   func()
} {
	path := filepath.Join(b.TempDir(), "plain")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		b.Fatal(err)
	}
	openClose := func() {
		fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
	return []struct {
		name string
		op   func()
	}{
		{"getppid", func() { unix.Getppid() }},
		{"openat-close", openClose},
	}
}

func planTables(tb testing.TB, generated int) *plan.Tables {
	tb.Helper()
	def, err := rulefiles.FS.ReadFile(rulefiles.DefaultFile)
	if err != nil {
		tb.Fatal(err)
	}
	src := []rules.Source{{Name: rulefiles.DefaultFile, Data: def}}
	if generated > 0 {
		src = append(src, rules.Source{Name: "gen.yaml", Data: rulegen.Generate(generated, 1)})
	}
	rs, ds := rules.Load(src, nil)
	if rs == nil {
		tb.Fatalf("load: %v", ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &p.Tables
}

// BenchmarkTablesAB measures the kernel's per-syscall cost (full
// prefilter mode) with the default rules' tables and with those of the
// default rules plus 2,000 generated ones (issue 10: the cost must not
// grow with the rule set), in one loaded capture: blocks of each are
// interleaved, the tables swapped between blocks. getppid is gated out;
// openat+close of a file under the test's temporary directory is judged
// by the dimensions and dropped by both. The order of the two alternates
// from round to round. The capture has the generated rules' mask width
// (wider than the default rules'), so both run the same program: what a
// wider mask costs is BenchmarkWidthAB's.
func BenchmarkTablesAB(b *testing.B) {
	testutil.RequireRoot(b)
	testutil.RequireBTF(b)
	def, gen := planTables(b, 0), planTables(b, 2000)
	for _, tc := range abOps(b) {
		b.Run(tc.name, func(b *testing.B) {
			c, err := bpf.Load(&bpf.Options{NoSchedEvents: true, Mode: bpf.ModeFull, Capacity: bpf.CapacityFor(gen), MaskWords: gen.MaskWords()})
			if err != nil {
				b.Fatalf("Load: %+v", err)
			}
			defer c.Close()
			go func() { // keep the ring buffer drained
				var r bpf.Record
				for !errors.Is(c.ReadInto(&r), bpf.ErrClosed) {
				}
			}()
			const block = 5000
			var tDef, tGen time.Duration
			rounds := 0
			for b.Loop() {
				order := []int{0, 1}
				if rounds%2 == 1 {
					order = []int{1, 0} // neither always runs first
				}
				for _, i := range order {
					if err := c.SetTables([]*plan.Tables{def, gen}[i]); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					for range block {
						tc.op()
					}
					if i == 0 {
						tDef += time.Since(start)
					} else {
						tGen += time.Since(start)
					}
				}
				rounds++
			}
			n := float64(rounds * block)
			b.ReportMetric(float64(tDef.Nanoseconds())/n, "ns/op-default")
			b.ReportMetric(float64(tGen.Nanoseconds())/n, "ns/op-2000gen")
			b.ReportMetric(float64(tGen)/float64(tDef), "gen/default")
		})
	}
}

// BenchmarkWidthAB measures what the mask width costs the kernel: the
// default rules' tables in a capture of their width (256 bits) against
// the default rules plus 2,000 generated ones in a capture of theirs,
// each capture loaded in turn (blocks of 200,000 operations, the order
// alternating). getppid is gated out; openat+close of a plain file is
// judged by the dimensions and dropped by both.
func BenchmarkWidthAB(b *testing.B) {
	testutil.RequireRoot(b)
	testutil.RequireBTF(b)
	def, gen := planTables(b, 0), planTables(b, 2000)
	run := func(b *testing.B, t *plan.Tables, op func(), n int) time.Duration {
		c, err := bpf.Load(&bpf.Options{NoSchedEvents: true, Mode: bpf.ModeFull, Capacity: bpf.CapacityFor(t), MaskWords: t.MaskWords()})
		if err != nil {
			b.Fatalf("Load: %+v", err)
		}
		done := make(chan struct{})
		go func() { // keep the ring buffer drained
			defer close(done)
			var r bpf.Record
			for !errors.Is(c.ReadInto(&r), bpf.ErrClosed) {
			}
		}()
		defer func() { c.Close(); <-done }()
		if err := c.SetTables(t); err != nil {
			b.Fatal(err)
		}
		for range 1000 { // warm up
			op()
		}
		start := time.Now()
		for range n {
			op()
		}
		return time.Since(start)
	}
	for _, tc := range abOps(b) {
		b.Run(tc.name, func(b *testing.B) {
			const block = 200000
			var tDef, tGen time.Duration
			rounds := 0
			for b.Loop() {
				if rounds%2 == 0 {
					tDef += run(b, def, tc.op, block)
					tGen += run(b, gen, tc.op, block)
				} else {
					tGen += run(b, gen, tc.op, block)
					tDef += run(b, def, tc.op, block)
				}
				rounds++
			}
			n := float64(rounds * block)
			b.ReportMetric(float64(64*gen.MaskWords()), "bits-2000gen")
			b.ReportMetric(float64(tDef.Nanoseconds())/n, "ns/op-default")
			b.ReportMetric(float64(tGen.Nanoseconds())/n, "ns/op-2000gen")
			b.ReportMetric(float64(tGen)/float64(tDef), "gen/default")
		})
	}
}
