package state

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolvePath(t *testing.T) {
	tests := []struct{ dir, p, want string }{
		{"/root", "a.txt", "/root/a.txt"},
		{"/root", "/etc/passwd", "/etc/passwd"},
		{"/root", "../etc/./passwd", "/etc/passwd"},
		{"/", "..", "/"},
		{"/a/b", "../../../../x", "/x"},
		{"/a", "b//c/", "/a/b/c"},
		{"/a", ".", "/a"},
		{"", "rel/x", "rel/x"},
		{"", "./rel/../x", "x"},
		{"/a", "", ""},
		{"/", "etc", "/etc"},
		{"//a//", "b", "/a/b"},
		{"/a", "...", "/a/..."},
		{"/a", "b/.hidden", "/a/b/.hidden"},
	}
	for _, tc := range tests {
		if got := ResolvePath(tc.dir, tc.p); got != tc.want {
			t.Errorf("ResolvePath(%q, %q) = %q, want %q", tc.dir, tc.p, got, tc.want)
		}
	}
}

// TestNeedsClean checks needsClean against path.Clean on paths built from
// every sequence of up to five pieces among slashes, dots and names.
func TestNeedsClean(t *testing.T) {
	pieces := []string{"/", ".", "..", "a", "bc", "...", ".x"}
	var walk func(p string, n int)
	walk = func(p string, n int) {
		if p != "" {
			// Clean keeps "." and leading ".." elements of relative
			// paths; needsClean may send those to it anyway.
			kept := p == "." || p == ".." || strings.HasPrefix(p, "../")
			if got, want := needsClean(p), path.Clean(p) != p; got != want && !(got && kept) {
				t.Errorf("needsClean(%q) = %v, want %v", p, got, want)
			}
			// Longer, so that the pieces fall at every place of the
			// eight-byte words needsClean reads.
			for _, pre := range []string{"/usr", "/usr/lib/x", "/usr/lib/x86_64-linux-gnu/a"} {
				q := pre + "/" + p
				if got, want := needsClean(q), path.Clean(q) != q; got != want {
					t.Errorf("needsClean(%q) = %v, want %v", q, got, want)
				}
				q = p + pre + "/abcdefgh"
				kept := q == "." || q == ".." || strings.HasPrefix(q, "../")
				if got, want := needsClean(q), path.Clean(q) != q; got != want && !(got && kept) {
					t.Errorf("needsClean(%q) = %v, want %v", q, got, want)
				}
			}
		}
		if n == 0 {
			return
		}
		for _, s := range pieces {
			walk(p+s, n-1)
		}
	}
	walk("", 5)
}

func TestDirFilename(t *testing.T) {
	tests := []struct{ p, dir, file string }{
		{"/etc/passwd", "/etc", "passwd"},
		{"/passwd", "/", "passwd"},
		{"/", "/", ""},
		{"rel", "", "rel"},
		{"", "", ""},
		{"/a/b/c", "/a/b", "c"},
	}
	for _, tc := range tests {
		if d, f := Dir(tc.p), Filename(tc.p); d != tc.dir || f != tc.file {
			t.Errorf("Dir, Filename(%q) = %q, %q, want %q, %q", tc.p, d, f, tc.dir, tc.file)
		}
	}
}

func TestFDTypes(t *testing.T) {
	tests := []struct {
		typ  FDType
		name string
		char byte
	}{
		{FDFile, "file", 'f'}, {FDDirectory, "directory", 'd'}, {FDIPv4, "ipv4", '4'}, {FDIPv6, "ipv6", '6'},
		{FDUnix, "unix", 'u'}, {FDPipe, "pipe", 'p'}, {FDEvent, "event", 'e'}, {FDSignalfd, "signalfd", 's'},
		{FDEventPoll, "eventpoll", 'l'}, {FDInotify, "inotify", 'i'}, {FDTimerfd, "timerfd", 't'},
		{FDNetlink, "netlink", 'n'}, {FDMemfd, "memfd", 'm'}, {FDBPF, "bpf", 'b'}, {FDIOUring, "io_uring", 'r'},
		{FDUnknown, "<NA>", 'o'}, {FDType(200), "<NA>", 'o'},
	}
	for _, tc := range tests {
		if tc.typ.String() != tc.name || tc.typ.Char() != tc.char {
			t.Errorf("%d: %q %c, want %q %c", tc.typ, tc.typ.String(), tc.typ.Char(), tc.name, tc.char)
		}
	}
}

type fdView struct {
	Type           string
	Name, NameRaw  string
	Dir, File      string
	Flags          uint32
	L4             string
	Client, Server string
	IsServer       bool
	Connected      bool
	NameChanged    bool
}

func fview(f *FD) *fdView {
	if f == nil {
		return nil
	}
	v := &fdView{Type: f.Type.String(), Name: f.Name(), NameRaw: f.NameRaw, Dir: f.Directory(), File: f.Filename(),
		Flags: f.Flags, L4: f.L4Proto.String(), IsServer: f.Server, Connected: f.Connected, NameChanged: f.NameChanged}
	if f.Client().IsValid() {
		v.Client = f.Client().String()
	}
	if f.ServerAddr().IsValid() {
		v.Server = f.ServerAddr().String()
	}
	return v
}

func TestOpenResolution(t *testing.T) {
	tb := tree(t) // curl (300) in /tmp/work
	tb.Open(300, 3, "/etc", ODirectory, 0, AtFDCWD)
	tests := []struct {
		name  string
		path  string
		dirfd int64
		want  *fdView
	}{
		{"relative to cwd", "out.txt", AtFDCWD, &fdView{Type: "file", Name: "/tmp/work/out.txt", NameRaw: "out.txt", Dir: "/tmp/work", File: "out.txt"}},
		{"dot dot", "../x/../y", AtFDCWD, &fdView{Type: "file", Name: "/tmp/y", NameRaw: "../x/../y", Dir: "/tmp", File: "y"}},
		{"absolute ignores dirfd", "//etc//shadow", 3, &fdView{Type: "file", Name: "/etc/shadow", NameRaw: "//etc//shadow", Dir: "/etc", File: "shadow"}},
		{"relative to dirfd", "passwd", 3, &fdView{Type: "file", Name: "/etc/passwd", NameRaw: "passwd", Dir: "/etc", File: "passwd"}},
		{"unknown dirfd", "passwd", 99, &fdView{Type: "file", Name: "passwd", NameRaw: "passwd", File: "passwd"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fd := int64(10 + i)
			tb.Open(300, fd, tc.path, 0, 0, tc.dirfd)
			if diff := cmp.Diff(tc.want, fview(tb.FD(300, fd))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := tb.ResolveAt(300, 3, "group"); got != "/etc/group" {
		t.Errorf("ResolveAt = %q", got)
	}
	if d := fview(tb.FD(300, 3)); d.Type != "directory" || d.Dir != "/etc" || d.File != "" {
		t.Errorf("directory fd = %+v", d)
	}
	tb.Fchdir(300, 3)
	if got := tb.Get(300).Cwd(); got != "/etc/" {
		t.Errorf("cwd after fchdir = %q", got)
	}
	tb.Fchdir(300, 99) // unknown: no change
	if got := tb.Get(300).Cwd(); got != "/etc/" {
		t.Errorf("cwd after fchdir(unknown) = %q", got)
	}
}

// TestFDNumbers checks descriptors on both sides of the table's dense
// range, reopened numbers, and closed FDs reused for other numbers.
func TestFDNumbers(t *testing.T) {
	tb := tree(t)
	fds := func() []string {
		var out []string
		tb.Get(300).Proc().FDs().Each(func(f *FD) bool {
			out = append(out, strconv.FormatInt(f.Num, 10)+"="+f.Name())
			return true
		})
		slices.Sort(out)
		return out
	}
	for _, n := range []int64{0, 3, maxLowFD - 1, maxLowFD, 70000} {
		tb.Open(300, n, "f"+strconv.FormatInt(n, 10), 0, 0, AtFDCWD)
	}
	tb.Open(300, 3, "again", 0, 0, AtFDCWD) // reopened without a close
	tb.Open(300, 0, "z", OCloexec, 0, AtFDCWD).Ino = 9
	tb.Close(300, 0)
	tb.Close(300, 70000)
	tb.Close(300, 12) // not open
	tb.Open(300, 5000, "g", 0, 0, AtFDCWD)
	tb.Open(300, 4, "h", 0, 0, AtFDCWD)
	want := []string{"1023=/tmp/work/f1023", "1024=/tmp/work/f1024", "3=/tmp/work/again", "4=/tmp/work/h", "5000=/tmp/work/g"}
	if d := cmp.Diff(want, fds()); d != "" {
		t.Errorf("descriptors (-want +got):\n%s", d)
	}
	if n := tb.Get(300).Proc().FDs().Len(); n != len(want) {
		t.Errorf("Len = %d, want %d", n, len(want))
	}
	if f := tb.FD(300, 4); f.Flags != 0 || f.Ino != 0 || f.NameChanged {
		t.Errorf("a reused FD kept old fields: %+v", f)
	}
}

func TestDupClose(t *testing.T) {
	tb := tree(t)
	tb.Open(300, 3, "a", OCloexec, 0, AtFDCWD)
	tb.Open(300, 4, "b", 0, 0, AtFDCWD)
	tb.Dup(300, 3, 4, false) // dup2 over an open fd
	if got := tb.FD(300, 4); got == nil || got.Name() != "/tmp/work/a" || got.Flags&OCloexec != 0 || got.Num != 4 {
		t.Errorf("dup2 result = %+v", got)
	}
	tb.Dup(300, 3, 5, true)
	if got := tb.FD(300, 5); got == nil || got.Flags&OCloexec == 0 {
		t.Errorf("dup3 O_CLOEXEC result = %+v", got)
	}
	tb.Close(300, 3)
	if tb.FD(300, 3) != nil {
		t.Errorf("fd 3 open after close")
	}
	if tb.Dup(300, 3, 6, false) != nil || tb.FD(300, 6) != nil {
		t.Errorf("dup of a closed fd made a descriptor")
	}
	// Exec closes close-on-exec descriptors only.
	tb.Exec(40, 300, "/bin/cat", []string{"cat"}, nil, ExecInfo{})
	if tb.FD(300, 5) != nil || tb.FD(300, 4) == nil {
		t.Errorf("after exec: fd5=%v fd4=%v, want fd 5 closed, fd 4 open", tb.FD(300, 5), tb.FD(300, 4))
	}
	tb.Open(300, 7, "c", 0, 0, AtFDCWD)
	tb.Open(300, 9, "d", 0, 0, AtFDCWD)
	tb.CloseRange(300, 5, 8, 4) // CLOSE_RANGE_CLOEXEC
	if f := tb.FD(300, 7); f == nil || f.Flags&OCloexec == 0 {
		t.Errorf("close_range cloexec: %+v", f)
	}
	tb.CloseRange(300, 5, ^uint64(0), 0)
	if tb.FD(300, 7) != nil || tb.FD(300, 9) != nil || tb.FD(300, 4) == nil {
		t.Errorf("close_range left %d fds", tb.Get(300).Proc().FDs().Len())
	}
}

func TestCloneFiles(t *testing.T) {
	tb := tree(t)
	tb.Open(300, 3, "a", 0, 0, AtFDCWD)
	shared := tb.Fork(40, 300, 400, 400, CloneFiles)
	copied := tb.Fork(41, 300, 401, 401, 0)
	tb.Open(300, 4, "b", 0, 0, AtFDCWD)
	if shared.FD(4) == nil {
		t.Errorf("CLONE_FILES child does not see the parent's new fd")
	}
	if copied.FD(4) != nil {
		t.Errorf("copied table sees the parent's new fd")
	}
	if copied.FD(3) == nil || copied.FD(3) == tb.FD(300, 3) {
		t.Errorf("copied table must have its own copy of fd 3")
	}
	tb.Close(401, 3)
	if tb.FD(300, 3) == nil {
		t.Errorf("close in the copy closed the parent's fd")
	}
	// Exec in a process sharing its table unshares it before closing
	// close-on-exec descriptors.
	tb.Open(300, 6, "e", OCloexec, 0, AtFDCWD)
	tb.Exec(42, 400, "/bin/true", []string{"true"}, nil, ExecInfo{})
	if tb.FD(300, 6) == nil {
		t.Errorf("exec in the CLONE_FILES child closed the parent's O_CLOEXEC fd")
	}
	if shared.FD(6) != nil {
		t.Errorf("exec kept an O_CLOEXEC fd")
	}
	tb.Open(300, 5, "c", 0, 0, AtFDCWD)
	if shared.FD(5) != nil {
		t.Errorf("table still shared after exec")
	}
	third := tb.Fork(43, 300, 402, 402, CloneFiles)
	tb.Unshare(402, CloneFiles)
	tb.Open(300, 7, "g", 0, 0, AtFDCWD)
	if third.FD(7) != nil || third.FD(5) == nil {
		t.Errorf("unshare: fd 7 = %v, fd 5 = %v, want a private copy", third.FD(7), third.FD(5))
	}
	if refs := tb.Get(300).Proc().FDs().refs; refs != 1 {
		t.Errorf("parent table refs = %d, want 1", refs)
	}
}

func TestSockets(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tb := tree(t)
	tb.Socket(300, 3, 2, 1|SockCloexec, 0)
	tb.Connect(300, 3, netip.AddrPortFrom(lo, 5555), netip.AddrPortFrom(lo, 8080))
	tb.Socket(300, 4, 10, 2, 0)
	tb.Connect(300, 4, netip.MustParseAddrPort("[::1]:4000"), netip.MustParseAddrPort("[::1]:53"))
	tb.Connect(300, 4, netip.MustParseAddrPort("[::1]:4000"), netip.MustParseAddrPort("[::1]:54"))
	tb.Socket(300, 5, 2, 1, 6)
	tb.Bind(300, 5, netip.AddrPortFrom(netip.IPv4Unspecified(), 8080))
	tb.Listen(300, 5)
	tb.Accept(300, 5, 6, netip.AddrPortFrom(lo, 8080), netip.AddrPortFrom(lo, 40000))
	tb.Socket(300, 7, 1, 1, 0)
	tb.ConnectUnix(300, 7, "/var/run/docker.sock")
	tb.Socket(300, 8, 2, 2, 1)
	tb.Socket(300, 9, 2, 3, 255)
	tb.Socket(300, 10, 16, 3, 0)
	tb.Pipe(300, 11, 12, 4242, 0)
	tb.Memfd(300, 13, "payload", 1)
	tb.Add(300, 14, FDEventPoll, "", 0)
	tb.Connect(300, 15, netip.AddrPortFrom(lo, 1), netip.AddrPortFrom(lo, 2)) // never seen socket()
	// A descriptor that held a file (its close was lost) becomes a socket
	// with nothing left of the file.
	tb.Open(300, 16, "/etc/hosts", OCloexec|1, 0o644, AtFDCWD)
	tb.Connect(300, 16, netip.AddrPortFrom(lo, 3), netip.AddrPortFrom(lo, 4))
	want := map[int64]*fdView{
		3:  {Type: "ipv4", Name: "127.0.0.1:5555->127.0.0.1:8080", Flags: OCloexec, L4: "tcp", Client: "127.0.0.1:5555", Server: "127.0.0.1:8080", Connected: true},
		4:  {Type: "ipv6", Name: "::1:4000->::1:54", L4: "udp", Client: "[::1]:4000", Server: "[::1]:54", Connected: true, NameChanged: true},
		5:  {Type: "ipv4", Name: "0.0.0.0:8080", L4: "tcp", Server: "0.0.0.0:8080", IsServer: true},
		6:  {Type: "ipv4", Name: "127.0.0.1:40000->127.0.0.1:8080", L4: "tcp", Client: "127.0.0.1:40000", Server: "127.0.0.1:8080", IsServer: true, Connected: true},
		7:  {Type: "unix", Name: "/var/run/docker.sock", NameRaw: "/var/run/docker.sock", Connected: true},
		8:  {Type: "ipv4", L4: "icmp"},
		9:  {Type: "ipv4", L4: "raw"},
		10: {Type: "netlink"},
		11: {Type: "pipe", Name: "pipe:[4242]", NameRaw: "pipe:[4242]"},
		12: {Type: "pipe", Name: "pipe:[4242]", NameRaw: "pipe:[4242]"},
		13: {Type: "memfd", Name: "memfd:payload", NameRaw: "memfd:payload", File: "memfd:payload", Flags: OCloexec},
		14: {Type: "eventpoll"},
		15: {Type: "ipv4", Name: "127.0.0.1:1->127.0.0.1:2", L4: "tcp", Client: "127.0.0.1:1", Server: "127.0.0.1:2", Connected: true},
		16: {Type: "ipv4", Name: "127.0.0.1:3->127.0.0.1:4", L4: "tcp", Client: "127.0.0.1:3", Server: "127.0.0.1:4", Connected: true},
	}
	got := map[int64]*fdView{}
	tb.Get(300).Proc().FDs().Each(func(f *FD) bool { got[f.Num] = fview(f); return true })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Accept on a unix listener copies its path.
	tb.BindUnix(300, 7, "/run/x.sock")
	if f := tb.Accept(300, 7, 20, netip.AddrPort{}, netip.AddrPort{}); f == nil || f.Type != FDUnix || f.Name() != "/run/x.sock" || !f.Server {
		t.Errorf("unix accept = %+v", f)
	}
}

func TestFDOpsOnUnknownThread(t *testing.T) {
	tb := newTestTable(nil)
	if tb.Open(5, 3, "x", 0, 0, AtFDCWD) != nil || tb.Socket(5, 3, 2, 1, 0) != nil ||
		tb.Connect(5, 3, netip.AddrPort{}, netip.AddrPort{}) != nil || tb.FD(5, 3) != nil ||
		tb.Dup(5, 1, 2, false) != nil || tb.Accept(5, 1, 2, netip.AddrPort{}, netip.AddrPort{}) != nil {
		t.Errorf("fd operation on an unknown thread returned a descriptor")
	}
	tb.Close(5, 3)
	tb.CloseRange(5, 0, 10, 0)
	tb.Pipe(5, 3, 4, 0, 0)
	if tb.Len() != 0 {
		t.Errorf("fd operations created threads")
	}
}

// TestConnectNameLazy: a connect builds its fd.name only when asked for;
// the name, its appended form and NameChanged are what an eager name
// gives, and a connect allocates nothing.
func TestConnectNameLazy(t *testing.T) {
	tb := tree(t)
	tb.Socket(300, 5, afInet, sockStream, 0)
	a := netip.MustParseAddrPort("10.0.0.5:40000")
	b := netip.MustParseAddrPort("10.0.0.9:80")
	c := netip.MustParseAddrPort("[::ffff:10.0.0.9]:81")
	if n := testing.AllocsPerRun(10, func() { tb.Connect(300, 5, a, b) }); n != 0 {
		t.Errorf("Connect: %v allocations", n)
	}
	f := tb.FD(300, 5)
	if f.NameChanged {
		t.Error("NameChanged after a connect to the same address pair")
	}
	if got := string(f.AppendName(nil)); got != "10.0.0.5:40000->10.0.0.9:80" {
		t.Errorf("AppendName = %q", got)
	}
	if got := f.Name(); got != "10.0.0.5:40000->10.0.0.9:80" {
		t.Errorf("Name = %q", got)
	}
	tb.Connect(300, 5, a, c)
	if got := f.Name(); got != "10.0.0.5:40000->10.0.0.9:81" || !f.NameChanged {
		t.Errorf("after a second connect: Name = %q, NameChanged = %v", got, f.NameChanged)
	}
	tb.Connect(300, 5, a, c)
	if f.NameChanged {
		t.Error("NameChanged after a connect to the same pair again")
	}
	// A file's descriptor connected (its open seen, its close not)
	// becomes a new socket, whose empty name does not count as changed,
	// as a socket's that had none.
	tb.Open(300, 6, "/tmp/x->y", 0, 0, AtFDCWD)
	tb.Open(300, 7, "/tmp/x", 0, 0, AtFDCWD)
	tb.Socket(300, 8, afInet, sockStream, 0)
	for fd, want := range map[int64]bool{6: false, 7: false, 8: false} {
		if f := tb.Connect(300, fd, a, b); f == nil || f.NameChanged != want || f.Name() != "10.0.0.5:40000->10.0.0.9:80" {
			t.Errorf("connect on fd %d: %+v, want NameChanged %v", fd, f, want)
		}
	}
}

// TestTupleKey: two addresses have equal tupleKeys exactly when
// appendAddrPort gives them the same text, so that Connect may compare
// keys instead of texts for NameChanged.
func TestTupleKey(t *testing.T) {
	var aps []netip.AddrPort
	for _, a := range []string{"10.0.0.9", "::ffff:10.0.0.9", "0.0.0.0", "::ffff:0.0.0.0", "::", "::1", "fe80::1",
		"fe80::1%eth0", "fe80::1%eth1", "64:ff9b::a00:9", "::a00:9", "1::", "1::8"} {
		for _, p := range []uint16{0, 8, 80, 800, 65535} {
			aps = append(aps, netip.AddrPortFrom(netip.MustParseAddr(a), p))
		}
	}
	aps = append(aps, netip.AddrPort{}, netip.AddrPortFrom(netip.Addr{}, 80))
	zone := 0
	for _, x := range aps {
		for _, y := range aps {
			kx, ok1 := tupleKey(x)
			ky, ok2 := tupleKey(y)
			if !ok1 || !ok2 {
				zone++
				continue
			}
			sameText := string(appendAddrPort(nil, x)) == string(appendAddrPort(nil, y))
			if (kx == ky) != sameText {
				t.Errorf("%v and %v: keys equal %v, texts equal %v", x, y, kx == ky, sameText)
			}
		}
	}
	if zone == 0 {
		t.Error("no address with a zone was tried")
	}
	// Connect's NameChanged from keys is the one from texts.
	tb := tree(t)
	tb.Socket(300, 5, afInet, sockStream, 0)
	for i, x := range aps {
		y := aps[(i*7+3)%len(aps)]
		f := tb.FD(300, 5)
		before := string(f.AppendName(nil))
		tb.Connect(300, 5, x, y)
		want := before != "" && before != string(appendTuple(nil, x, y))
		if f.NameChanged != want {
			t.Errorf("connect %v->%v after %q: NameChanged = %v, want %v", x, y, before, f.NameChanged, want)
		}
	}
}

// TestOpenCleanMemo: Open remembers absolute paths found clean by their
// string; the same string again, an equal string elsewhere in memory, a
// prefix of it (same address, shorter) and paths that need cleaning all
// give the cleaned name.
func TestOpenCleanMemo(t *testing.T) {
	tb := tree(t)
	clean := "/usr/lib/libc.so.6"
	other := strings.Clone(clean)
	dirty := "/usr/lib/../lib//libc.so.6"
	for round := range 3 {
		for i, tc := range []struct{ path, want string }{
			{clean, clean}, {other, clean}, {clean[:8], "/usr/lib"}, {clean, clean}, {clean[:9], "/usr/lib"}, {dirty, clean}, {dirty[:9], "/usr/lib"},
			{"/usr/lib/", "/usr/lib"}, {clean + "/.", clean},
		} {
			fd := int64(20 + i)
			tb.Open(300, fd, tc.path, 0, 0, AtFDCWD)
			if got := tb.FD(300, fd).Name(); got != tc.want {
				t.Errorf("round %d: open %q: fd.name %q, want %q", round, tc.path, got, tc.want)
			}
		}
	}
}
