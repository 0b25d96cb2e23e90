package codegen

import (
	"fmt"
	"testing"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

// bigRule builds a condition shaped like the large rules of Falco's
// default rule set: an event-type guard, a container check, big
// in-lists (150+ values), a pmatch list, command-line and glob
// exclusions, and 20 two-field exceptions: 79 leaf comparisons.
func bigRule(t testing.TB) check.Expr {
	names := func(prefix string, n int) []check.Value {
		out := make([]check.Value, n)
		for k := range out {
			out[k] = s(fmt.Sprintf("%s%03d", prefix, k))
		}
		return out
	}
	paths := make([]check.Value, 160)
	for k := range paths {
		paths[k] = s(fmt.Sprintf("/opt/app%03d/data", k))
	}
	terms := []check.Expr{
		cmpv(fld(t, "evt.type"), syntax.OpIn, strs("execve", "execveat")...),
		cmpv(fld(t, "evt.res"), syntax.OpEq, s("SUCCESS")),
		cmpv(fld(t, "container.id"), syntax.OpNe, s("host")),
		cmpv(fld(t, "proc.name"), syntax.OpIn, append(names("shell", 150), s("bash"), s("exc19"))...),
		not(cmpv(fld(t, "proc.pname"), syntax.OpIn, names("parent", 160)...)),
		not(or(cmpv(fldArg(t, "proc.aname", "2"), syntax.OpIn, names("anc", 150)...),
			cmpv(fldArg(t, "proc.aname", "3"), syntax.OpIn, names("anc", 150)...))),
		not(cmpv(fld(t, "fd.name"), syntax.OpPmatch, paths...)),
		or(cmpv(fld(t, "user.uid"), syntax.OpEq, u(0)), cmpv(fld(t, "user.name"), syntax.OpIn, strs("root", "admin")...)),
	}
	for k := range 20 {
		terms = append(terms, not(cmpv(fld(t, "proc.cmdline"), syntax.OpContains, s(fmt.Sprintf("--flag-%02d", k)))))
	}
	for k := range 10 {
		terms = append(terms, not(cmpv(fld(t, "proc.exepath"), syntax.OpGlob, s(fmt.Sprintf("/usr/lib/*/helper%d*", k)))))
	}
	for k := range 20 {
		terms = append(terms, not(and(
			cmpv(fld(t, "proc.name"), syntax.OpEq, s(fmt.Sprintf("exc%02d", k))),
			cmpv(fld(t, "proc.pname"), syntax.OpEq, s(fmt.Sprintf("excparent%02d", k))))))
	}
	return and(terms...)
}

// sliceEnv serves values from slices indexed by field id: no allocation.
type sliceEnv struct {
	vals []vm.Value
	ok   []bool
}

func (e *sliceEnv) Extract(id int, v *vm.Value) bool {
	if !e.ok[id] {
		return false
	}
	*v = e.vals[id]
	return true
}

func newSliceEnv(c *vm.Consts, byName map[string]vm.Value) *sliceEnv {
	e := &sliceEnv{vals: make([]vm.Value, len(c.Fields)), ok: make([]bool, len(c.Fields))}
	for i, f := range c.Fields {
		if v, ok := byName[f.String()]; ok {
			e.vals[i], e.ok[i] = v, true
		}
	}
	return e
}

func bigRuleEvents() map[string]map[string]vm.Value {
	match := map[string]vm.Value{
		"evt.type": sv("execve"), "evt.res": sv("SUCCESS"), "container.id": sv("0123456789ab"),
		"proc.name": sv("bash"), "proc.pname": sv("sshd"), "proc.aname[2]": sv("systemd"), "proc.aname[3]": sv("init"),
		"fd.name": sv("/opt/app999/data/x"), "user.uid": {Kind: vm.KindUint, U: 0}, "user.name": sv("root"),
		"proc.cmdline": sv("bash -c 'echo hello; sleep 1; ls -la /var/lib/something/quite/long'"),
		"proc.exepath": sv("/usr/bin/bash"),
	}
	late := map[string]vm.Value{}
	for k, v := range match {
		late[k] = v
	}
	late["proc.name"], late["proc.pname"] = sv("exc19"), sv("excparent19")
	early := map[string]vm.Value{}
	for k, v := range match {
		early[k] = v
	}
	early["evt.type"] = sv("openat")
	return map[string]map[string]vm.Value{"match": match, "nomatch_late": late, "nomatch_early": early}
}

func TestBigRule(t *testing.T) {
	g := New()
	p, err := g.Condition(bigRule(t))
	if err != nil {
		t.Fatal(err)
	}
	// The late case fails at the last exception, after every other leaf.
	// Check the outcomes and that evaluation allocates nothing.
	want := map[string]bool{"match": true, "nomatch_late": false, "nomatch_early": false}
	for name, ev := range bigRuleEvents() {
		env := newSliceEnv(g.Consts(), ev)
		m, err := vm.New(g.Consts())
		if err != nil {
			t.Fatal(err)
		}
		var got bool
		allocs := testing.AllocsPerRun(100, func() {
			m.BeginEvent()
			got, err = m.Eval(p, env)
		})
		if err != nil || got != want[name] {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want[name])
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation, want 0", name, allocs)
		}
	}
}

func BenchmarkVMEval(b *testing.B) {
	g := New()
	p, err := g.Condition(bigRule(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"match", "nomatch_late", "nomatch_early"} {
		b.Run("big_rule/"+name, func(b *testing.B) {
			env := newSliceEnv(g.Consts(), bigRuleEvents()[name])
			m, err := vm.New(g.Consts())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var got bool
			for b.Loop() {
				m.BeginEvent()
				got, err = m.Eval(p, env)
			}
			if err != nil || got != (name == "match") {
				b.Fatalf("got %v, %v", got, err)
			}
		})
	}
}
