package rules_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
)

// FuzzLoad loads arbitrary bytes as a rules file: it must never panic, and
// it returns either a ruleset and no errors, or no ruleset and errors.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("- list: l\n  items: [a, l]\n- macro: m\n  condition: proc.name in (l) and m\n"))
	f.Add([]byte("- rule: r\n  exceptions: [{name: e, fields: x, values: [[a]]}]\n  override: {exceptions: append}\n"))
	f.Add([]byte("- &a {rule: x}\n- *a\n"))
	f.Add([]byte("---\n- required_engine_version: 12\n...\n---\nfoo\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, ds := rules.Load([]rules.Source{{Name: "fuzz.yaml", Data: data}}, nil)
		if (rs == nil) != diag.HasErrors(ds) {
			t.Fatalf("ruleset %v, errors %v", rs != nil, diag.HasErrors(ds))
		}
		for _, d := range ds {
			if d.Code == "" || d.Message == "" || d.File != "fuzz.yaml" {
				t.Fatalf("incomplete diagnostic %+v", d)
			}
			if strings.Contains(d.Message, "internal error") {
				t.Fatalf("loader panicked: %s", d.Message)
			}
		}
	})
}

// BenchmarkLoad loads a generated file of 1,000 rules using lists, macros
// and exceptions.
func BenchmarkLoad(b *testing.B) {
	const n = 1000
	var sb strings.Builder
	sb.WriteString("- list: shells\n  items: [bash, sh, zsh, dash]\n")
	sb.WriteString("- macro: spawned\n  condition: evt.type in (execve, execveat)\n")
	sb.WriteString("- macro: opened\n  condition: evt.type in (open, openat, openat2)\n")
	for i := range n {
		fmt.Fprintf(&sb, "- rule: rule %d\n  desc: generated rule %d\n", i, i)
		if i%2 == 0 {
			fmt.Fprintf(&sb, "  condition: spawned and proc.name in (shells) and not proc.name = p%d\n", i)
		} else {
			fmt.Fprintf(&sb, "  condition: >\n    opened and fd.name startswith /etc/d%d\n    and not proc.name in (shells, vi)\n", i)
		}
		fmt.Fprintf(&sb, "  output: \"rule %d %%proc.name %%fd.name\"\n  priority: WARNING\n  tags: [t%d, bench]\n", i, i%10)
		if i%5 == 0 {
			fmt.Fprintf(&sb, "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values:\n        - [a%d, /tmp]\n", i)
		}
	}
	src := []rules.Source{{Name: "bench.yaml", Data: []byte(sb.String())}}
	b.ReportAllocs()
	b.SetBytes(int64(len(src[0].Data)))
	var rs *rules.Ruleset
	var ds []diag.Diagnostic
	for b.Loop() {
		rs, ds = rules.Load(src, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/rule")
	if rs == nil || len(rs.Rules) != n {
		b.Fatalf("load failed: %v", ds)
	}
}
