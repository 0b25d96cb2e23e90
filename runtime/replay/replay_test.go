package replay

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/state/container"
)

type readEvent struct {
	Ev  event.Event
	Ctx event.ProcContext
}

func readAll(t *testing.T, text string) []readEvent {
	t.Helper()
	r := NewReader(strings.NewReader(text))
	var out []readEvent
	for {
		var re readEvent
		err := r.Next(&re.Ev, &re.Ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, re)
	}
}

const sampleTrace = `# a shell opens a file
{"ts": "2026-01-02T03:04:05.000000006Z", "type": "openat", "tid": 100, "res": 3, "args": {"dirfd": "AT_FDCWD", "name": "/etc/passwd", "flags": "O_RDONLY|O_CLOEXEC", "mode": 0}, "proc": {"ppid": 1, "comm": "bash", "exe": "/bin/bash", "args": ["-c", "cat"], "env": ["HOME=/root"], "cwd": "/root", "uid": 0, "gid": 0, "loginuid": -1, "tty": 34816, "cgroup": "/docker/` + dockerID + `", "cap_effective": "CAP_CHOWN CAP_KILL", "start": 5}}

{"ts": 1767323045000000007, "type": "connect", "tid": 101, "pid": 100, "args": {"res": 0, "fd": 4, "tuple": "10.0.0.1:5000->1.2.3.4:443"}}
{"ts": 8, "type": "execve", "tid": 100, "res": 0, "args": {"exe": "ls", "args": ["-l", "/tmp"], "filename": "/bin/ls", "env": {"base64": "SE9NRT0vAA=="}}}
{"ts": 9, "type": "read", "tid": 100, "args": {"res": 3, "fd": 0, "data": {"base64": "AAEC"}, "size": 3}}
{"ts": 10, "type": "procexit", "tid": 100, "res": 0, "args": {"status": 0, "sig": "SIGKILL"}}
`

const dockerID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestReaderDecodes(t *testing.T) {
	got := readAll(t, sampleTrace)
	if len(got) != 5 {
		t.Fatalf("read %d events, want 5", len(got))
	}
	open := got[0]
	if open.Ev.Type() != "openat" || open.Ev.Num != 1 || open.Ev.Tid != 100 || open.Ev.Pid != 100 ||
		open.Ev.Res != 3 || open.Ev.Ts != 1767323045000000006 {
		t.Errorf("openat header = num %d tid %d pid %d res %d ts %d", open.Ev.Num, open.Ev.Tid, open.Ev.Pid, open.Ev.Res, open.Ev.Ts)
	}
	if fl, _ := open.Ev.Uint("flags"); fl != event.OCloexec {
		t.Errorf("flags = %#o, want O_CLOEXEC", fl)
	}
	if d, _ := open.Ev.Int("dirfd"); d != event.AtFDCWD {
		t.Errorf("dirfd = %d", d)
	}
	if fd, _ := open.Ev.Int("fd"); fd != 3 {
		t.Errorf("fd param = %d, want the res 3", fd)
	}
	wantCtx := event.ProcContext{
		Known: event.KnownPPid | event.KnownComm | event.KnownExe | event.KnownArgs | event.KnownEnv | event.KnownCwd | event.KnownUID | event.KnownGID |
			event.KnownLoginUID | event.KnownTTY | event.KnownCgroups | event.KnownCaps | event.KnownStart,
		PPid: 1, Comm: "bash", Exe: "/bin/bash", Args: []string{"-c", "cat"}, Env: []string{"HOME=/root"},
		Cwd: "/root", LoginUID: 0xffffffff, TTY: 34816,
		Cgroups: []container.Cgroup{{Path: "/docker/" + dockerID}},
		Caps:    state.Caps{Effective: 1<<0 | 1<<5},
		Start:   5,
	}
	if d := cmp.Diff(wantCtx, open.Ctx); d != "" {
		t.Errorf("proc context (-want +got):\n%s", d)
	}
	conn := got[1]
	if conn.Ev.Pid != 100 || conn.Ev.Res != 0 || conn.Ctx.Present() {
		t.Errorf("connect: pid %d res %d proc %v", conn.Ev.Pid, conn.Ev.Res, conn.Ctx.Present())
	}
	tp := conn.Ev.Param("tuple")
	if tp == nil || tp.Client.String() != "10.0.0.1:5000" || tp.Server.String() != "1.2.3.4:443" || tp.Family != event.AFInet {
		t.Errorf("tuple = %+v", tp)
	}
	exec := got[2]
	if a := exec.Ev.Param("args"); a == nil || string(a.B) != "-l\x00/tmp\x00" {
		t.Errorf("execve args = %q", exec.Ev.Param("args").B)
	}
	if e := exec.Ev.Param("env"); e == nil || string(e.B) != "HOME=/\x00" {
		t.Errorf("execve env = %q", exec.Ev.Param("env").B)
	}
	if d := got[3].Ev.Param("data"); d == nil || !bytes.Equal(d.B, []byte{0, 1, 2}) {
		t.Errorf("read data = %v", got[3].Ev.Param("data"))
	}
	if s, _ := got[4].Ev.Uint("sig"); s != 9 {
		t.Errorf("procexit sig = %d", s)
	}
	if got[4].Ev.HasRes() {
		t.Error("procexit has no return value")
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad json", "\n\n{\"type\": ", `line 3: invalid JSON: unexpected EOF`},
		{"unknown key", `{"type": "openat", "tid": 1, "foo": 2}`, `line 1: foo: unknown key`},
		{"no type", `{"tid": 1}`, `line 1: type: missing`},
		{"bad type", `{"type": "opnat", "tid": 1}`, `line 1: type: unknown event type "opnat"`},
		{"no tid", `{"type": "openat"}`, `line 1: tid: missing`},
		{"tid string", `{"type": "openat", "tid": "x"}`, `line 1: tid: cannot use JSON string as int64`},
		{"bad ts", `{"type": "openat", "tid": 1, "ts": "yesterday"}`, `line 1: ts: "yesterday" is not an RFC 3339 time`},
		{"bad param", `{"type": "openat", "tid": 1, "args": {"nme": "/x"}}`, `line 1: args.nme: event openat has no parameter "nme"`},
		{"bad flags", "# c\n" + `{"type": "openat", "tid": 1, "args": {"flags": "O_RDONLY|O_NOPE"}}`, `line 2: args.flags: unknown flag "O_NOPE" for flags`},
		{"string for int", `{"type": "openat", "tid": 1, "args": {"fd": "three"}}`, `line 1: args.fd: "three" is not an integer`},
		{"int for string", `{"type": "openat", "tid": 1, "args": {"name": 3}}`, `line 1: args.name: 3 is not a string`},
		{"bad tuple", `{"type": "connect", "tid": 1, "args": {"tuple": "1.2.3.4:5"}}`, `line 1: args.tuple: "1.2.3.4:5" is not client->server`},
		{"bad addr", `{"type": "bind", "tid": 1, "args": {"addr": "nowhere:80"}}`, `line 1: args.addr: "nowhere:80" is not ip:port`},
		{"res disagrees", `{"type": "openat", "tid": 1, "res": 3, "args": {"fd": 4}}`, `line 1: res: 3 disagrees with args.fd 4`},
		{"bad caps", `{"type": "openat", "tid": 1, "proc": {"cap_effective": "CAP_FLY"}}`, `line 1: proc.cap_effective: unknown capability "CAP_FLY"`},
		{"bad cgroups", `{"type": "openat", "tid": 1, "proc": {"cgroups": ["nope"]}}`, `line 1: proc.cgroups: element 0: "nope" is not controllers=path`},
		{"proc unknown key", `{"type": "openat", "tid": 1, "proc": {"shell": "x"}}`, `line 1: shell: unknown key`},
		{"bad bytes", `{"type": "execve", "tid": 1, "args": {"args": 5}}`, `line 1: args.args: 5 is not a string or an array of strings`},
		{"two values", `{"type": "openat", "tid": 1} {}`, `line 1: more than one JSON value on the line`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in))
			var ev event.Event
			err := r.Next(&ev, &event.ProcContext{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err.Error(), tc.want)
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *LineError", err)
			}
		})
	}
}

func TestReaderContinuesAfterError(t *testing.T) {
	r := NewReader(strings.NewReader("{\"type\": \"nope\", \"tid\": 1}\n{\"type\": \"close\", \"tid\": 2, \"res\": 0}\n"))
	var ev event.Event
	if err := r.Next(&ev, nil); err == nil {
		t.Fatal("no error on line 1")
	}
	if err := r.Next(&ev, nil); err != nil || ev.Type() != "close" || r.Line() != 2 {
		t.Fatalf("line 2: %v, type %q, line %d", err, ev.Type(), r.Line())
	}
	if err := r.Next(&ev, nil); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	first := readAll(t, sampleTrace)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range first {
		var ctx *event.ProcContext
		if first[i].Ctx.Present() {
			ctx = &first[i].Ctx
		}
		if err := w.WriteContext(&first[i].Ev, ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	second := readAll(t, buf.String())
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.AddrPort{})}
	if d := cmp.Diff(first, second, opts); d != "" {
		t.Errorf("round trip (-first +second):\n%s\nwritten:\n%s", d, buf.String())
	}
	line := strings.SplitN(buf.String(), "\n", 2)[0]
	for _, want := range []string{`"flags":"O_RDONLY|O_CLOEXEC"`, `"dirfd":-100`, `"fd":3`, `"proc":{`, `"cap_effective":"0x21"`, `"loginuid":-1`} {
		if !strings.Contains(line, want) {
			t.Errorf("first line lacks %s:\n%s", want, line)
		}
	}
}

// The Writer describes a thread the first time it appears, from the
// state, so that the replay rebuilds it.
func TestWriterProcOnce(t *testing.T) {
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	state.ApplyProc(tab, 1, 10, 10, &event.ProcContext{Known: event.KnownPPid | event.KnownComm | event.KnownExe | event.KnownArgs | event.KnownCwd,
		PPid: 1, Comm: "sh", Exe: "/bin/sh", Args: []string{"-c", "true"}, Cwd: "/tmp"})
	var buf bytes.Buffer
	w := NewWriter(&buf)
	info := mustEvent(t, "close")
	for i := range 2 {
		var ev event.Event
		ev.Reset(info)
		ev.Ts, ev.Tid, ev.Pid = int64(i+2), 10, 10
		ev.SetRes(0)
		if err := w.Write(&ev, tab.Get(10)); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	evs := readAll(t, buf.String())
	if !evs[0].Ctx.Present() || evs[1].Ctx.Present() {
		t.Fatalf("proc present = %v, %v; want true, false\n%s", evs[0].Ctx.Present(), evs[1].Ctx.Present(), buf.String())
	}
	c := evs[0].Ctx
	if c.Comm != "sh" || c.Exe != "/bin/sh" || c.Cwd != "/tmp/" || c.PPid != 1 || !cmp.Equal(c.Args, []string{"-c", "true"}) {
		t.Errorf("proc = %+v", c)
	}
}

// TestResetAfterGivingUp reads, into one Event, a line that fills a
// parameter, a line of the same type that the fast decoder gives up on
// after filling parameters and the slow one rejects, and a line without
// those parameters: nothing of the first two may be left in the third.
func TestResetAfterGivingUp(t *testing.T) {
	text := `{"ts":1,"type":"openat","tid":5,"res":3,"args":{"dirfd":-100,"name":"/a","flags":"O_RDONLY"}}
{"ts":2,"type":"openat","tid":5,"res":3,"args":{"name":"/b","flags":"O_RDONLY","dirfd":"99999999999999999999"}}
{"ts":3,"type":"openat","tid":5,"res":4,"args":{}}
`
	r := NewReader(strings.NewReader(text))
	var ev event.Event
	var errs []string
	for {
		err := r.Next(&ev, nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) != 1 {
		t.Fatalf("errors %q, want one for line 2", errs)
	}
	var want event.Event
	want.Reset(ev.Info)
	want.Num, want.Ts, want.Tid, want.Pid = 3, 3, 5, 5
	want.SetRes(4)
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.AddrPort{})}
	if d := cmp.Diff(want, ev, opts); d != "" {
		t.Errorf("third event (-want +got):\n%s", d)
	}
}

// TestResetFields checks that Reset unsets parameters of every kind
// completely.
func TestResetFields(t *testing.T) {
	info, _ := catalog.EventByName("connect")
	ap := netip.MustParseAddrPort("10.0.0.1:80")
	for _, p := range []event.Param{
		{Set: true, I: -1, U: 2, S: "x", B: []byte("y")},
		{Set: true, Addr: ap},
		{Set: true, Client: ap},
		{Set: true, Server: ap},
		{Set: true, Family: event.AFUnix, S: "/run/sock"},
	} {
		var ev event.Event
		ev.Reset(info)
		ev.Params[1] = p
		ev.Reset(info)
		if d := cmp.Diff(event.Param{}, ev.Params[1], cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.AddrPort{})); d != "" {
			t.Errorf("after Reset of %+v (-want +got):\n%s", p, d)
		}
	}
}

func mustEvent(t *testing.T, name string) *catalog.Event {
	t.Helper()
	e, ok := catalog.EventByName(name)
	if !ok {
		t.Fatalf("no event %s", name)
	}
	return e
}
