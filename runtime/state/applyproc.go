package state

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/runtime/event"
)

// ProcContextOf describes th as a "proc" object would, for [Writer].
func ProcContextOf(th *Thread) event.ProcContext {
	p := th.Proc()
	c := event.ProcContext{
		Known: event.KnownPPid | event.KnownVpid | event.KnownVtid | event.KnownComm | event.KnownExe | event.KnownExePath | event.KnownArgs |
			event.KnownEnv | event.KnownCwd | event.KnownUID | event.KnownGID | event.KnownEUID | event.KnownEGID | event.KnownLoginUID | event.KnownTTY |
			event.KnownCaps | event.KnownSession | event.KnownStart,
		PPid: p.PPid, Vpid: p.Vpid, Vtid: th.Vtid,
		Sid: p.Sid, Pgid: p.Pgid, Vpgid: p.Vpgid,
		Comm: th.Comm(), Exe: p.Exe(), ExePath: p.ExePath(), Cwd: p.Cwd(),
		Args: p.Args(), Env: p.Env(),
		UID: th.Creds.UID, GID: th.Creds.GID, EUID: th.Creds.EUID, EGID: th.Creds.EGID,
		LoginUID: p.LoginUID, TTY: p.TTY,
		Caps:  th.Caps,
		Start: int64(p.StartTS),
	}
	if cgs := p.Cgroups(); len(cgs) > 0 {
		c.Known |= event.KnownCgroups
		c.Cgroups = cgs
	}
	return c
}

// ApplyProc creates tid's thread (of process pid) from c, or refreshes it
// when it exists, before the event at ts is applied. A thread that does
// not exist is created as a child of c.PPid (when known) and given the
// executable, arguments and environment of c. On an existing thread only
// what c states is changed; a changed executable, arguments, environment,
// tty or loginuid is recorded as an exec (which also closes close-on-exec
// descriptors).
func ApplyProc(t *Table, ts int64, tid, pid int64, c *event.ProcContext) {
	if c == nil || !c.Present() || tid <= 0 {
		return
	}
	if pid <= 0 {
		pid = tid
	}
	th, created, leaderCreated := procThread(t, ts, tid, pid, c)
	if th == nil {
		return
	}
	if c.Known&event.KnownCwd != 0 && c.Cwd != th.Proc().Cwd() {
		t.Chdir(tid, c.Cwd)
	}
	if th = procExec(t, th, c, created, leaderCreated); th == nil {
		return
	}
	procAttrs(t, th, pid, c)
}

// procThread returns tid's thread, creating it (and its process, for a
// new thread of an unknown process) from c when it does not exist;
// created tells whether it did, leaderCreated whether it created the
// process's leader (which takes c's image).
func procThread(t *Table, ts int64, tid, pid int64, c *event.ProcContext) (th *Thread, created, leaderCreated bool) {
	start := uint64(ts)
	if c.Known&event.KnownStart != 0 && c.Start > 0 {
		start = uint64(c.Start)
	}
	th = t.Get(tid)
	leaderCreated = true
	if th == nil {
		created = true
		ppid := int64(0)
		if c.Known&event.KnownPPid != 0 {
			ppid = c.PPid
		}
		if tid != pid {
			// A new thread: its process (created from c first when
			// unknown) already has the image.
			leaderCreated = false
			if t.Get(pid) == nil {
				lc := *c
				lc.Known &^= event.KnownVtid
				ApplyProc(t, ts, pid, pid, &lc)
				if t.Get(pid) == nil {
					t.Fork(start, ppid, pid, pid, 0)
				}
			}
			th = t.Fork(start, pid, tid, pid, CloneThread|CloneVM|CloneFiles|CloneFS)
		} else {
			th = t.Fork(start, ppid, tid, pid, 0)
			// A ppid the trace states is kept even when that parent is
			// not in the table (Fork gives such a child ppid 0); the
			// ancestry still stops there, as Parent finds no process.
			if th != nil && c.Known&event.KnownPPid != 0 && th.Proc().PPid == 0 {
				th.Proc().PPid = ppid
			}
		}
	}
	return th, created, leaderCreated
}

// procExec records c's image as an exec when the thread was created with
// one, or when c changes the executable, arguments, environment, tty or
// loginuid of an existing thread. It returns the thread afterwards (nil
// when the exec failed).
func procExec(t *Table, th *Thread, c *event.ProcContext, created, leaderCreated bool) *Thread {
	p := th.Proc()
	tid := th.Tid
	needExec := created && leaderCreated && c.Known&(event.KnownExe|event.KnownArgs|event.KnownEnv|event.KnownExePath|event.KnownComm) != 0
	if !created && (c.Known&event.KnownExe != 0 && c.Exe != p.Exe() ||
		c.Known&event.KnownExePath != 0 && c.ExePath != p.ExePath() ||
		c.Known&event.KnownArgs != 0 && !equalStrings(c.Args, p.Args()) ||
		c.Known&event.KnownEnv != 0 && !equalStrings(c.Env, p.Env()) ||
		c.Known&event.KnownTTY != 0 && c.TTY != p.TTY ||
		c.Known&event.KnownLoginUID != 0 && c.LoginUID != p.LoginUID) {
		needExec = true
	}
	if created && c.Known&(event.KnownTTY|event.KnownLoginUID) != 0 {
		needExec = needExec || leaderCreated
	}
	if needExec {
		exe, args, env := p.Exe(), p.Args(), p.Env()
		if c.Known&event.KnownExe != 0 {
			exe = c.Exe
		}
		if c.Known&event.KnownArgs != 0 {
			args = c.Args
		}
		if c.Known&event.KnownEnv != 0 {
			env = c.Env
		}
		argv := make([]string, 0, len(args)+1)
		argv = append(argv, exe)
		argv = append(argv, args...)
		info := &ExecInfo{Comm: th.Comm(), ExePath: p.ExePath()}
		if c.Known&event.KnownComm != 0 {
			info.Comm = c.Comm
		} else if created || c.Known&event.KnownExe != 0 {
			info.Comm = ""
		}
		if c.Known&event.KnownExePath != 0 {
			info.ExePath = c.ExePath
			if c.ExePath == "" {
				// stated empty: unknown, not to be derived (a libscap
				// process table before PL_V7)
				info.Known |= ExecEmptyExePath
			}
		} else if c.Known&event.KnownExe != 0 {
			info.ExePath = ""
		}
		if c.Known&event.KnownTTY != 0 {
			info.Known |= ExecTTY
			info.TTY = c.TTY
		}
		if c.Known&event.KnownLoginUID != 0 {
			info.Known |= ExecLoginUID
			info.LoginUID = c.LoginUID
		}
		filename := exe
		if info.ExePath != "" {
			filename = info.ExePath
		}
		th = t.Exec(uint64(p.ExecTS), tid, filename, argv, env, *info)
	}
	return th
}

// procAttrs applies the rest of c to th (of process pid): name,
// credentials, cgroups, session and ids in the pid namespace.
func procAttrs(t *Table, th *Thread, pid int64, c *event.ProcContext) {
	p := th.Proc()
	if c.Known&event.KnownComm != 0 && c.Comm != th.Comm() {
		t.SetComm(th.Tid, c.Comm)
	}
	if c.Known&(event.KnownUID|event.KnownGID|event.KnownEUID|event.KnownEGID|event.KnownCaps) != 0 {
		cr, caps := th.Creds, th.Caps
		if c.Known&event.KnownUID != 0 {
			cr.UID, cr.SUID = c.UID, c.UID
			if c.Known&event.KnownEUID == 0 {
				cr.EUID, cr.FSUID = c.UID, c.UID
			}
		}
		if c.Known&event.KnownEUID != 0 {
			cr.EUID, cr.FSUID = c.EUID, c.EUID
		}
		if c.Known&event.KnownGID != 0 {
			cr.GID, cr.SGID = c.GID, c.GID
			if c.Known&event.KnownEGID == 0 {
				cr.EGID, cr.FSGID = c.GID, c.GID
			}
		}
		if c.Known&event.KnownEGID != 0 {
			cr.EGID, cr.FSGID = c.EGID, c.EGID
		}
		if c.Known&event.KnownCaps != 0 {
			caps = c.Caps
		}
		t.SetCreds(th.Tid, cr, caps)
	}
	if c.Known&event.KnownCgroups != 0 {
		t.SetCgroups(th.Tid, c.Cgroups)
	}
	if c.Known&event.KnownSession != 0 {
		t.SetSession(th.Tid, c.Pgid, c.Vpgid, c.Sid)
	}
	if c.Known&(event.KnownVpid|event.KnownVtid) != 0 {
		vtid, vpid := th.Vtid, p.Vpid
		if c.Known&event.KnownVtid != 0 {
			vtid = c.Vtid
		}
		if c.Known&event.KnownVpid != 0 {
			vpid = c.Vpid
			if c.Known&event.KnownVtid == 0 && th.Tid == pid {
				vtid = vpid
			}
		}
		t.SetVirtualIDs(th.Tid, vtid, vpid)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// capByName maps capability names to bit numbers.
var capByName = func() map[string]uint {
	m := make(map[string]uint, 64)
	for i := uint(0); i < 64; i++ {
		if n := FormatCaps(1 << i); n != "" {
			m[n] = i
		}
	}
	return m
}()

// ParseCaps parses a capability set: a number ("0x1fffeffffff", "0") or
// capability names separated by spaces or "|" ("CAP_CHOWN CAP_KILL").
func ParseCaps(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return n, nil
	}
	var v uint64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '|' || r == ',' }) {
		bit, ok := capByName[f]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", f)
		}
		v |= 1 << bit
	}
	return v, nil
}
