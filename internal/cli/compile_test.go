package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const compileTestRules = `
- rule: Shell
  desc: a shell
  condition: evt.type = execve and proc.name in (bash, sh)
  output: "shell %proc.name"
  priority: WARNING
`

func TestCompileAndInspect(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(rulesFile, []byte(compileTestRules), 0o644); err != nil {
		t.Fatal(err)
	}
	out1, out2 := filepath.Join(dir, "a.fbc"), filepath.Join(dir, "b.fbc")
	for _, out := range []string{out1, out2} {
		stdout, stderr, code := runFalcoc(t, "compile", "-o", out, rulesFile)
		if code != 0 {
			t.Fatalf("compile: exit %d, stderr %q", code, stderr)
		}
		if !strings.HasPrefix(stdout, out+": 1 rules, ") {
			t.Errorf("compile stdout %q", stdout)
		}
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if string(a) != string(b) {
		t.Error("compiling twice gives different artifacts")
	}

	stdout, stderr, code := runFalcoc(t, "inspect", out1)
	if code != 0 {
		t.Fatalf("inspect: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"  magic            FBC1\n",
		"  engine version   0.62.0\n",
		"rule 0: Shell\n",
		"  priority   Warning\n",
		"  evt.type   (execve)\n",
		"  condition  evt.type = execve and proc.name in (bash, sh)\n",
		"  compiled   (evt.type = execve and proc.name in (bash, sh))\n",
		"    0001 EQ_STR        0 \"execve\"\n",
		"    0004 IN_STR_SET    0 (\"bash\", \"sh\")\n",
		"fields (2)\n  0 evt.type\n  1 proc.name\n",
		"syscalls (1)\n  execve\n",
		"prefilter\nprefilter plan: 1 rules, 1 clauses of 256\n",
		"rule \"Shell\"\n  syscalls: execve\n  clause 0 on execve: comm[proc.name in (bash, sh)]\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- rule: x\n  desc: d\n  condition: proc.nme = a\n  output: o\n  priority: INFO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.fbc")
	if err := os.WriteFile(junk, []byte("not an artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.fbc")
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // a substring of stderr
	}{
		{"no output flag", []string{"compile", bad}, 1, "falcoc: no output file: use -o FILE.fbc\n"},
		{"load error", []string{"compile", "-o", out, bad}, 1, bad + ":3:14: "},
		{"missing rules file", []string{"compile", "-o", out, filepath.Join(dir, "nope.yaml")}, 1, "no such file or directory"},
		{"bad artifact", []string{"inspect", junk}, 1, "falcoc: " + junk + ": read artifact: not a falcoc artifact (bad magic)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runFalcoc(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.wantStderr)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an artifact was written despite errors: %v", err)
	}
	if diff := cmp.Diff([]string{"bad.yaml", "junk.fbc"}, listDir(t, dir)); diff != "" {
		t.Errorf("files left behind (-want +got):\n%s", diff)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
