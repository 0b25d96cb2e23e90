package live_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/live"
	"github.com/falcoc/falcoc/runtime/state"
)

func names(ids map[int]bool) []string {
	var out []string
	for id, ok := range ids {
		if n, known := catalog.SyscallName(id); ok && known {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TestStateSyscallsAgree checks that the syscalls the kernel always sends
// (Falco's model, and the planner's when a rule reads descriptors) and the
// ones the state applies are the catalog's one list.
func TestStateSyscallsAgree(t *testing.T) {
	want := catalog.StateSyscallNames(0)
	slices.Sort(want)
	if len(want) < 40 {
		t.Fatalf("only %d state syscalls", len(want))
	}

	// The kernel side with --prefilter=off or evttype.
	if diff := cmp.Diff(want, names(live.EvttypeTables(nil).Always)); diff != "" {
		t.Errorf("live.EvttypeTables Always (-catalog +kernel):\n%s", diff)
	}

	// The planner, for a rule reading a descriptor on a syscall that does
	// not describe it (file and socket state both needed).
	art, ds := compiler.Compile([]rules.Source{{Name: "r.yaml", Data: []byte(`
- rule: read of etc
  desc: d
  condition: evt.type = read and fd.name startswith /etc
  output: o
  priority: NOTICE
`)}}, nil)
	if art == nil {
		t.Fatalf("compile: %v", ds)
	}
	if diff := cmp.Diff(want, names(art.Plan.Tables.Always)); diff != "" {
		t.Errorf("planner Always (-catalog +planner):\n%s", diff)
	}

	// The state: every syscall event it applies is in the list, and every
	// one of the list is applied.
	var applied []string
	for _, e := range catalog.Events() {
		if e.Syscall && state.UpdatesState(e) {
			applied = append(applied, e.Name)
		}
	}
	slices.Sort(applied)
	applied = slices.Compact(applied)
	if diff := cmp.Diff(want, applied); diff != "" {
		t.Errorf("runtime/event applies (-catalog +state):\n%s", diff)
	}
}
