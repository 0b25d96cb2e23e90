package extract

import (
	"strings"
	"testing"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// BenchmarkExtract extracts the common fields of an openat event after the
// process tree of treeTrace is built: no allocation in steady state.
func BenchmarkExtract(b *testing.B) {
	deps := testDeps(b)
	r := replay.NewReader(strings.NewReader(treeTrace))
	var ev event.Event
	var ctx event.ProcContext
	for i := 0; i < 9; i++ { // up to and including the first openat by python3
		if err := r.Next(&ev, &ctx); err != nil {
			b.Fatal(err)
		}
		state.ApplyProc(deps.Table, ev.Ts, ev.Tid, ev.Pid, &ctx)
		state.ApplyBefore(deps.Table, &ev)
	}
	fields := []string{"proc.name", "proc.cmdline", "proc.aname[2]", "fd.name", "evt.arg.flags"}
	refs := make([]vm.FieldRef, len(fields))
	for i, f := range fields {
		refs[i] = ref(b, f)
	}
	env, err := New(refs, deps)
	if err != nil {
		b.Fatal(err)
	}
	var v vm.Value
	b.ReportAllocs()
	for b.Loop() {
		env.Reset(&ev)
		for id := range refs {
			if !env.Extract(id, &v) {
				b.Fatalf("%s missing", fields[id])
			}
		}
	}
	env.Reset(&ev)
	want := []string{"python3", "python3 x.py --fast", "sshd", "/home/alice/work/data/in.txt", "O_RDONLY|O_CLOEXEC"}
	for id := range refs {
		if !env.Extract(id, &v) || v.S != want[id] {
			b.Errorf("%s = %v, want %q", fields[id], v, want[id])
		}
	}
}
