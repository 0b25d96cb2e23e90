// Package archtest checks the project's package boundaries (DESIGN.md,
// "Layout"), in place of a linter's depguard rules.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/falcoc/falcoc"

type pkg struct {
	ImportPath string
	Imports    []string
}

// rules: a package under From may not import anything under Deny, except
// what is under Allow.
var rules = []struct {
	From  string
	Deny  []string
	Allow []string
	Why   string
}{
	{
		From:  module + "/compiler/",
		Deny:  []string{"github.com/cilium/ebpf", module + "/runtime/", module + "/bpf", module + "/internal/cli"},
		Allow: []string{module + "/runtime/vm"},
		Why:   "the compiler's output is a kernel-independent spec; runtime/vm is the bytecode format it emits (stdlib only)",
	},
	{
		From: module + "/runtime/",
		Deny: []string{"github.com/alecthomas/participle", module + "/compiler/syntax", module + "/compiler/rules", module + "/compiler/check", module + "/internal/cli"},
		Why:  "the runtime loads artifacts; it does not parse rules",
	},
	{
		From: module + "/runtime/vm",
		Deny: []string{module + "/", "github.com/"},
		Why:  "the VM is shared by compiler and runtime and depends on the standard library only",
	},
	{
		From: module + "/bpf",
		Deny: []string{module + "/compiler/", module + "/runtime/", module + "/internal/cli"},
		Why:  "bpf/ is the kernel side and its loader only",
	},
}

func TestLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	n := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		for _, r := range rules {
			if !strings.HasPrefix(p.ImportPath+"/", r.From) && p.ImportPath != strings.TrimSuffix(r.From, "/") {
				continue
			}
			for _, imp := range p.Imports {
				if denied(imp, r.Deny) && !denied(imp, r.Allow) && !strings.HasPrefix(imp+"/", r.From) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.Why)
				}
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
}

func denied(imp string, prefixes []string) bool {
	for _, d := range prefixes {
		if imp == strings.TrimSuffix(d, "/") || strings.HasPrefix(imp, d) || strings.HasPrefix(imp, d+"/") {
			return true
		}
	}
	return false
}
