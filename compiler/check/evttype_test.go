package check

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// allBut is the universe of event types minus names, sorted.
func allBut(names ...string) []string {
	all, _ := universe()
	var out []string
	for _, n := range all {
		if !slices.Contains(names, n) {
			out = append(out, n)
		}
	}
	return out
}

func fcmp(name string, op syntax.Op, v string) *syntax.Compare {
	return cmpx(fld(0, name), op, lit(20, v))
}

func TestEventTypeInference(t *testing.T) {
	// Building blocks shaped like the stable rules' macros (§3.3).
	openRead := and(evt("open", "openat", "openat2"), fcmp("evt.is_open_read", syntax.OpEq, "true"), fcmp("fd.typechar", syntax.OpEq, "f"), fcmp("fd.num", syntax.OpGe, "0"))
	spawned := and(evt("execve", "execveat"), fcmp("evt.dir", syntax.OpEq, "<"))
	outbound := and(
		or(
			and(evt("connect"), fcmp("evt.dir", syntax.OpEq, "<")),
			and(evt("sendto", "sendmsg"), fcmp("evt.dir", syntax.OpEq, "<"), fcmp("fd.l4proto", syntax.OpNe, "tcp"), fcmp("fd.connected", syntax.OpEq, "false")),
		),
		or(fcmp("fd.typechar", syntax.OpEq, "4"), fcmp("fd.typechar", syntax.OpEq, "6")),
		and(fcmp("fd.ip", syntax.OpNe, "0.0.0.0"), fcmp("fd.net", syntax.OpNe, "127.0.0.0/8"), not(cmpx(fld(0, "fd.snet"), syntax.OpIn, list(20, "10.0.0.0/8", "192.168.0.0/16")))),
		or(fcmp("evt.rawres", syntax.OpGe, "0"), fcmp("evt.res", syntax.OpEq, "EINPROGRESS")),
	)
	container := fcmp("container.id", syntax.OpNe, "host")
	neverTrue := fcmp("evt.num", syntax.OpEq, "0")
	alwaysTrue := fcmp("evt.num", syntax.OpGe, "0")

	tests := []struct {
		name string
		expr syntax.Expr
		want []string
	}{
		// Rule shapes of the stable file.
		{"open_read rule", and(openRead, not(fcmp("proc.name", syntax.OpIn, "x")), fcmp("fd.name", syntax.OpStartsWith, "/etc")), []string{"open", "openat", "openat2"}},
		{"spawned process rule", and(spawned, container, fcmp("proc.name", syntax.OpIn, "bash")), []string{"execve", "execveat"}},
		{"outbound connection rule", and(outbound, not(fcmp("fd.sport", syntax.OpIn, "22"))), []string{"connect", "sendmsg", "sendto"}},
		{"connect only", and(evt("connect"), fcmp("evt.dir", syntax.OpEq, "<"), container), []string{"connect"}},
		{"symlink", and(evt("symlink", "symlinkat"), fcmp("evt.arg.target", syntax.OpIn, "/etc")), []string{"symlink", "symlinkat"}},
		{"link", and(evt("link", "linkat"), fcmp("evt.arg.target", syntax.OpIn, "/etc")), []string{"link", "linkat"}},
		{"socket", and(evt("socket"), fcmp("evt.arg.domain", syntax.OpContains, "AF_PACKET")), []string{"socket"}},
		{"dup", and(evt("dup", "dup2", "dup3"), fcmp("evt.rawres", syntax.OpIn, "0")), []string{"dup", "dup2", "dup3"}},
		{"kernel module", and(evt("init_module", "finit_module"), fcmp("evt.rawres", syntax.OpEq, "0")), []string{"finit_module", "init_module"}},
		{"ptrace", and(evt("ptrace"), fcmp("evt.rawres", syntax.OpEq, "0")), []string{"ptrace"}},
		{"open or exec", or(and(openRead, container), and(spawned, container)), []string{"execve", "execveat", "open", "openat", "openat2"}},

		// Set algebra.
		{"no evt.type", fcmp("proc.name", syntax.OpEq, "bash"), nil},
		{"or with an unconstrained term", or(evt("open"), other()), nil},
		{"and with an unconstrained term", and(evt("open"), other()), []string{"open"}},
		{"intersection", and(evt("open", "close", "read"), evt("close", "read", "write")), []string{"close", "read"}},
		{"empty intersection", and(evt("open"), evt("close")), []string{}},
		{"x and not x", and(evt("open"), not(evt("open"))), []string{}},
		{"not evt.type", not(evt("open")), allBut("open")},
		{"!=", evtNe("open"), allBut("open")},
		{"not !=", not(evtNe("open")), []string{"open"}},
		{"not not", not(not(evt("open"))), []string{"open"}},
		{"in minus !=", and(evt("open", "close"), evtNe("close")), []string{"open"}},
		{"de morgan over or", not(or(evt("open"), evt("close"))), allBut("close", "open")},
		{"de morgan over and", not(and(evt("open", "close"), evt("close", "read"))), allBut("close")},
		{"negated and with an unconstrained term", not(and(evt("open"), other())), nil},
		{"negated or with an unconstrained term", not(or(evt("open"), other())), allBut("open")},
		{"== is =", cmpx(fld(0, "evt.type"), syntax.OpEqEq, lit(12, "open")), []string{"open"}},
		{"anyof", cmpMod(fld(0, "evt.type"), syntax.OpEq, syntax.ModAnyOf, list(18, "open", "close")), []string{"close", "open"}},
		{"!= allof", cmpMod(fld(0, "evt.type"), syntax.OpNe, syntax.ModAllOf, list(19, "open", "close")), allBut("close", "open")},
		{"oneof is unconstrained", cmpMod(fld(0, "evt.type"), syntax.OpEq, syntax.ModOneOf, list(18, "open", "close")), nil},
		{"startswith is unconstrained", cmpx(fld(0, "evt.type"), syntax.OpStartsWith, lit(20, "open")), nil},
		{"intersects is unconstrained", cmpx(fld(0, "evt.type"), syntax.OpIntersects, list(20, "open")), nil},
		{"transformed evt.type is unconstrained", cmpx(tr(0, "tolower", fld(8, "evt.type")), syntax.OpEq, lit(20, "open")), nil},
		{"empty in", cmpx(fld(0, "evt.type"), syntax.OpIn, list(12)), []string{}},
		{"not empty in", not(cmpx(fld(0, "evt.type"), syntax.OpIn, list(12))), nil},
		{"every type either way", or(evt("open"), evtNe("open")), nil},

		// evt.num invariants.
		{"never_true", neverTrue, []string{}},
		{"never_true and", and(evt("open"), neverTrue), []string{}},
		{"never_true or", or(evt("open"), neverTrue), []string{"open"}},
		{"not never_true", and(evt("open"), not(neverTrue)), []string{"open"}},
		{"always_true", alwaysTrue, nil},
		{"not always_true", not(alwaysTrue), []string{}},
		{"evt.num > 0", not(fcmp("evt.num", syntax.OpGt, "0")), []string{}},
		{"evt.num = 5 is unconstrained", fcmp("evt.num", syntax.OpEq, "5"), nil},
		{"not evt.num = 5 is unconstrained", not(fcmp("evt.num", syntax.OpEq, "5")), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, issues := CheckCondition(tc.expr, nil)
			if c == nil {
				t.Fatalf("CheckCondition failed: %v", issues)
			}
			if diff := cmp.Diff(tc.want, c.EventTypes); diff != "" {
				t.Errorf("EventTypes (-want +got):\n%s", diff)
			}
			if (tc.want == nil) != (c.EventTypes == nil) {
				t.Errorf("EventTypes nil = %v, want %v", c.EventTypes == nil, tc.want == nil)
			}
			n := len(tc.want)
			if tc.want == nil {
				n = EventTypeCount()
			}
			if c.TooManyEventTypes != (n > MaxEventTypes) {
				t.Errorf("TooManyEventTypes = %v for %d types", c.TooManyEventTypes, n)
			}
		})
	}
}

func TestEventTypeCount(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range catalog.Events() {
		seen[e.Name] = true
	}
	if got, want := EventTypeCount(), len(seen); got != want {
		t.Errorf("EventTypeCount() = %d, want %d", got, want)
	}
	if EventTypeCount() <= MaxEventTypes {
		t.Errorf("EventTypeCount() = %d: an unconstrained rule would not be flagged", EventTypeCount())
	}
}

func TestEventTypesOtherSource(t *testing.T) {
	c, issues := CheckCondition(cmpx(fld(0, "ka.verb"), syntax.OpEq, lit(10, "create")), k8s)
	if c == nil {
		t.Fatalf("CheckCondition failed: %v", issues)
	}
	if c.EventTypes != nil || c.TooManyEventTypes {
		t.Errorf("k8s_audit condition: EventTypes = %v, TooManyEventTypes = %v; want nil, false", c.EventTypes, c.TooManyEventTypes)
	}
}
