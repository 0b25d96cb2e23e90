package live

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

func sysID(t testing.TB, name string) uint32 {
	t.Helper()
	id, ok := catalog.SyscallID(name)
	if !ok {
		t.Fatalf("no syscall %q", name)
	}
	return uint32(id)
}

// summary renders an event as "type tid/pid res [name=value ...]".
func summary(ev *event.Event) []string {
	out := []string{fmt.Sprintf("%s %d/%d res=%d num=%d", ev.Type(), ev.Tid, ev.Pid, ev.Res, ev.Num)}
	for i, p := range ev.Params {
		if !p.Set {
			continue
		}
		d := ev.Info.Params[i]
		var v string
		switch d.Type {
		case catalog.ParamSockAddr:
			v = fmt.Sprintf("fam%d:%v%s", p.Family, p.Addr, p.S)
		case catalog.ParamSockTuple:
			v = fmt.Sprintf("fam%d:%v->%v%s", p.Family, p.Client, p.Server, p.S)
		case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath:
			v = strconv.Quote(p.S)
		case catalog.ParamByteBuf:
			v = strconv.Quote(string(p.B))
		default:
			if event.IsSigned(d.Type) {
				v = strconv.FormatInt(p.I, 10)
			} else {
				v = "0x" + strconv.FormatUint(p.U, 16)
			}
		}
		out = append(out, d.Name+"="+v)
	}
	return out
}

func inet4(port uint16, a, b, c, d byte) []byte {
	return []byte{2, 0, byte(port >> 8), byte(port), a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0}
}

func TestPlans(t *testing.T) {
	_, bad := buildPlans()
	if len(bad) != 0 {
		t.Errorf("specs that do not match the catalog: %q", bad)
	}
}

func TestDecode(t *testing.T) {
	hdr := func(kind uint32, ret int64, args ...uint64) *bpf.Header {
		h := &bpf.Header{Kind: kind, Ret: ret, Tid: 101, Tgid: 100, Ppid: 1, EUID: 1000, EGID: 1001, LoginUID: 1000}
		copy(h.Args[:], args)
		copy(h.Comm[:], "cat")
		h.Mask = bpf.MaskOf(3)
		return h
	}
	tests := []struct {
		name string
		v    view
		want []string
	}{{
		name: "openat",
		v: view{hdr: hdr(sysID(t, "openat"), 3), path: []byte("/etc/shadow"), hasPath: true,
			open: bpf.OpenInfo{Flags: 0o2000000, Mode: 0, Dirfd: -100}, hasOpen: true},
		want: []string{"openat 101/100 res=3 num=1", "fd=3", "dirfd=-100", `name="/etc/shadow"`, "flags=0x80000", "mode=0x0"},
	}, {
		name: "memfd_create carries its name",
		v:    view{hdr: hdr(sysID(t, "memfd_create"), 5, 0, 1), path: []byte("payload"), hasPath: true},
		want: []string{"memfd_create 101/100 res=5 num=1", "fd=5", `name="payload"`, "flags=0x1"},
	}, {
		name: "prctl PR_SET_NAME carries the name",
		v:    view{hdr: hdr(sysID(t, "prctl"), 0, 15, 0x7f00), path: []byte("renamed"), hasPath: true},
		want: []string{"prctl 101/100 res=0 num=1", "res=0", "option=0xf", `arg2_str="renamed"`, "arg2_int=32512"},
	}, {
		name: "pipe2 carries its descriptors",
		v:    view{hdr: hdr(sysID(t, "pipe2"), 0, 0x7f00, 0o2000000), fd1: 3, fd2: 4, hasFDPair: true},
		want: []string{"pipe2 101/100 res=0 num=1", "res=0", "fd1=3", "fd2=4", "flags=0x80000"},
	}, {
		name: "creat",
		v: view{hdr: hdr(sysID(t, "creat"), 4, 0, 0o644), path: []byte("/dev/x"), hasPath: true,
			open: bpf.OpenInfo{Flags: 0o1101, Mode: 0o644, Dirfd: -100}, hasOpen: true},
		want: []string{"creat 101/100 res=4 num=1", "fd=4", `name="/dev/x"`, "mode=0x1a4"},
	}, {
		name: "failed open keeps the error",
		v: view{hdr: hdr(sysID(t, "open"), -2), path: []byte("rel/x"), hasPath: true,
			open: bpf.OpenInfo{Flags: 1, Dirfd: -100}, hasOpen: true},
		want: []string{"open 101/100 res=-2 num=1", "fd=-2", `name="rel/x"`, "flags=0x1", "mode=0x0"},
	}, {
		name: "close sign-extends the fd",
		v:    view{hdr: hdr(sysID(t, "close"), -9, 0xffffffff)},
		want: []string{"close 101/100 res=-9 num=1", "res=-9", "fd=-1"},
	}, {
		name: "socket",
		v:    view{hdr: hdr(sysID(t, "socket"), 5, 17, 3, 0x300)},
		want: []string{"socket 101/100 res=5 num=1", "fd=5", "domain=0x11", "type=0x3", "proto=0x300"},
	}, {
		name: "connect",
		v: view{hdr: hdr(sysID(t, "connect"), 0, 7), addr: inet4(80, 198, 18, 0, 1), hasAddr: true,
			local: inet4(40000, 198, 18, 0, 1), hasLocal: true},
		want: []string{"connect 101/100 res=0 num=1", "res=0",
			"tuple=fam2:198.18.0.1:40000->198.18.0.1:80", "fd=7", "addr=fam2:198.18.0.1:80"},
	}, {
		name: "accept puts the peer first",
		v: view{hdr: hdr(sysID(t, "accept4"), 8, 3, 0, 0, 0x80000), addr: inet4(5555, 10, 0, 0, 2), hasAddr: true,
			local: inet4(22, 10, 0, 0, 1), hasLocal: true},
		want: []string{"accept4 101/100 res=8 num=1", "fd=8", "tuple=fam2:10.0.0.2:5555->10.0.0.1:22", "flags=524288"},
	}, {
		name: "connect to a unix socket",
		v:    view{hdr: hdr(sysID(t, "connect"), 0, 7), addr: append([]byte{1, 0}, "/run/x.sock\x00junk"...), hasAddr: true},
		want: []string{"connect 101/100 res=0 num=1", "res=0", `tuple=fam1:invalid AddrPort->invalid AddrPort/run/x.sock`,
			"fd=7", "addr=fam1:invalid AddrPort/run/x.sock"},
	}, {
		name: "ptrace",
		v:    view{hdr: hdr(sysID(t, "ptrace"), 0, 16, 4242, 0, 0)},
		want: []string{"ptrace 101/100 res=0 num=1", "res=0", "addr=0x0", "data=0x0", "request=0x10", "pid=4242"},
	}, {
		name: "symlinkat",
		v: view{hdr: hdr(sysID(t, "symlinkat"), 0, 0, 0xffffff9c, 0), path: []byte("/etc/shadow"), hasPath: true,
			path2: []byte("link"), hasPath2: true},
		want: []string{"symlinkat 101/100 res=0 num=1", "res=0", `target="/etc/shadow"`, "linkdirfd=-100", `linkpath="link"`},
	}, {
		name: "linkat",
		v: view{hdr: hdr(sysID(t, "linkat"), 0, 0xffffff9c, 0, 0xffffff9c, 0, 0), path: []byte("/etc/shadow"), hasPath: true,
			path2: []byte("/etc/l"), hasPath2: true},
		want: []string{"linkat 101/100 res=0 num=1", "res=0", "olddir=-100", `oldpath="/etc/shadow"`, "newdir=-100",
			`newpath="/etc/l"`, "flags=0x0"},
	}, {
		name: "finit_module",
		v:    view{hdr: hdr(sysID(t, "finit_module"), -22, 3, 0, 0)},
		want: []string{"finit_module 101/100 res=-22 num=1", "res=-22", "fd=3", "flags=0x0"},
	}, {
		name: "setresuid keeps -1 as 0xffffffff",
		v:    view{hdr: hdr(sysID(t, "setresuid"), 0, 0xffffffff, 0, 0xffffffff)},
		want: []string{"setresuid 101/100 res=0 num=1", "res=0", "ruid=0xffffffff", "euid=0x0", "suid=0xffffffff"},
	}, {
		name: "execve",
		v: view{hdr: hdr(sysID(t, "execve"), 0), exe: []byte("/bin/cat"), hasExe: true, exePath: []byte("/usr/bin/cat"), hasExePath: true,
			argv: []byte("cat\x00/etc/shadow\x00"), hasArgv: true, env: []byte("A=1\x00B=2\x00"), hasEnv: true,
			exec: bpf.ExecInfo{CapEffective: 7, TTY: 0x8800001, ExeIno: 9, Flags: bpf.ExecMemfd,
				ExeCtime: time.Unix(0, 5), ExeMtime: time.Unix(0, 6)}, hasExec: true},
		want: []string{"execve 101/100 res=0 num=1", "res=0", `exe="cat"`, `args="/etc/shadow\x00"`, "tid=101",
			"pid=100", "ptid=1", `comm="cat"`, `env="A=1\x00B=2\x00"`, "tty=0x8800001", "loginuid=0x3e8",
			"flags=0x4", "cap_inheritable=0x0", "cap_permitted=0x0", "cap_effective=0x7", "exe_ino=0x9",
			"exe_ino_ctime=0x5", "exe_ino_mtime=0x6", "uid=0x3e8", `trusted_exepath="/usr/bin/cat"`, "gid=0x3e9",
			`filename="/bin/cat"`},
	}, {
		name: "failed execve",
		v:    view{hdr: hdr(sysID(t, "execve"), -2), exe: []byte("nope"), hasExe: true},
		want: []string{"execve 101/100 res=-2 num=1", "res=-2", `exe="nope"`, "tid=101", "pid=100", "ptid=1", `filename="nope"`},
	}, {
		name: "fork record becomes the parent's clone",
		v: view{hdr: hdr(bpf.KindFork, 0), fork: bpf.ForkInfo{ParentTid: 101, ParentTgid: 100, ChildTid: 202, ChildTgid: 202},
			hasFork: true},
		want: []string{"clone 101/100 res=202 num=1", "res=202", "tid=101", "pid=100", "ptid=1", `comm="cat"`, "flags=0x0"},
	}, {
		name: "thread fork",
		v: view{hdr: hdr(bpf.KindFork, 0), fork: bpf.ForkInfo{ParentTid: 101, ParentTgid: 100, ChildTid: 203, ChildTgid: 100},
			hasFork: true},
		want: []string{"clone 101/100 res=203 num=1", "res=203", "tid=101", "pid=100", "ptid=1", `comm="cat"`, "flags=0x10f00"},
	}, {
		name: "child side of clone",
		v: func() view {
			h := hdr(sysID(t, "clone"), 0, 0x20000011)
			h.Vtid, h.Vtgid = 1, 1
			return view{hdr: h}
		}(),
		want: []string{"clone 101/100 res=0 num=1", "res=0", "tid=101", "pid=100", "ptid=1", "flags=0x20000011",
			"vtid=1", "vpid=1"},
	}, {
		name: "exit record",
		v:    view{hdr: hdr(bpf.KindExit, 0), exitCode: 3<<8 | 0x80 | 9, hasExit: true},
		want: []string{"procexit 101/100 res=0 num=1", "status=905", "ret=3", "sig=0x9", "core=0x1"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(&DecoderOptions{ProcRoot: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			var ev event.Event
			if err := d.decode(&tc.v, &ev); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, summary(&ev)); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeMaskAndTime(t *testing.T) {
	d, err := NewDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &bpf.Header{Kind: sysID(t, "close"), Tid: 1, Tgid: 1, CPU: 1, Mask: bpf.MaskOf(0, 200, 300)}
	var ev event.Event
	if err := d.decode(&view{hdr: h, ts: 1234}, &ev); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("ts=%d cpu=%d mask=%x", ev.Ts, ev.CPU, ev.Mask[:8])
	if want := "ts=1234 cpu=1 mask=[1 0 0 100 100000000000 0 0 0]"; ev.Mask != h.Mask || got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDecodeSkipsAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		v       view
		wantErr string
	}{
		{"no header", view{}, "undecodable record: no header"},
		{"exec tracepoint", view{hdr: &bpf.Header{Kind: bpf.KindExec}}, "record produces no event"},
		{"parent side of clone", view{hdr: &bpf.Header{Kind: sysID(t, "clone"), Ret: 55}}, "record produces no event"},
		{"fork without item", view{hdr: &bpf.Header{Kind: bpf.KindFork}}, "undecodable record: fork record without fork item"},
		{"exit without item", view{hdr: &bpf.Header{Kind: bpf.KindExit}}, "undecodable record: exit record without exit item"},
		{"unknown kind", view{hdr: &bpf.Header{Kind: 9999}}, "undecodable record: kind 9999"},
		{"syscall outside the catalog", view{hdr: &bpf.Header{Kind: 511}}, "undecodable record: syscall 511 is not in the event catalog"},
	}
	d, err := NewDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	skipped, bad := 0, 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := d.decode(&tc.v, &ev)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("decode error = %v, want %q", err, tc.wantErr)
			}
			if errors.Is(err, errSkip) {
				skipped++
			} else if errors.Is(err, ErrUndecodable) {
				bad++
			} else {
				t.Errorf("error %v is neither a skip nor ErrUndecodable", err)
			}
		})
	}
	want := DecodeStats{Skipped: uint64(skipped), Undecodable: uint64(bad)}
	if diff := cmp.Diff(want, d.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestParseSockaddr(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{2}, "fam0 invalid AddrPort \"\" false"},
		{"inet", inet4(443, 1, 2, 3, 4), "fam2 1.2.3.4:443 \"\" true"},
		{"inet truncated", []byte{2, 0, 1, 187, 1}, "fam2 invalid AddrPort \"\" false"},
		{"inet6", append([]byte{10, 0, 0, 80, 0, 0, 0, 0}, append(make([]byte, 15), 1)...), "fam10 [::1]:80 \"\" true"},
		{"unix", append([]byte{1, 0}, "/tmp/s\x00"...), "fam1 invalid AddrPort \"/tmp/s\" true"},
		{"abstract unix", append([]byte{1, 0, 0}, "name"...), "fam1 invalid AddrPort \"name\" true"},
		{"netlink", []byte{16, 0, 0, 0}, "fam16 invalid AddrPort \"\" true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ap, p, ok := parseSockaddr(tc.in)
			if got := fmt.Sprintf("fam%d %v %q %v", f, ap, p, ok); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCgroups(t *testing.T) {
	root := t.TempDir()
	write := func(pid, text string) {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "cgroup"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10", "0::/user.slice/session-1.scope\n")
	write("20", "0::/system.slice/docker-3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e.scope\n")
	var seen []string
	d, err := NewDecoder(&DecoderOptions{ProcRoot: root, OnCgroup: func(id uint64, c bpf.ContainerClass) {
		seen = append(seen, fmt.Sprintf("%d:%d", id, c))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	exec := sysID(t, "execve")
	for _, h := range []bpf.Header{
		{Kind: exec, Tid: 10, Tgid: 10, CgroupID: 1000},
		{Kind: exec, Tid: 10, Tgid: 10, CgroupID: 1000}, // cached
		{Kind: exec, Tid: 20, Tgid: 20, CgroupID: 2000},
		{Kind: exec, Tid: 30, Tgid: 30, CgroupID: 3000}, // no /proc entry
	} {
		if err := d.decode(&view{hdr: &h}, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"1000:0", "2000:1"}, seen); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if got := d.Stats().CgroupReads; got != 3 {
		t.Errorf("cgroup reads = %d, want 3", got)
	}
	// The exec event carries the cgroups, and state finds the container.
	h := bpf.Header{Kind: exec, Tid: 20, Tgid: 20, CgroupID: 2000}
	if err := d.decode(&view{hdr: &h, argv: []byte("sh\x00"), hasArgv: true}, &ev); err != nil {
		t.Fatal(err)
	}
	tbl := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	state.ApplyBefore(tbl, &ev)
	th := tbl.Get(20)
	if th == nil {
		t.Fatal("exec created no thread")
	}
	if got, want := th.Proc().CgroupPath, "/system.slice/docker-3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e.scope"; got != want {
		t.Errorf("cgroup path = %q, want %q", got, want)
	}
	if !th.Proc().InContainer() {
		t.Error("process not in a container")
	}
}

func TestEvttypeTables(t *testing.T) {
	tb := EvttypeTables(&artifact.Artifact{Syscalls: []string{"openat", "ptrace", "procexit"}})
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	var gate []string
	for id := range tb.Gate {
		n, _ := catalog.SyscallName(id)
		gate = append(gate, n)
	}
	if diff := cmp.Diff([]string{"openat", "ptrace"}, gate, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("gate (-want +got):\n%s", diff)
	}
	for _, name := range []string{"execve", "close", "connect", "chdir"} {
		if !tb.Always[int(sysID(t, name))] {
			t.Errorf("%s is not always sent", name)
		}
	}
	if tb.Always[int(sysID(t, "read"))] || tb.Captured[int(sysID(t, "read"))] {
		t.Error("read is sent")
	}
	if !tb.Captured[int(sysID(t, "unlinkat"))] {
		t.Error("unlinkat is not captured in mode off")
	}
	if len(tb.DimsPerSyscall) != 0 {
		t.Errorf("dimensions set: %v", tb.DimsPerSyscall)
	}
}

func TestDecodeAllocs(t *testing.T) {
	d, err := NewDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	v := openatView(t)
	var ev event.Event
	_ = d.decode(&v, &ev)
	if n := testing.AllocsPerRun(100, func() { _ = d.decode(&v, &ev) }); n != 0 {
		t.Errorf("decode allocates %v times per event", n)
	}
}

func openatView(t testing.TB) view {
	h := &bpf.Header{Kind: sysID(t, "openat"), Ret: 3, Tid: 7, Tgid: 7}
	return view{hdr: h, path: []byte("/usr/lib/x86_64-linux-gnu/libc.so.6"), hasPath: true,
		open: bpf.OpenInfo{Flags: 0o2000000, Dirfd: -100}, hasOpen: true}
}

func BenchmarkDecode(b *testing.B) {
	d, err := NewDecoder(nil)
	if err != nil {
		b.Fatal(err)
	}
	views := map[string]view{
		"openat": openatView(b),
		"connect": {hdr: &bpf.Header{Kind: sysID(b, "connect"), Tid: 7, Tgid: 7, Args: [6]uint64{3}},
			addr: inet4(80, 1, 2, 3, 4), hasAddr: true, local: inet4(4000, 5, 6, 7, 8), hasLocal: true},
	}
	for _, name := range []string{"openat", "connect"} {
		v := views[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var ev event.Event
			for b.Loop() {
				if err := d.decode(&v, &ev); err != nil {
					b.Fatal(err)
				}
			}
			if ev.Info == nil || ev.Info.Name != name {
				b.Fatalf("decoded %v", ev.Info)
			}
		})
	}
}

// TestForkState feeds a fork record and the child's clone exit through
// the state updates: the child exists with its parent, and its ids in its
// own pid namespace come from the clone exit.
func TestForkState(t *testing.T) {
	d, err := NewDecoder(&DecoderOptions{ProcRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tbl := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	tbl.Fork(1, 0, 100, 100, 0)
	var ev event.Event
	for _, v := range []view{
		{hdr: &bpf.Header{Kind: bpf.KindFork, Tid: 100, Tgid: 100}, fork: bpf.ForkInfo{ParentTid: 100, ParentTgid: 100,
			ChildTid: 200, ChildTgid: 200}, hasFork: true},
		{hdr: &bpf.Header{Kind: sysID(t, "clone"), Tid: 200, Tgid: 200, Ppid: 100, Vtid: 1, Vtgid: 1}},
	} {
		if err := d.decode(&v, &ev); err != nil {
			t.Fatal(err)
		}
		state.ApplyBefore(tbl, &ev)
	}
	th := tbl.Get(200)
	if th == nil {
		t.Fatal("no child thread")
	}
	got := fmt.Sprintf("ppid=%d vpid=%d vtid=%d", th.Proc().PPid, th.Proc().Vpid, th.Vtid)
	if want := "ppid=100 vpid=1 vtid=1"; got != want {
		t.Errorf("child %s, want %s", got, want)
	}
}

// TestForkStateUnknownParent: a fork record whose parent the table does
// not know still names the child (the parent's comm, which the child
// has): the child's own return, which used to say it, is dropped in the
// kernel.
func TestForkStateUnknownParent(t *testing.T) {
	d, err := NewDecoder(&DecoderOptions{ProcRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tbl := state.NewTable(&state.Options{ProcReadsPerSec: -1, ProcRoot: t.TempDir()})
	h := &bpf.Header{Kind: bpf.KindFork, Tid: 300, Tgid: 300}
	copy(h.Comm[:], "bash")
	v := view{hdr: h, fork: bpf.ForkInfo{ParentTid: 300, ParentTgid: 300, ChildTid: 301, ChildTgid: 301}, hasFork: true}
	var ev event.Event
	if err := d.decode(&v, &ev); err != nil {
		t.Fatal(err)
	}
	state.ApplyBefore(tbl, &ev)
	th := tbl.Get(301)
	if th == nil {
		t.Fatal("no child thread")
	}
	if got := fmt.Sprintf("comm=%s vpid=%d vtid=%d", th.Comm(), th.Proc().Vpid, th.Vtid); got != "comm=bash vpid=301 vtid=301" {
		t.Errorf("child %s, want comm=bash vpid=301 vtid=301", got)
	}
}
