package bpf

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func openClose(tb testing.TB, path string, flags int) int {
	tb.Helper()
	fd, err := unix.Openat(unix.AT_FDCWD, path, flags, 0)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	unix.Close(fd)
	return fd
}

func TestPathPrefilter(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	bit := MaskOf(3)
	setTables(t, c, &Tables{
		Gate:           map[int]Mask{sysOpenat: bit},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath},
		PathExact:      map[string]Mask{"/etc/hostname": bit},
		PathUnknown:    bit,
	}, ModeFull)

	fd := openClose(t, "/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC)
	openClose(t, "/etc/passwd", unix.O_RDONLY|unix.O_CLOEXEC)
	recs := drain(t, c, 300*time.Millisecond, mine(sysOpenat))

	type got struct {
		Path  string
		Flags uint64
		Dirfd int32
		Ret   int64
		Mask  Mask
	}
	var gots []got
	for _, r := range recs {
		o, _ := r.Open()
		gots = append(gots, got{str(r.Path()), o.Flags, o.Dirfd, r.Ret, r.Mask})
	}
	want := []got{{"/etc/hostname", unix.O_RDONLY | unix.O_CLOEXEC, unix.AT_FDCWD, int64(fd), bit}}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	cnt, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	o := cnt.ByKind[sysOpenat]
	if o.Sent < 1 || o.PrefilterDrop < 1 || o.GatePass < o.Sent+o.PrefilterDrop || o.Calls < o.GatePass {
		t.Errorf("openat counters inconsistent: %+v", o)
	}
}
