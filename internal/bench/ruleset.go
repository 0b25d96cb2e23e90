package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	defaultrules "github.com/falcoc/falcoc/rules"
)

// lifecycleSyscalls are the process lifecycle syscalls that the userspace
// state always needs, whatever the rules say; the scheduler records (fork,
// exec, exit) are excluded too.
var lifecycleSyscalls = []string{"clone", "clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group"}

// ruleSet is the rule files falco-run is given and what the harness
// needs to know about them.
type ruleSet struct {
	Label string   // for the report
	Files []string // -r arguments
	Rules int      // enabled rules
	// Watched are the syscalls the rules look at (a non-zero gate in
	// the prefilter plan), less Excluded.
	Watched map[int]bool
	// Excluded are the process lifecycle syscalls and the syscalls the
	// plan always sends for the userspace state, among the syscalls
	// with a gate.
	Excluded map[int]bool
}

// prepareRules writes the rule files into dir: the embedded default
// rules unless files are given, plus generated rules when generated > 0.
// It plans the prefilter to learn the rules' syscalls.
func prepareRules(dir string, files []string, generated int) (*ruleSet, error) {
	rs := &ruleSet{}
	var labels []string
	if len(files) == 0 {
		b, err := defaultrules.FS.ReadFile(defaultrules.DefaultFile)
		if err != nil {
			return nil, fmt.Errorf("default rules: %w", err)
		}
		p := filepath.Join(dir, defaultrules.DefaultFile)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, fmt.Errorf("default rules: %w", err)
		}
		rs.Files = append(rs.Files, p)
		labels = append(labels, "default rules")
	} else {
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			rs.Files = append(rs.Files, abs)
			labels = append(labels, filepath.Base(f))
		}
	}
	if generated > 0 {
		p := filepath.Join(dir, fmt.Sprintf("generated_%d.yaml", generated))
		if err := os.WriteFile(p, rulegen.Generate(generated, 1), 0o644); err != nil {
			return nil, fmt.Errorf("generated rules: %w", err)
		}
		rs.Files = append(rs.Files, p)
		labels = append(labels, fmt.Sprintf("%d generated rules", generated))
	}
	srcs, err := rules.ReadPaths(rs.Files)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	art, ds := compiler.Compile(srcs, nil)
	if art == nil || art.Plan == nil {
		var msgs []string
		for _, d := range ds {
			msgs = append(msgs, strings.TrimSpace(d.Render()))
		}
		return nil, fmt.Errorf("rules could not be loaded:\n%s", strings.Join(msgs, "\n"))
	}
	for _, r := range art.Rules {
		if r.Enabled {
			rs.Rules++
		}
	}
	rs.Watched, rs.Excluded = classify(art.Plan.Tables.Gate, art.Plan.Tables.Always)
	rs.Label = fmt.Sprintf("%s (%d rules)", strings.Join(labels, " + "), rs.Rules)
	return rs, nil
}

// classify splits the syscalls with a gate into the watched ones and the
// excluded ones (lifecycle, always sent for state).
func classify(gate map[int]plan.Mask, always map[int]bool) (watched, excluded map[int]bool) {
	watched, excluded = map[int]bool{}, map[int]bool{}
	life := map[int]bool{}
	for _, n := range lifecycleSyscalls {
		if id, ok := catalog.SyscallID(n); ok {
			life[id] = true
		}
	}
	for id, m := range gate {
		if m.IsZero() || id < 0 || id >= bpf.NumSyscalls {
			continue
		}
		if life[id] || always[id] {
			excluded[id] = true
			continue
		}
		watched[id] = true
	}
	return watched, excluded
}

// names lists the syscall names of a set, sorted.
func names(set map[int]bool) []string {
	var out []string
	for id := range set {
		if n, ok := catalog.SyscallName(id); ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("syscall_%d", id))
		}
	}
	slices.Sort(out)
	return out
}
