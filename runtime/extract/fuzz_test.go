package extract

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// FuzzReplay feeds arbitrary replay text through the reader, the state
// updates and every extractor: nothing may panic.
func FuzzReplay(f *testing.F) {
	for _, line := range strings.Split(treeTrace+extraTrace, "\n") {
		f.Add(line)
	}
	f.Add(treeTrace)
	f.Add(`{"type": "dup2", "tid": 1, "res": 1, "args": {"oldfd": -5, "newfd": 99999999999}}`)
	f.Add(`{"type": "close_range", "tid": 1, "res": 0, "args": {"first": 0, "last": 18446744073709551615}}`)
	var refs []vm.FieldRef
	for _, fl := range catalog.Fields() {
		if fl.Source != catalog.SourceSyscall {
			continue
		}
		r := vm.FieldRef{Name: fl.Name, Index: -1}
		if a, ok := sampleArgs[fl.Name]; ok {
			r.Arg, r.HasArg = a, true
		}
		refs = append(refs, r)
	}
	f.Fuzz(func(t *testing.T, text string) {
		deps := testDeps(t)
		env, err := New(refs, deps)
		if err != nil {
			t.Fatal(err)
		}
		r := replay.NewReader(strings.NewReader(text))
		var ev event.Event
		var ctx event.ProcContext
		for n := 0; n < 100; n++ {
			err := r.Next(&ev, &ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				continue
			}
			state.ApplyProc(deps.Table, ev.Ts, ev.Tid, ev.Pid, &ctx)
			state.ApplyBefore(deps.Table, &ev)
			env.Reset(&ev)
			for id := range refs {
				var v vm.Value
				env.Extract(id, &v)
			}
			ev.AppendArgs(nil, env)
			state.ApplyAfter(deps.Table, &ev)
		}
	})
}
