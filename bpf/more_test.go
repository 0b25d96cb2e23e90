package bpf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestPtraceDimension(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	bit := MaskOf(77)
	setTables(t, c, &Tables{
		Gate:           map[int]Mask{sysPtrace: bit},
		DimsPerSyscall: map[int]Dim{sysPtrace: DimPtrace},
		Arg0:           map[uint32]Mask{unix.PTRACE_PEEKUSR: bit, unix.PTRACE_SEIZE: {}},
	}, ModeFull)
	const noSuchPid = 0x7ffffff0 // every request fails with ESRCH
	for _, req := range []int{unix.PTRACE_PEEKUSR, unix.PTRACE_SEIZE, unix.PTRACE_ATTACH} {
		unix.Syscall6(unix.SYS_PTRACE, uintptr(req), noSuchPid, 0, 0, 0, 0)
	}
	var got []string
	for _, r := range drain(t, c, 200*time.Millisecond, mine(sysPtrace)) {
		got = append(got, fmt.Sprintf("request=%d ret=%d", r.Args[0], r.Ret))
	}
	want := []string{fmt.Sprintf("request=%d ret=%d", unix.PTRACE_PEEKUSR, -int(unix.ESRCH))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ptrace records (-want +got):\n%s", diff)
	}
}

func TestOpenFlagsDimension(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	bit := MaskOf(5)
	var classes [16]Mask
	classes[OpenWrite|OpenCreate] = bit
	classes[OpenRead|OpenWrite|OpenTrunc] = bit
	setTables(t, c, &Tables{
		Gate:           map[int]Mask{sysOpenat: bit, unix.SYS_OPEN: bit},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimOpenFlags, unix.SYS_OPEN: DimOpenFlags},
		OpenFlags:      classes,
	}, ModeFull)
	path := filepath.Join(t.TempDir(), "f")
	pathp, err := unix.BytePtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Kind  uint32
		Flags uint64
		Dirfd int32
		Path  string
	}
	tests := []struct {
		name  string
		open  bool // open(2) instead of openat(2)
		flags int
		sent  bool
	}{
		{"create write", false, unix.O_WRONLY | unix.O_CREAT, true},
		{"read only", false, unix.O_RDONLY, false},
		{"write only", false, unix.O_WRONLY, false},
		{"read write trunc", false, unix.O_RDWR | unix.O_TRUNC, true},
		{"open create write", true, unix.O_WRONLY | unix.O_CREAT, true},
		{"open read", true, unix.O_RDONLY, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind := uint32(sysOpenat)
			var fd uintptr
			var errno unix.Errno
			if tc.open {
				kind = unix.SYS_OPEN
				fd, _, errno = unix.Syscall(unix.SYS_OPEN, uintptr(unsafe.Pointer(pathp)), uintptr(tc.flags), 0o600)
			} else {
				fd, errno = openat(pathp, tc.flags)
			}
			if errno != 0 {
				t.Fatal(errno)
			}
			unix.Close(int(fd))
			var want []rec
			if tc.sent {
				want = []rec{{kind, uint64(tc.flags), unix.AT_FDCWD, path}}
			}
			var got []rec
			for _, r := range drain(t, c, 200*time.Millisecond, mine(int(kind))) {
				o, _ := r.Open()
				got = append(got, rec{r.Kind, o.Flags, o.Dirfd, str(r.Path())})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func openat(path *byte, flags int) (uintptr, unix.Errno) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, ^uintptr(99), uintptr(unsafe.Pointer(path)), uintptr(flags), 0o600, 0, 0)
	return fd, errno
}

func TestSocketAddresses(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	const sysBind, sysListen, sysAccept4 = 49, 50, 288
	bit := MaskOf(0)
	setTables(t, c, &Tables{Gate: map[int]Mask{sysBind: bit, sysListen: bit, sysAccept4: bit}}, ModeEvttype)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	var got []string
	for _, r := range drain(t, c, 200*time.Millisecond, func(r *Record) bool {
		return r.Tgid == uint32(unix.Getpid()) && (r.Kind == sysBind || r.Kind == sysListen || r.Kind == sysAccept4)
	}) {
		remote, _ := r.Sockaddr()
		local, _ := r.LocalAddr()
		if r.Kind == sysBind && inet(remote) == "?" {
			continue // the net package's IPv6 probes
		}
		got = append(got, fmt.Sprintf("%d remote=%s local=%s unknown=%v", r.Kind, inet(remote), inet(local), r.Flags&FlagSockUnknown != 0))
	}
	addr, client := ln.Addr().String(), conn.LocalAddr().String()
	want := []string{
		fmt.Sprintf("%d remote=127.0.0.1:0 local=%s unknown=false", sysBind, addr),
		fmt.Sprintf("%d remote=? local=%s unknown=false", sysListen, addr),
		fmt.Sprintf("%d remote=%s local=%s unknown=false", sysAccept4, client, addr),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestRead(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	setTables(t, c, &Tables{}, ModeFull)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if r, err := c.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing to read = %v, %v; want context.DeadlineExceeded", r, err)
	}
	setTables(t, c, &Tables{Gate: map[int]Mask{sysGetppid: MaskOf(1)}}, ModeFull)
	unix.Getppid()
	for {
		r, err := c.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Tgid == uint32(unix.Getpid()) && r.Kind == sysGetppid {
			if r.Ret != int64(unix.Getppid()) || r.Mask != MaskOf(1) || time.Since(r.Time()).Abs() > time.Minute {
				t.Errorf("getppid record: ret %d mask %v time %v", r.Ret, r.Mask, r.Time())
			}
			break
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
	if err := c.SetTables(&Tables{}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetTables after Close = %v, want ErrClosed", err)
	}
}

// TestDimUsed checks the slots that let the kernel skip a trie lookup
// (FALCOC_SLOT_PATH_USED, FALCOC_SLOT_SUFFIX_USED): with the slots the
// loader writes, every open ends with the AND of all its tables, skipped
// lookups included; with a suffix slot forced to "no clause narrowed",
// the suffix lookup is skipped, which shows the skip is taken.
func TestDimUsed(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	pathOnly, suffixOnly, both := MaskOf(1), MaskOf(2), MaskOf(3)
	all := pathOnly.Or(suffixOnly).Or(both)
	tables := func(gate Mask) *Tables {
		return &Tables{
			Gate:           map[int]Mask{sysOpenat: gate},
			DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimSuffix},
			// pathOnly: /etc/hostname only; suffixOnly passes every path
			// lookup; both: /etc/ prefix and the suffix /passwd.
			PathExact:   map[string]Mask{"/etc/hostname": all},
			PathPrefix:  map[string]Mask{"/etc/": suffixOnly.Or(both)},
			PathDefault: suffixOnly, PathUnknown: suffixOnly,
			// suffixOnly: /hostname only; pathOnly passes every suffix
			// lookup.
			Suffix:        map[string]Mask{"/hostname": pathOnly.Or(suffixOnly), "/passwd": pathOnly.Or(both)},
			SuffixDefault: pathOnly, SuffixUnknown: pathOnly,
		}
	}
	for _, tc := range []struct {
		gate Mask
		path string
		want Mask // the AND of the gate and both tables; zero: dropped
	}{
		{all, "/etc/hostname", pathOnly.Or(suffixOnly)},
		{all, "/etc/passwd", both},
		{all, "/etc/group", Mask{}},
		{pathOnly, "/etc/hostname", pathOnly},     // suffix skipped
		{pathOnly, "/etc/passwd", Mask{}},         // dropped by the path
		{suffixOnly, "/etc/hostname", suffixOnly}, // path skipped
		{suffixOnly, "/etc/passwd", Mask{}},       // dropped by the suffix
		{both, "/etc/passwd", both},
	} {
		setTables(t, c, tables(tc.gate), ModeFull)
		openClose(t, tc.path, unix.O_RDONLY)
		recs := drain(t, c, 200*time.Millisecond, mine(sysOpenat))
		var got Mask
		for _, r := range recs {
			got = got.Or(r.Mask)
		}
		if got != tc.want {
			t.Errorf("gate %v, %s: mask %v (%d records), want %v", tc.gate, tc.path, got, len(recs), tc.want)
		}
	}

	// An unknown path (with "../") takes the unknown masks: the path
	// one keeps suffixOnly, the suffix one drops it.
	setTables(t, c, tables(suffixOnly), ModeFull)
	openClose(t, "/etc/../etc/passwd", unix.O_RDONLY)
	if recs := drain(t, c, 200*time.Millisecond, mine(sysOpenat)); len(recs) != 0 {
		t.Errorf("/etc/../etc/passwd: %d records, want it dropped by the suffix table's unknown mask", len(recs))
	}
	// The suffix slot of the active set says no clause is narrowed: the
	// unknown path's suffix judgement is skipped and the open is sent (a
	// known path's lookup is decided by its bucket: TestLPMUsedLive).
	key := c.set*numSlots + slotSuffixUsed
	if err := c.objs.Dflt.Update(key, c.appendMask(nil, Mask{}), 0); err != nil {
		t.Fatal(err)
	}
	openClose(t, "/etc/../etc/passwd", unix.O_RDONLY)
	if recs := drain(t, c, 200*time.Millisecond, mine(sysOpenat)); len(recs) == 0 {
		t.Error("suffix slot forced empty: /etc/../etc/passwd dropped, so the suffix judgement was not skipped")
	}
}

func TestDimUsedMask(t *testing.T) {
	def, unknown := MaskOf(1).Or(MaskOf(2)).Or(MaskOf(5)), MaskOf(1).Or(MaskOf(2)).Or(MaskOf(6))
	got := dimUsed(def, unknown, map[string]Mask{"/a": MaskOf(1).Or(MaskOf(2))}, map[string]Mask{"/b": MaskOf(1).Or(MaskOf(3))})
	// Only bit 1 is set everywhere.
	want := AllClauses
	want[0] &^= 1 << 1
	if got != want {
		t.Errorf("dimUsed = %x, want %x", got, want)
	}
	if got := dimUsed(Mask{}, Mask{}); got != AllClauses {
		t.Errorf("no table: %x, want every clause used", got)
	}
}
