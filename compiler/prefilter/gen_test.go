package prefilter

import (
	"bytes"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	falcorules "github.com/falcoc/falcoc/rules"
)

func TestGenerateRules(t *testing.T) {
	a, b := rulegen.Generate(200, 1), rulegen.Generate(200, 1)
	if !bytes.Equal(a, b) {
		t.Fatal("rulegen.Generate is not deterministic")
	}
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: a}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	if len(rs.Rules) != 200 {
		t.Fatalf("%d rules, want 200", len(rs.Rules))
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 200 || len(p.Clauses) == 0 || p.MaxBitsPerSyscall() > plan.MaskBits {
		t.Errorf("plan: %d rules, %d clauses", len(p.Rules), len(p.Clauses))
	}
}

func BenchmarkBuild200(b *testing.B) {
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(200, 1)}}, nil)
	if rs == nil {
		b.Fatalf("load: %v", ds)
	}
	b.ReportAllocs()
	var p *plan.Plan
	for b.Loop() {
		var err error
		if p, err = Build(rs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Clauses)), "clauses")
}

func BenchmarkJudge(b *testing.B) {
	p := loadDefault(b)
	v := plan.KernelView{Syscall: 257, Comm: "cat", Path: "/tmp/build/projects/falcoc/internal/notes/file.txt", OpenFlags: 0}
	b.ReportAllocs()
	var m plan.Mask
	for b.Loop() {
		m = plan.Judge(p, v)
	}
	if !m.IsZero() {
		b.Fatal("an ordinary read by cat must be dropped")
	}
}

func BenchmarkJudger(b *testing.B) {
	j := plan.NewJudger(loadDefault(b))
	v := plan.KernelView{Syscall: 257, Comm: "cat", Path: "/tmp/build/projects/falcoc/internal/notes/file.txt", OpenFlags: 0}
	b.ReportAllocs()
	var m plan.Mask
	for b.Loop() {
		m = j.Judge(v)
	}
	if !m.IsZero() {
		b.Fatal("an ordinary read by cat must be dropped")
	}
}

// TestWidenedOncePerReason: a rule widened many times to fit the mask
// gets one line per reason, not one per merge (the per-merge lines made
// the plan grow with rules × merges: 11 MB of text at 1,000 rules).
func TestWidenedOncePerReason(t *testing.T) {
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(8000, 1)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	widened := 0
	for _, r := range p.Rules {
		seen := map[string]bool{}
		for _, w := range r.Widened {
			reason, _, _ := strings.Cut(w, " (")
			if seen[reason] {
				t.Fatalf("rule %q: reason %q listed twice: %q", r.Name, reason, r.Widened)
			}
			seen[reason] = true
			if strings.Contains(w, "to fit the 2048-bit mask") {
				widened++
			}
		}
	}
	if widened == 0 {
		t.Fatal("the generated rules no longer overflow the mask: the test checks nothing, use more rules")
	}
}

// TestFoldKeepsNarrowing: 8,000 generated rules need more clauses than
// the widest mask holds; folding them by kind must leave every clause
// constraining something, and ordinary events that no rule wants must
// still be dropped.
func TestFoldKeepsNarrowing(t *testing.T) {
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(8000, 1)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) == 0 || !strings.Contains(strings.Join(p.Notes, "\n"), "to fit the 2048-bit mask") {
		t.Fatalf("8,000 generated rules fit the mask: the test checks nothing (notes %q)", p.Notes)
	}
	for i, c := range p.Clauses {
		if c.Text == "any" {
			t.Errorf("clause %d (%d rules) constrains nothing", i, len(c.Rules))
		}
	}
	openat, _ := catalog.SyscallID("openat")
	execve, _ := catalog.SyscallID("execve")
	connect, _ := catalog.SyscallID("connect")
	for _, v := range []plan.KernelView{
		{Syscall: openat, Comm: "cat", Path: "/tmp/build/file.txt", OpenFlags: syscall.O_RDONLY},
		{Syscall: openat, Comm: "cat", Path: "/tmp/build/file.txt", OpenFlags: syscall.O_WRONLY | syscall.O_CREAT},
		{Syscall: execve, Comm: "bash", Path: "/usr/bin/ls"},
		{Syscall: connect, Comm: "curl", SockFamily: 2, SockPort: 1},
	} {
		if m := plan.Judge(p, v); !m.IsZero() {
			t.Errorf("%+v: kept clauses %v, want none", v, m.Bits())
		}
	}
}

// TestFoldKeepsDefaultNarrow: with the default rules beside 8,000
// generated ones (more clauses than the widest mask holds), the default rules' narrow clauses must not be folded
// with the generated ones into clauses that pass ordinary reads of /etc
// (issue 10: the mixed workload's reads of ld.so.cache and passwd
// reached userspace when "Read sensitive file untrusted" was folded with
// the writes below /etc), while the events the default rules want still
// pass.
func TestFoldKeepsDefaultNarrow(t *testing.T) {
	def, err := falcorules.FS.ReadFile(falcorules.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	rs, ds := rules.Load([]rules.Source{{Name: falcorules.DefaultFile, Data: def}, {Name: "gen.yaml", Data: rulegen.Generate(8000, 1)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxBitsPerSyscall() < plan.MaskBitsMax || !strings.Contains(strings.Join(p.Notes, "\n"), "folded") {
		t.Fatalf("the rules fit without folding: the test checks nothing (notes %q)", p.Notes)
	}
	openat, _ := catalog.SyscallID("openat")
	for _, path := range []string{"/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/usr/lib/x86_64-linux-gnu/libc.so.6"} {
		v := plan.KernelView{Syscall: openat, Comm: "cat", Path: path, OpenFlags: syscall.O_RDONLY}
		if m := plan.Judge(p, v); !m.IsZero() {
			t.Errorf("read of %s by cat: kept rules %q, want none", path, ruleNames(p, openat, m))
		}
	}
	for _, tc := range []struct {
		v    plan.KernelView
		rule string
	}{
		{plan.KernelView{Syscall: openat, Comm: "cat", Path: "/etc/shadow", OpenFlags: syscall.O_RDONLY}, "Read sensitive file untrusted"},
		{plan.KernelView{Syscall: openat, Comm: "vi", Path: "/etc/hosts", OpenFlags: syscall.O_WRONLY}, "Write below etc"},
	} {
		if got := ruleNames(p, openat, plan.Judge(p, tc.v)); !slices.Contains(got, tc.rule) {
			t.Errorf("%s by %s: kept %q, want %q among them", tc.v.Path, tc.v.Comm, got, tc.rule)
		}
	}
}
