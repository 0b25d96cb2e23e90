// Package archtest checks the project's package boundaries (DESIGN.md,
// "Layout"), in place of a linter's depguard rules. It checks what a
// package links, not only what it imports: every package in its
// transitive dependencies (`go list -deps`), so that a runtime package
// cannot reach the rule compiler's front end through a third package.
package archtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/falcoc/falcoc"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// rule: a package under From may not depend (transitively) on anything
// under Deny, except what is under Allow. A path written "=path" names
// that package alone.
type rule struct {
	From  string
	Deny  []string
	Allow []string
	Why   string
}

// frontEnd is the rule compiler's front end: what parses and checks rule
// files and plans and generates from them.
var frontEnd = []string{
	"github.com/alecthomas/participle", "gopkg.in/yaml.v3",
	module + "/compiler/syntax", module + "/compiler/rules", module + "/compiler/check",
	module + "/compiler/prefilter", module + "/compiler/codegen",
}

var rules = []rule{
	{
		From:  module + "/compiler/",
		Deny:  []string{"github.com/cilium/ebpf", module + "/runtime/", module + "/bpf", module + "/internal/"},
		Allow: []string{module + "/runtime/vm"},
		Why:   "the compiler's output is a kernel-independent spec; runtime/vm is the bytecode format it emits (stdlib only)",
	},
	{
		From: module + "/runtime/",
		// runtime/config reads falco.yaml with yaml.v3: allowed there only.
		Deny: append(slices.Clone(frontEnd[:1]), append(frontEnd[2:], "="+module+"/compiler", module+"/internal/")...),
		Why:  "the runtime loads artifacts; it does not link the rule compiler",
	},
	{
		From: module + "/runtime/vm",
		Deny: []string{module + "/", "github.com/", "gopkg.in/"},
		Why:  "the VM is shared by compiler and runtime and depends on the standard library only",
	},
	{
		From:  module + "/compiler/plan",
		Deny:  []string{module + "/", "github.com/", "gopkg.in/"},
		Allow: []string{module + "/compiler/catalog"},
		Why:   "the kernel plan is read by the runtime and the bpf loader: standard library and the catalog only",
	},
	{
		From:  module + "/compiler/artifact",
		Deny:  frontEnd,
		Allow: nil,
		Why:   "the artifact is what the runtime loads; it must not link the compiler's front end",
	},
	{
		From: module + "/compiler/selection",
		Deny: []string{module + "/", "github.com/", "gopkg.in/"},
		Why:  "rule selection is shared by the loader and falco-run's artifact loading: standard library only",
	},
	{
		From:  module + "/bpf",
		Deny:  []string{module + "/compiler/", module + "/runtime/", module + "/internal/"},
		Allow: []string{module + "/compiler/plan", module + "/compiler/catalog"},
		Why:   "bpf/ is the kernel side and its loader; it loads the plan's tables as they are",
	},
}

// listPackages returns the module's packages and every package they
// depend on, by import path.
func listPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	all := map[string]*pkg{}
	dec := json.NewDecoder(out)
	for {
		p := &pkg{}
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return all
}

// under reports whether path is prefix or below it; a prefix written
// "=path" matches that package only.
func under(path, prefix string) bool {
	if exact, ok := strings.CutPrefix(prefix, "="); ok {
		return path == exact
	}
	return path == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/")
}

func denied(imp string, prefixes []string) bool {
	for _, d := range prefixes {
		if under(imp, d) {
			return true
		}
	}
	return false
}

// violations checks every module package of all against rules and
// returns one message per forbidden dependency, with the import chain
// that brings it in.
func violations(all map[string]*pkg, rules []rule) []string {
	var out []string
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p := all[name]
		if !under(name, module) {
			continue
		}
		for _, r := range rules {
			if !under(name, r.From) {
				continue
			}
			for _, dep := range p.Deps {
				if denied(dep, r.Deny) && !denied(dep, r.Allow) && !under(dep, r.From) {
					out = append(out, fmt.Sprintf("%s depends on %s (%s): %s", name, dep, strings.Join(chain(all, name, dep), " → "), r.Why))
				}
			}
		}
	}
	return out
}

// chain returns the shortest import chain from one package to another.
func chain(all map[string]*pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to {
			var path []string
			for ; n != ""; n = prev[n] {
				path = append(path, n)
			}
			slices.Reverse(path)
			return path
		}
		if p := all[n]; p != nil {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = n
					queue = append(queue, imp)
				}
			}
		}
	}
	return []string{from, "?", to}
}

func TestLayers(t *testing.T) {
	all := listPackages(t)
	n := 0
	for name := range all {
		if under(name, module) {
			n++
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
	for _, v := range violations(all, rules) {
		t.Error(v)
	}
}

// TestLayersTransitive checks the checker: a dependency two imports away
// is reported, with its chain.
func TestLayersTransitive(t *testing.T) {
	all := map[string]*pkg{
		module + "/runtime/a": {ImportPath: module + "/runtime/a", Imports: []string{module + "/runtime/b"},
			Deps: []string{module + "/runtime/b", module + "/compiler/check", "github.com/alecthomas/participle/v2"}},
		module + "/runtime/b": {ImportPath: module + "/runtime/b", Imports: []string{module + "/compiler/check"},
			Deps: []string{module + "/compiler/check", "github.com/alecthomas/participle/v2"}},
		module + "/compiler/check": {ImportPath: module + "/compiler/check", Imports: []string{"github.com/alecthomas/participle/v2"},
			Deps: []string{"github.com/alecthomas/participle/v2"}},
	}
	got := violations(all, rules)
	want := module + "/runtime/a depends on github.com/alecthomas/participle/v2 (" + module + "/runtime/a → " +
		module + "/runtime/b → " + module + "/compiler/check → github.com/alecthomas/participle/v2)"
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
		t.Errorf("violations = %q, want one starting %q", got, want)
	}
	if len(got) != 4 { // a and b, each on check and participle
		t.Errorf("%d violations, want 4: %q", len(got), got)
	}
}
