package event

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// TestPtraceRequestsAgree checks the compiler's ptrace request table (the
// planner judges evt.arg.request and evt.rawarg.request with it) against
// the runtime's: the same value for every name, and the same rendering of
// every 16-bit value the request parameter can hold.
func TestPtraceRequestsAgree(t *testing.T) {
	ev, ok := catalog.EventByName("ptrace")
	if !ok {
		t.Fatal("no ptrace event")
	}
	i, ok := ev.Param("request")
	if !ok {
		t.Fatal("ptrace has no request parameter")
	}
	p := &ev.Params[i]
	names := catalog.PtraceRequestNames()
	if len(names) == 0 || len(names) != len(p.Flags) {
		t.Fatalf("catalog.PtraceRequestNames: %d names, the event has %d", len(names), len(p.Flags))
	}
	valued := 0
	for _, n := range names {
		cv, cok := catalog.PtraceRequestValue(n)
		rv, rok := FlagValue(p, n)
		if cv != rv || cok != rok {
			t.Errorf("%s: compiler %d (%v), runtime %d (%v)", n, cv, cok, rv, rok)
		}
		if cok {
			valued++
		}
	}
	if valued < 30 {
		t.Errorf("only %d request names have values", valued)
	}
	var e Event
	e.Reset(ev)
	for v := range uint64(1 << 16) {
		e.Params[i].Set, e.Params[i].U = true, v
		want := string(e.AppendArg(nil, i, nil))
		if got := catalog.PtraceRequestText(v); got != want {
			t.Errorf("request %d: compiler renders %q, runtime %q", v, got, want)
		}
	}
}
