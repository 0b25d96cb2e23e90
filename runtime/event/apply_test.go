package event

import (
	"strings"
	"testing"

	"github.com/falcoc/falcoc/runtime/state"
)

// replay applies a trace to a fresh table, calling check after each
// event's ApplyBefore (where rules run) with the event's position.
func replay(t *testing.T, trace string, check func(i int, ev *Event, tab *state.Table)) *state.Table {
	t.Helper()
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	r := NewReader(strings.NewReader(trace))
	var ev Event
	var ctx ProcContext
	for i := 0; ; i++ {
		if err := r.Next(&ev, &ctx); err != nil {
			if err.Error() == "EOF" {
				return tab
			}
			t.Fatal(err)
		}
		ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &ctx)
		ApplyBefore(tab, &ev)
		if check != nil {
			check(i, &ev, tab)
		}
		ApplyAfter(tab, &ev)
	}
}

func TestApplyCloseAfterRules(t *testing.T) {
	trace := `{"ts": 1, "type": "openat", "tid": 5, "res": 3, "args": {"dirfd": -100, "name": "/etc/shadow", "flags": "O_RDONLY"}, "proc": {"comm": "cat", "cwd": "/"}}
{"ts": 2, "type": "close", "tid": 5, "res": 0, "args": {"fd": 3}}
{"ts": 3, "type": "close", "tid": 5, "res": 0, "args": {"fd": 3}}
`
	var names []string
	replay(t, trace, func(i int, ev *Event, tab *state.Table) {
		name := "<none>"
		if f := tab.FD(ev.Tid, 3); f != nil {
			name = f.Name
		}
		names = append(names, name)
	})
	want := []string{"/etc/shadow", "/etc/shadow", "<none>"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("fd 3 during each event = %v, want %v", names, want)
	}
}

func TestApplyCloneBothSides(t *testing.T) {
	trace := `{"ts": 1, "type": "clone", "tid": 10, "res": 11, "args": {"flags": 17}, "proc": {"comm": "bash", "exe": "/bin/bash", "ppid": 1, "cwd": "/home"}}
{"ts": 2, "type": "clone", "tid": 11, "res": 0, "args": {"flags": 17, "ptid": 10}}
{"ts": 3, "type": "clone", "tid": 21, "res": 0, "args": {"flags": 17, "ptid": 20, "exe": "/usr/bin/nginx", "args": ["-g", "daemon off;"], "comm": "nginx", "cwd": "/srv", "vtid": 1, "vpid": 1, "cgroups": ["cpu=/docker/abc"]}}
{"ts": 4, "type": "procexit", "tid": 11, "args": {"status": 0}}
{"ts": 5, "type": "close", "tid": 99, "res": 0, "args": {"fd": 1}}
`
	var exitedDuring bool
	tab := replay(t, trace, func(i int, ev *Event, tab *state.Table) {
		if i == 3 {
			th := tab.Get(11)
			exitedDuring = th != nil && th.Exited()
		}
	})
	if !exitedDuring {
		t.Error("procexit: the thread is not visible (and exited) during its exit event")
	}
	if tab.Get(11) != nil {
		t.Error("thread 11 still in the table after a later event")
	}
	child := tab.Get(21)
	if child == nil {
		t.Fatal("child-side clone with unknown parent created no thread")
	}
	p := child.Proc()
	if child.Comm() != "nginx" || p.Exe() != "/usr/bin/nginx" || p.Cwd() != "/srv" || p.PPid != 20 || p.Vpid != 1 ||
		strings.Join(p.Args(), " ") != "-g daemon off;" {
		t.Errorf("child = comm %q exe %q cwd %q ppid %d vpid %d args %q", child.Comm(), p.Exe(), p.Cwd(), p.PPid, p.Vpid, p.Args())
	}
}
