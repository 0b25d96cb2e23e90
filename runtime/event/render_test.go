package event

import (
	"net/netip"
	"testing"
)

type fakeResolver struct{}

func (fakeResolver) FD(tid, fd int64) (byte, string, bool) {
	if tid == 7 && fd == 3 {
		return 'f', "/etc/passwd", true
	}
	return 0, "", false
}

func (fakeResolver) Comm(tid int64) (string, bool) {
	if tid == 42 {
		return "bash", true
	}
	return "", false
}

func TestRender(t *testing.T) {
	set := func(ev *Event, name string, f func(p *Param)) {
		i, ok := ev.ParamIndex(name)
		if !ok {
			t.Fatalf("%s has no %s", ev.Type(), name)
		}
		ev.Params[i].Set = true
		f(&ev.Params[i])
	}
	var open Event
	open.Reset(mustEvent(t, "openat"))
	open.Tid = 7
	open.SetRes(3)
	set(&open, "dirfd", func(p *Param) { p.I = AtFDCWD })
	set(&open, "name", func(p *Param) { p.S = "/etc/passwd" })
	set(&open, "flags", func(p *Param) { p.U = OCloexec })
	set(&open, "mode", func(p *Param) { p.U = 0 })

	var failed Event
	failed.Reset(mustEvent(t, "openat"))
	failed.Tid = 7
	failed.SetRes(-2)
	set(&failed, "dirfd", func(p *Param) { p.I = 5 })

	var conn Event
	conn.Reset(mustEvent(t, "connect"))
	conn.Tid = 7
	conn.SetRes(-111)
	set(&conn, "tuple", func(p *Param) {
		p.Family = AFInet
		p.Client = netip.MustParseAddrPort("10.0.0.1:5000")
		p.Server = netip.MustParseAddrPort("1.2.3.4:80")
	})
	set(&conn, "addr", func(p *Param) { p.Family, p.S = AFUnix, "/run/x.sock" })

	var kill Event
	kill.Reset(mustEvent(t, "kill"))
	set(&kill, "pid", func(p *Param) { p.I = 42 })
	set(&kill, "sig", func(p *Param) { p.U = 9 })

	tests := []struct {
		name string
		ev   *Event
		arg  string
		want string
	}{
		{"fd known", &open, "fd", "<f>/etc/passwd"},
		{"dirfd cwd", &open, "dirfd", "AT_FDCWD"},
		{"flags", &open, "flags", "O_RDONLY|O_CLOEXEC"},
		{"path", &open, "name", "/etc/passwd"},
		{"uint", &open, "mode", "0"},
		{"fd failed", &failed, "fd", "ENOENT"},
		{"dirfd unknown", &failed, "dirfd", "5"},
		{"errno", &conn, "res", "ECONNREFUSED"},
		{"tuple", &conn, "tuple", "10.0.0.1:5000->1.2.3.4:80"},
		{"unix addr", &conn, "addr", "/run/x.sock"},
		{"pid", &kill, "pid", "bash"},
		{"signal", &kill, "sig", "SIGKILL"},
	}
	for _, tc := range tests {
		i, _ := tc.ev.ParamIndex(tc.arg)
		if got := string(tc.ev.AppendArg(nil, i, fakeResolver{})); got != tc.want {
			t.Errorf("%s: evt.arg.%s = %q, want %q", tc.name, tc.arg, got, tc.want)
		}
	}

	args := []struct {
		ev   *Event
		r    Resolver
		want string
	}{
		{&open, fakeResolver{}, "fd=3(<f>/etc/passwd) dirfd=-100(AT_FDCWD) name=/etc/passwd flags=524288(O_RDONLY|O_CLOEXEC) mode=0"},
		{&open, nil, "fd=3 dirfd=-100(AT_FDCWD) name=/etc/passwd flags=524288(O_RDONLY|O_CLOEXEC) mode=0"},
		{&failed, nil, "fd=-2(ENOENT) dirfd=5"},
		{&conn, nil, "res=-111(ECONNREFUSED) tuple=10.0.0.1:5000->1.2.3.4:80 addr=/run/x.sock"},
	}
	for _, tc := range args {
		if got := string(tc.ev.AppendArgs(nil, tc.r)); got != tc.want {
			t.Errorf("evt.args = %q\nwant       %q", got, tc.want)
		}
	}
}

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{{-2, "ENOENT"}, {13, "EACCES"}, {0, ""}, {-4000, "E4000"}} {
		if got := ErrnoName(tc.in); got != tc.want {
			t.Errorf("ErrnoName(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if v, ok := ParseErrno("EPERM"); !ok || v != 1 {
		t.Errorf("ParseErrno(EPERM) = %d, %v", v, ok)
	}
}
