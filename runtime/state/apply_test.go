package state_test

import (
	"strings"
	"testing"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// replay applies a trace to a fresh table, calling check after each
// event's ApplyBefore (where rules run) with the event's position.
func applyTrace(t *testing.T, trace string, check func(i int, ev *event.Event, tab *state.Table)) *state.Table {
	t.Helper()
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	r := replay.NewReader(strings.NewReader(trace))
	var ev event.Event
	var ctx event.ProcContext
	for i := 0; ; i++ {
		if err := r.Next(&ev, &ctx); err != nil {
			if err.Error() == "EOF" {
				return tab
			}
			t.Fatal(err)
		}
		state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &ctx)
		state.ApplyBefore(tab, &ev)
		if check != nil {
			check(i, &ev, tab)
		}
		state.ApplyAfter(tab, &ev)
	}
}

func TestApplyCloseAfterRules(t *testing.T) {
	trace := `{"ts": 1, "type": "openat", "tid": 5, "res": 3, "args": {"dirfd": -100, "name": "/etc/shadow", "flags": "O_RDONLY"}, "proc": {"comm": "cat", "cwd": "/"}}
{"ts": 2, "type": "close", "tid": 5, "res": 0, "args": {"fd": 3}}
{"ts": 3, "type": "close", "tid": 5, "res": 0, "args": {"fd": 3}}
`
	var names []string
	applyTrace(t, trace, func(i int, ev *event.Event, tab *state.Table) {
		name := "<none>"
		if f := tab.FD(ev.Tid, 3); f != nil {
			name = f.Name()
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
	tab := applyTrace(t, trace, func(i int, ev *event.Event, tab *state.Table) {
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
	// The parent (20) is unknown: ppid 0, where libsinsp's ancestry stops.
	if child.Comm() != "nginx" || p.Exe() != "/usr/bin/nginx" || p.Cwd() != "/srv/" || p.PPid != 0 || p.Vpid != 1 ||
		strings.Join(p.Args(), " ") != "-g daemon off;" {
		t.Errorf("child = comm %q exe %q cwd %q ppid %d vpid %d args %q", child.Comm(), p.Exe(), p.Cwd(), p.PPid, p.Vpid, p.Args())
	}
}

func TestApplyExecFromThread(t *testing.T) {
	trace := `{"ts": 1, "type": "clone", "tid": 10, "res": 11, "args": {"flags": "CLONE_VM|CLONE_FILES|CLONE_THREAD"}, "proc": {"comm": "app", "exe": "/app"}}
{"ts": 2, "type": "execve", "tid": 11, "pid": 10, "res": 0, "args": {"exe": "/bin/true", "filename": "/bin/true"}}
`
	var tids []int64
	tab := applyTrace(t, trace, func(i int, ev *event.Event, tab *state.Table) { tids = append(tids, ev.Tid) })
	if tids[1] != 10 {
		t.Errorf("execve by thread 11: event tid after ApplyBefore = %d, want the leader 10", tids[1])
	}
	if th := tab.Get(10); th == nil || th.Comm() != "true" || tab.Get(11) != nil {
		t.Errorf("after exec: leader %v, thread 11 %v", tab.Get(10), tab.Get(11))
	}
}

func TestApplyProcRefresh(t *testing.T) {
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	state.ApplyProc(tab, 1, 7, 7, &event.ProcContext{Known: event.KnownComm | event.KnownExe | event.KnownArgs | event.KnownCwd | event.KnownUID,
		Comm: "a", Exe: "/bin/a", Args: []string{"1"}, Cwd: "/x", UID: 5})
	tab.Open(7, 3, "f", event.OCloexec, 0, event.AtFDCWD)
	tab.Open(7, 4, "g", 0, 0, event.AtFDCWD)
	// Same image, new name and uid: no exec, descriptors stay.
	state.ApplyProc(tab, 2, 7, 7, &event.ProcContext{Known: event.KnownComm | event.KnownExe | event.KnownUID | event.KnownVpid, Comm: "b", Exe: "/bin/a", UID: 6, Vpid: 1})
	th := tab.Get(7)
	if th.Comm() != "b" || th.Creds.UID != 6 || th.Creds.EUID != 6 || th.Proc().Vpid != 1 || th.Vtid != 1 || th.FD(3) == nil {
		t.Errorf("refresh: comm %q uid %d euid %d vpid %d vtid %d fd3 %v", th.Comm(), th.Creds.UID, th.Creds.EUID, th.Proc().Vpid, th.Vtid, th.FD(3))
	}
	// New arguments: an exec, which closes close-on-exec descriptors.
	state.ApplyProc(tab, 3, 7, 7, &event.ProcContext{Known: event.KnownArgs, Args: []string{"2"}})
	th = tab.Get(7)
	if got := th.Cmdline(); got != "b 2" || th.FD(3) != nil || th.FD(4) == nil || th.Cwd() != "/x/" || th.Exe() != "/bin/a" {
		t.Errorf("exec refresh: cmdline %q fd3 %v fd4 %v cwd %q exe %q", got, th.FD(3), th.FD(4), th.Cwd(), th.Exe())
	}
	// A thread of an unknown process creates both.
	state.ApplyProc(tab, 4, 21, 20, &event.ProcContext{Known: event.KnownComm | event.KnownPPid, Comm: "w", PPid: 7})
	if th := tab.Get(21); th == nil || th.Pid() != 20 || tab.Get(20) == nil || th.Proc().PPid != 7 {
		t.Errorf("thread of a new process: %v", th)
	}
}
