package compiler_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
)

// BenchmarkCompileScale compiles rulegen.Generate(n, 1) (n rules with
// distinct process names, paths, uids and ports) as falcoc compile does,
// and reports the artifact's size and the bytes of the kernel table
// entries besides time and memory: the figures of the README's scale
// table (issue 10).
//
// The distinct cases use rulegen.GenerateDistinct: every rule names its
// own values, so the tables grow with n (up to the kernel's capacities).
func BenchmarkCompileScale(b *testing.B) {
	type scale struct {
		name string
		gen  func(int, int64) []byte
		n    int
	}
	var cases []scale
	for _, n := range []int{1000, 2000, 10000} {
		cases = append(cases, scale{"rules", rulegen.Generate, n})
	}
	for _, n := range []int{1000, 10000} {
		cases = append(cases, scale{"distinct", rulegen.GenerateDistinct, n})
	}
	for _, sc := range cases {
		n := sc.n
		b.Run(fmt.Sprintf("%s=%d", sc.name, n), func(b *testing.B) {
			src := []rules.Source{{Name: "gen.yaml", Data: sc.gen(n, 1)}}
			b.ReportAllocs()
			var a *artifact.Artifact
			for b.Loop() {
				var ds any
				if a, ds = compiler.Compile(src, nil); a == nil {
					b.Fatalf("compile: %v", ds)
				}
			}
			var buf bytes.Buffer
			if err := artifact.Write(&buf, a); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(buf.Len()), "artifact-bytes")
			b.ReportMetric(float64(plan.KernelTableBytes(&a.Plan.Tables)), "kernel-table-bytes")
			b.ReportMetric(float64(len(a.Plan.Clauses)), "clauses")
		})
	}
}

// BenchmarkReadScale decodes and validates the artifact of n generated
// rules, the first step of falco-run -r rules.fbc.
func BenchmarkReadScale(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			a, ds := compiler.Compile([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(n, 1)}}, nil)
			if a == nil {
				b.Fatalf("compile: %v", ds)
			}
			var buf bytes.Buffer
			if err := artifact.Write(&buf, a); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if _, err := artifact.Read(buf.Bytes()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
