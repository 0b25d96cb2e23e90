package compiler_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/selection"
	"github.com/falcoc/falcoc/internal/rulegen"
	falcorules "github.com/falcoc/falcoc/rules"
)

const twoRules = `
- rule: Write below etc
  desc: d
  condition: evt.type = openat and fd.name startswith /etc/
  output: "%proc.name wrote %fd.name"
  priority: WARNING
  tags: [filesystem]
- rule: Shell
  desc: d
  condition: evt.type = execve and proc.name in (bash, sh)
  output: shell
  priority: NOTICE
`

func TestCompile(t *testing.T) {
	src := []rules.Source{{Name: "r.yaml", Data: []byte(twoRules)}}
	a, ds := compiler.Compile(src, nil)
	if a == nil || ds.HasErrors() {
		t.Fatalf("compile: %v", ds)
	}
	if len(a.Rules) != 2 || a.Plan == nil || len(a.Plan.Rules) != 2 {
		t.Fatalf("%d rules, plan %v", len(a.Rules), a.Plan)
	}
	// What Compile returns is what a .fbc holds: writing it again gives
	// the same bytes, and compiling again gives the same artifact.
	var b1, b2 bytes.Buffer
	if err := artifact.Write(&b1, a); err != nil {
		t.Fatal(err)
	}
	var encoded []byte
	a2, _ := compiler.Compile(src, &compiler.Options{Encoded: &encoded})
	if err := artifact.Write(&b2, a2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two compiles of the same rules differ")
	}
	if !bytes.Equal(encoded, b2.Bytes()) {
		t.Errorf("Options.Encoded has %d bytes, not the artifact's encoding (%d bytes)", len(encoded), b2.Len())
	}
	back, err := artifact.Read(b1.Bytes())
	if err != nil || back.Plan == nil || back.Plan.Describe(&bytes.Buffer{}, nil) != nil {
		t.Errorf("read back: %v", err)
	}
}

func TestCompileSelection(t *testing.T) {
	src := []rules.Source{{Name: "r.yaml", Data: []byte(twoRules)}}
	a, ds := compiler.Compile(src, &compiler.Options{Selection: &selection.Selection{DisabledRules: []string{"Write below*"}}})
	if a == nil {
		t.Fatalf("compile: %v", ds)
	}
	if a.Rules[0].Enabled || !a.Rules[1].Enabled {
		t.Errorf("enabled: %v %v, want false true", a.Rules[0].Enabled, a.Rules[1].Enabled)
	}
	// The plan covers the enabled syscall rules only.
	if len(a.Plan.Rules) != 1 || a.Plan.Rules[0].Name != "Shell" {
		t.Errorf("plan rules %+v", a.Plan.Rules)
	}
}

func TestCompileErrors(t *testing.T) {
	a, ds := compiler.Compile([]rules.Source{{Name: "bad.yaml", Data: []byte("- rule: x\n  desc: x\n  condition: nosuch.field = 1\n  output: x\n  priority: INFO\n")}}, nil)
	if a != nil || !ds.HasErrors() || ds.Err() == nil || !strings.Contains(ds.Err().Error(), "bad.yaml:3:") {
		t.Errorf("Compile = %v, %v; want no artifact and a positioned error", a, ds)
	}
}

// TestCompileOneCPU checks that the parallel stages of Compile (the
// loader's parse workers, the planner beside code generation) give the
// artifact and diagnostics of a run on one CPU, on the project's default
// rules followed by generated ones. Run with -race it also checks that the
// stages share nothing they write.
func TestCompileOneCPU(t *testing.T) {
	def, err := falcorules.FS.ReadFile(falcorules.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	src := []rules.Source{{Name: falcorules.DefaultFile, Data: def}, {Name: "gen.yaml", Data: rulegen.GenerateDistinct(300, 1)},
		{Name: "unused.yaml", Data: []byte("- list: unused_list\n  items: [a]\n- macro: unused_macro\n  condition: proc.name = a\n")}}
	compile := func(procs int) ([]byte, string) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a, ds := compiler.Compile(src, nil)
		if a == nil {
			t.Fatalf("GOMAXPROCS=%d: compile: %v", procs, ds)
		}
		var b bytes.Buffer
		if err := artifact.Write(&b, a); err != nil {
			t.Fatal(err)
		}
		var d strings.Builder
		for _, x := range ds {
			d.WriteString(x.Render())
		}
		return b.Bytes(), d.String()
	}
	one, dsOne := compile(1)
	if dsOne == "" {
		t.Fatal("no warnings: the diagnostics are not compared")
	}
	for _, procs := range []int{2, 4} {
		got, ds := compile(procs)
		if !bytes.Equal(got, one) {
			t.Errorf("GOMAXPROCS=%d: the artifact differs from one CPU's (%d bytes, want %d)", procs, len(got), len(one))
		}
		if ds != dsOne {
			t.Errorf("GOMAXPROCS=%d: diagnostics differ from one CPU's:\n%s\nwant:\n%s", procs, ds, dsOne)
		}
	}
}
