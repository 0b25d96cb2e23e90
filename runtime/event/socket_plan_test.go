package event

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// TestSocketDomainsAgree checks the compiler's address family table (the
// planner judges evt.arg.domain and evt.rawarg.domain of socket and
// socketpair with it) against the runtime's: the same value for every
// name, and the same rendering of the values the domain parameter holds.
func TestSocketDomainsAgree(t *testing.T) {
	for _, sys := range []string{"socket", "socketpair"} {
		ev, ok := catalog.EventByName(sys)
		if !ok {
			t.Fatalf("no %s event", sys)
		}
		i, ok := ev.Param("domain")
		if !ok {
			t.Fatalf("%s has no domain parameter", sys)
		}
		p := &ev.Params[i]
		names := catalog.SocketDomainNames()
		if len(names) < 30 || len(names) != len(p.Flags) {
			t.Fatalf("catalog.SocketDomainNames: %d names, %s has %d", len(names), sys, len(p.Flags))
		}
		for j, n := range names {
			if p.Flags[j] != n {
				t.Errorf("%s: name %d is %s, catalog.SocketDomainNames has %s", sys, j, p.Flags[j], n)
			}
			cv, cok := catalog.SocketDomainValue(n)
			rv, rok := FlagValue(p, n)
			if cv != rv || cok != rok || !cok {
				t.Errorf("%s: compiler %d (%v), runtime %d (%v)", n, cv, cok, rv, rok)
			}
		}
		var e Event
		e.Reset(ev)
		values := []uint64{1 << 31, 1<<32 - 1, 0x10011, 0x100000}
		for v := range uint64(1 << 12) {
			values = append(values, v)
		}
		for _, v := range values {
			e.Params[i].Set, e.Params[i].U = true, v
			want := string(e.AppendArg(nil, i, nil))
			if got := catalog.SocketDomainText(v); got != want {
				t.Errorf("%s domain %d: compiler renders %q, runtime %q", sys, v, got, want)
			}
		}
	}
}
