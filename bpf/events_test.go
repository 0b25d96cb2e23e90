package bpf

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/internal/testutil/ia32"
)

func TestExecve(t *testing.T) {
	c := load(t, &Options{})
	bit := MaskOf(42)
	// The exe dimension judges the path the kernel resolved (/bin is a
	// link to usr/bin on merged-/usr systems), as proc.exepath shows it.
	real, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	setTables(t, c, &Tables{
		Gate:           map[int]Mask{sysExecve: bit},
		DimsPerSyscall: map[int]Dim{sysExecve: DimExe},
		ExeExact:       map[string]Mask{real: bit},
		ExeUnknown:     bit,
	}, ModeFull)

	cmd := exec.Command("/bin/true", "first", "with space", "")
	cmd.Env = []string{"FALCOC_A=1", "FALCOC_B=two"}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// A program the exe table does not list is dropped.
	if err := exec.Command("/bin/sh", "-c", ":").Run(); err != nil {
		t.Fatal(err)
	}
	child := uint32(cmd.Process.Pid)
	pid := uint32(os.Getpid())
	recs := drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Ppid == pid && r.Kind == sysExecve })

	type got struct {
		Tgid               uint32
		Ret                int64
		Exe, ExePath, Comm string
		Argv, Env          []string
		Mask               Mask
		HasExec            bool
	}
	var gots []got
	for _, r := range recs {
		_, hasExec := r.Exec()
		gots = append(gots, got{r.Tgid, r.Ret, str(r.Exe()), str(r.ExePath()), r.CommString(), strs(r.Argv(nil)), strs(r.Env(nil)), r.Mask, hasExec})
	}
	want := []got{{child, 0, "/bin/true", real, "true", []string{"/bin/true", "first", "with space", ""}, []string{"FALCOC_A=1", "FALCOC_B=two"}, bit, true}}
	if c.Uses(FeatureLoop) {
		// No resolved path: the exe dimension passes every exec (the
		// shell too) and the record has no ExePath.
		want[0].ExePath = "<none>"
		if len(gots) != 2 || gots[1].Exe != "/bin/sh" {
			t.Errorf("without bpf_loop, want the child's record then the shell's, got %+v", gots)
		}
		if len(gots) > 1 {
			gots = gots[:1]
		}
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("execve records (-want +got):\n%s", diff)
	}
}

func strs(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestForkExecExit(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{}, ModeFull)
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("run: %v", err)
	}
	child := uint32(cmd.Process.Pid)
	pid := uint32(os.Getpid())

	var fork []ForkInfo
	var execs, exits []string
	drain(t, c, 300*time.Millisecond, func(r *Record) bool {
		switch r.Kind {
		case KindFork:
			if f, ok := r.Fork(); ok && f.ChildTgid == child {
				fork = append(fork, f)
				if r.Tgid != pid {
					t.Errorf("fork record from tgid %d, want the parent %d", r.Tgid, pid)
				}
			}
		case KindExec:
			if r.Tgid == child {
				old, _ := r.ExecOldTid()
				execs = append(execs, str(r.Exe())+" old="+itoa(uintptr(old)))
			}
		case KindExit:
			if r.Tgid == child {
				code, dead, _ := r.ExitInfo()
				exits = append(exits, "code="+itoa(uintptr(code>>8))+" groupdead="+map[bool]string{true: "y", false: "n"}[dead])
			}
		}
		return false
	})
	if len(fork) != 1 || fork[0].ChildTid != child || fork[0].ParentTgid != pid {
		t.Errorf("fork records = %+v, want one with parent tgid %d and child %d", fork, pid, child)
	}
	if diff := cmp.Diff([]string{"/bin/sh old=" + itoa(uintptr(child))}, execs); diff != "" {
		t.Errorf("exec records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code=3 groupdead=y"}, exits); diff != "" {
		t.Errorf("exit records (-want +got):\n%s", diff)
	}
}

func TestConnect(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	lnA, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnA.Close()
	lnB, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnB.Close()
	portA := uint16(lnA.Addr().(*net.TCPAddr).Port)
	bit := MaskOf(200)
	setTables(t, c, &Tables{
		Gate:           map[int]Mask{sysConnect: bit},
		DimsPerSyscall: map[int]Dim{sysConnect: DimSock},
		Sock:           map[SockKey]Mask{{Family: unix.AF_INET, Port: portA}: bit},
		SockFamily:     map[uint16]Mask{unix.AF_INET6: bit},
		SockUnknown:    bit,
	}, ModeFull)

	var locals []string
	for _, ln := range []net.Listener{lnA, lnB} {
		conn, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		locals = append(locals, conn.LocalAddr().String())
		conn.Close()
	}
	recs := drain(t, c, 300*time.Millisecond, mine(sysConnect))
	var got []string
	for _, r := range recs {
		remote, _ := r.Sockaddr()
		local, _ := r.LocalAddr()
		got = append(got, inet(remote)+" from "+inet(local))
	}
	want := []string{lnA.Addr().String() + " from " + locals[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("connect records (-want +got):\n%s", diff)
	}
}

// inet formats a sockaddr_in.
func inet(b []byte) string {
	if len(b) < 8 || binary.LittleEndian.Uint16(b) != unix.AF_INET {
		return "?"
	}
	return (&net.TCPAddr{IP: net.IP(b[4:8]), Port: int(binary.BigEndian.Uint16(b[2:]))}).String()
}

// TestRingBufferLoss fills CPU 0's one-page ring buffer (nothing reads
// it) with getppid records.
func TestRingBufferLoss(t *testing.T) {
	c := load(t, &Options{RingBufferSize: os.Getpagesize(), NoSchedEvents: true})
	setTables(t, c, &Tables{Always: map[int]bool{sysGetppid: true}}, ModeFull)
	before, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	lostBefore, err := c.LostPerCPU()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	restore := onCPU(t, 0)
	for range n {
		unix.Getppid()
	}
	restore()
	after, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	lostAfter, err := c.LostPerCPU()
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, l := range lostAfter {
		sum += l
	}
	// Read after the counters: other processes' getppid may add losses.
	if sum < after.Total().Lost || lostAfter[0]-lostBefore[0] < 1000 {
		t.Errorf("lost per CPU %v before, %v after (sum %d): want the sum >= total lost %d read before and CPU 0 to have lost most of %d", lostBefore, lostAfter, sum, after.Total().Lost, n)
	}
	b, a := before.ByKind[sysGetppid], after.ByKind[sysGetppid]
	sent, lost, passed := a.Sent-b.Sent, a.Lost-b.Lost, a.GatePass-b.GatePass
	if a.Calls-b.Calls < n || passed < n {
		t.Errorf("calls %d, gate passes %d: want at least %d", a.Calls-b.Calls, passed, n)
	}
	if lost == 0 || sent+lost != passed {
		t.Errorf("sent %d + lost %d, want lost > 0 and the sum = gate passes %d", sent, lost, passed)
	}
	if tot := after.Total(); tot.Lost < lost {
		t.Errorf("total lost %d < getppid lost %d", tot.Lost, lost)
	}
}

func TestExecveDetails(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysExecve: MaskOf(1)}}, ModeEvttype)

	// A failed execve: the path comes from the caller's memory.
	if err := exec.Command("/nonexistent/falcoc-prog").Run(); err == nil {
		t.Fatal("exec of a missing program succeeded")
	}
	// A program run from a memfd.
	mfd, err := unix.MemfdCreate("falcoc-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mfd)
	prog, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(mfd, prog); err != nil {
		t.Fatal(err)
	}
	memPath := "/proc/" + itoa(uintptr(os.Getpid())) + "/fd/" + itoa(uintptr(mfd))
	if err := exec.Command(memPath).Run(); err != nil {
		t.Fatal(err)
	}
	// A program run through a symbolic link, from a folder on another
	// mount (tmpfs or not, the path crosses at least the root's mount).
	dir := t.TempDir()
	link := filepath.Join(dir, "falcoc-link-true")
	if err := os.Symlink("/bin/true", link); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(link).Run(); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	pid := uint32(os.Getpid())
	type got struct {
		Ret     int64
		Exe     string
		ExePath string
		Memfd   bool
		HasExec bool
		CapsSet bool
	}
	var gots []got
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Ppid == pid && r.Kind == sysExecve }) {
		e, ok := r.Exec()
		gots = append(gots, got{r.Ret, str(r.Exe()), str(r.ExePath()), e.Flags&ExecMemfd != 0, ok, e.CapEffective != 0})
	}
	want := []got{
		{-int64(unix.ENOENT), "/nonexistent/falcoc-prog", "<none>", false, false, false},
		{0, memPath, "/memfd:falcoc-test (deleted)", true, true, true},
		{0, link, real, false, true, true},
	}
	if c.Uses(FeatureLoop) { // the path is not resolved
		want[1].ExePath = "<none>"
		want[2].ExePath = "<none>"
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("execve records (-want +got):\n%s", diff)
	}
}

// TestCompatSyscall makes a 32-bit open (int 0x80) from this 64-bit
// process: the capture judges and sends it as the x86_64 open, with its
// arguments from the 32-bit registers.
func TestCompatSyscall(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysOpen: MaskOf(3)}}, ModeEvttype)

	p, err := ia32.LowString("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	tid := uint32(unix.Gettid())
	fd := ia32.Syscall(ia32.SysOpen, p, 0, 0)
	if fd < 0 {
		t.Fatalf("32-bit open: %d", fd)
	}
	ia32.Syscall(ia32.SysClose, uintptr(fd), 0, 0)
	runtime.UnlockOSThread()

	type got struct {
		Kind   uint32
		Ret    int64
		Path   string
		Compat bool
	}
	var gots []got
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Tid == tid && r.Kind == sysOpen }) {
		gots = append(gots, got{r.Kind, r.Ret, str(r.Path()), r.Flags&FlagCompat != 0})
	}
	want := []got{{sysOpen, fd, "/etc/hostname", true}}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("open records (-want +got):\n%s", diff)
	}
}

// TestForkFlags checks the clone flags of fork records: Go starts a
// program with a vfork-style clone (CLONE_VM|CLONE_VFORK, by clone or
// clone3), and a shell's subshell is a real fork (glibc: clone with
// SIGCHLD) that shares no memory.
func TestForkFlags(t *testing.T) {
	c := load(t, &Options{})
	setTables(t, c, &Tables{}, ModeFull)
	cmd := exec.Command("/bin/sh", "-c", "(exit 0); exit 0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	sh := uint32(cmd.Process.Pid)
	pid := uint32(os.Getpid())
	const cloneVM, cloneVfork, cloneThread, sigchld = 0x100, 0x4000, 0x10000, 17
	var fromGo, fromSh []uint64
	drain(t, c, 300*time.Millisecond, func(r *Record) bool {
		if f, ok := r.Fork(); ok && r.Kind == KindFork {
			switch {
			case f.ChildTgid == sh && f.ParentTgid == pid:
				fromGo = append(fromGo, f.CloneFlags)
			case f.ParentTgid == sh && f.ChildTgid != sh:
				fromSh = append(fromSh, f.CloneFlags)
			}
		}
		return false
	})
	if len(fromGo) != 1 || fromGo[0]&(cloneVM|cloneVfork) != cloneVM|cloneVfork || fromGo[0]&cloneThread != 0 {
		t.Errorf("Go's fork of sh: flags %#x, want one with CLONE_VM|CLONE_VFORK and no CLONE_THREAD", fromGo)
	}
	if len(fromSh) != 1 || fromSh[0]&0xff != sigchld || fromSh[0]&(cloneVM|cloneThread) != 0 {
		t.Errorf("sh's fork: flags %#x, want one with SIGCHLD and neither CLONE_VM nor CLONE_THREAD", fromSh)
	}
}

// TestMemfdName: memfd_create's record carries the name it was given.
func TestMemfdName(t *testing.T) {
	const sysMemfdCreate = 319
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysMemfdCreate: MaskOf(5)}}, ModeEvttype)
	runtime.LockOSThread()
	tid := uint32(unix.Gettid())
	fd, err := unix.MemfdCreate("falcoc-name-test", unix.MFD_CLOEXEC)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var got []string
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Tid == tid && r.Kind == sysMemfdCreate }) {
		got = append(got, str(r.Path())+" fd="+itoa(uintptr(r.Ret)))
	}
	if diff := cmp.Diff([]string{"falcoc-name-test fd=" + itoa(uintptr(fd))}, got); diff != "" {
		t.Errorf("memfd_create records (-want +got):\n%s", diff)
	}
}

// TestPrctlSetName: prctl(PR_SET_NAME)'s record carries the new name.
func TestPrctlSetName(t *testing.T) {
	const sysPrctl = 157
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysPrctl: MaskOf(6)}}, ModeEvttype)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := uint32(unix.Gettid())
	old, err := os.ReadFile("/proc/self/task/" + itoa(uintptr(tid)) + "/comm")
	if err != nil {
		t.Fatal(err)
	}
	name := []byte("falcoc-pname\x00")
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	prev := append([]byte(strings.TrimSpace(string(old))), 0)
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&prev[0])), 0, 0, 0)
	var got []string
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool { return r.Tid == tid && r.Kind == sysPrctl }) {
		got = append(got, str(r.Path()))
	}
	if diff := cmp.Diff([]string{"falcoc-pname", strings.TrimSpace(string(old))}, got); diff != "" {
		t.Errorf("prctl records (-want +got):\n%s", diff)
	}
}

// TestFDPair: pipe2 and socketpair records carry the two descriptors.
func TestFDPair(t *testing.T) {
	const sysSocketpair, sysPipe2 = 53, 293
	c := load(t, &Options{})
	setTables(t, c, &Tables{Gate: map[int]Mask{sysSocketpair: MaskOf(7), sysPipe2: MaskOf(7)}}, ModeEvttype)
	runtime.LockOSThread()
	tid := uint32(unix.Gettid())
	var p [2]int
	perr := unix.Pipe2(p[:], unix.O_CLOEXEC)
	sp, serr := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	runtime.UnlockOSThread()
	if perr != nil || serr != nil {
		t.Fatal(perr, serr)
	}
	for _, fd := range []int{p[0], p[1], sp[0], sp[1]} {
		defer unix.Close(fd)
	}
	var got []string
	for _, r := range drain(t, c, 300*time.Millisecond, func(r *Record) bool {
		return r.Tid == tid && (r.Kind == sysSocketpair || r.Kind == sysPipe2)
	}) {
		a, b, ok := r.FDPair()
		got = append(got, itoa(uintptr(r.Kind))+": "+itoa(uintptr(a))+" "+itoa(uintptr(b))+map[bool]string{true: "", false: " (none)"}[ok])
	}
	want := []string{"293: " + itoa(uintptr(p[0])) + " " + itoa(uintptr(p[1])), "53: " + itoa(uintptr(sp[0])) + " " + itoa(uintptr(sp[1]))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}
