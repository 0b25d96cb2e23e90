package codegen

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/vm"
)

const testRules = `
- list: shell_binaries
  items: [bash, sh, zsh]
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.res = SUCCESS)
- rule: Shell in container
  desc: a shell in a container
  condition: spawned_process and container.id != host and proc.name in (shell_binaries)
  output: "Shell %proc.name (%toupper(proc.pname)) in %container.id"
  priority: WARNING
  tags: [shell, container]
- rule: Write below etc
  desc: writes under /etc
  condition: evt.type = openat and fd.name pmatch (/etc) and not proc.name startswith oneof (apt, dpkg)
  output: "%fd.name written by %proc.name"
  priority: ERROR
  enabled: false
`

func load(t *testing.T, src string) *rules.Ruleset {
	t.Helper()
	rs, ds := rules.Load([]rules.Source{{Name: "test.yaml", Data: []byte(src)}}, nil)
	if diag.HasErrors(ds) || rs == nil {
		for _, d := range ds {
			t.Log(d.Render())
		}
		t.Fatal("rules do not load")
	}
	return rs
}

func TestBuild(t *testing.T) {
	rs := load(t, testRules)
	a, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	type ruleSummary struct {
		Name, Compiled string
		Priority       int
		Tags, Events   []string
		Enabled        bool
	}
	var got []ruleSummary
	for _, r := range a.Rules {
		got = append(got, ruleSummary{r.Name, r.Compiled, r.Priority, r.Tags, r.EventTypes, r.Enabled})
	}
	want := []ruleSummary{
		{"Shell in container", "((evt.type in (execve, execveat) and evt.res = SUCCESS) and container.id != host and proc.name in (bash, sh, zsh))",
			int(rules.Warning), []string{"container", "shell"}, []string{"execve", "execveat"}, true},
		{"Write below etc", "(evt.type = openat and fd.name pmatch (/etc) and not proc.name startswith oneof (apt, dpkg))",
			int(rules.Error), nil, []string{"openat"}, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// Only enabled syscall rules contribute syscalls.
	if diff := cmp.Diff([]string{"execve", "execveat"}, a.Syscalls); diff != "" {
		t.Errorf("syscalls (-want +got):\n%s", diff)
	}

	// Deterministic: two builds give the same bytes.
	var b1, b2 bytes.Buffer
	if err := artifact.Write(&b1, a); err != nil {
		t.Fatal(err)
	}
	a2, err := Build(load(t, testRules), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := artifact.Write(&b2, a2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two builds of the same rules differ")
	}

	// The artifact read back evaluates rules and renders outputs.
	back, err := artifact.Read(b1.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.New(back.Consts)
	if err != nil {
		t.Fatal(err)
	}
	ev := map[string]vm.Value{"evt.type": sv("execve"), "evt.res": sv("SUCCESS"), "container.id": sv("abc"),
		"proc.name": sv("bash"), "proc.pname": sv("sshd"), "fd.name": sv("/etc/passwd")}
	e := &env{c: back.Consts, vals: ev}
	m.BeginEvent()
	var matched []string
	for _, r := range back.Rules {
		ok, err := m.Eval(r.Program, e)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			matched = append(matched, r.Name)
		}
	}
	if diff := cmp.Diff([]string{"Shell in container"}, matched); diff != "" {
		t.Errorf("matched (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	for _, s := range back.Rules[0].Template.Segments {
		if s.Operand < 0 {
			out.WriteString(s.Text)
			continue
		}
		v, ok := m.Operand(e, int(s.Operand))
		if !ok {
			out.WriteString("<NA>")
			continue
		}
		out.WriteString(v.S)
	}
	if diff := cmp.Diff("Shell bash (SSHD) in abc", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestBuildDefaultRules compiles the project's default rules: every rule
// compiles, validates, and round-trips through the artifact format.
func TestBuildDefaultRules(t *testing.T) {
	srcs, err := rules.ReadPaths([]string{"../../rules"})
	if err != nil {
		t.Fatal(err)
	}
	rs, ds := rules.Load(srcs, nil)
	if diag.HasErrors(ds) || rs == nil {
		t.Fatalf("default rules do not load: %v", ds)
	}
	a, err := Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := artifact.Write(&b, a); err != nil {
		t.Fatal(err)
	}
	back, err := artifact.Read(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rules) != len(a.Rules) || len(a.Rules) == 0 {
		t.Errorf("%d rules read back, %d built", len(back.Rules), len(a.Rules))
	}
}
