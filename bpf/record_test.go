package bpf

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildRecord lays out a record as the kernel does.
func buildRecord(h captureFalcocHdr, items ...[]byte) []byte {
	b := make([]byte, hdrSize)
	le := binary.LittleEndian
	le.PutUint64(b[offTs:], h.TsBootNs)
	for i, w := range h.Mask.W {
		le.PutUint64(b[offMask+uintptr(8*i):], w)
	}
	for i, a := range h.Args {
		le.PutUint64(b[offArgs+uintptr(8*i):], a)
	}
	le.PutUint64(b[offRet:], uint64(h.Ret))
	le.PutUint64(b[offCgroup:], h.CgroupId)
	le.PutUint32(b[offKind:], h.Kind)
	for i, v := range []uint32{h.Tid, h.Tgid, h.Ppid, h.Vtid, h.Vtgid, h.Uid, h.Gid, h.Euid, h.Egid, h.Loginuid, h.Cpu} {
		le.PutUint32(b[offTid+uintptr(4*i):], v)
	}
	le.PutUint16(b[offFlags:], h.Flags)
	for i, c := range h.Comm {
		b[offComm+uintptr(i)] = byte(c)
	}
	for _, it := range items {
		b = append(b, it...)
	}
	le.PutUint32(b[offSize:], uint32(len(b)))
	le.PutUint16(b[offNitems:], uint16(len(items)))
	return b
}

func item(typ uint16, data []byte) []byte {
	b := make([]byte, itemHdrSize+(len(data)+7)&^7)
	binary.LittleEndian.PutUint16(b, typ)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	copy(b[itemHdrSize:], data)
	return b
}

func sampleRecord() []byte {
	var h captureFalcocHdr
	h.Kind, h.Tid, h.Tgid, h.Ret, h.Cpu, h.Loginuid = sysExecve, 10, 11, 0, 1, 1000
	h.Mask.W[2] = 5
	copy(h.Comm[:], []int8{'t', 'r', 'u', 'e'})
	open := make([]byte, 32)
	binary.LittleEndian.PutUint64(open, 0x241)
	binary.LittleEndian.PutUint64(open[8:], 0o644)
	binary.LittleEndian.PutUint32(open[24:], 0xffffff9c)
	return buildRecord(h,
		item(itemPath, []byte("/etc/hostname")),
		item(itemOpen, open),
		item(itemArgv, []byte("/bin/true\x00a\x00\x00b\x00")),
		item(99, []byte("ignored future item")),
	)
}

func TestDecode(t *testing.T) {
	var r Record
	r.raw.RawSample = sampleRecord()
	if err := r.decode(); err != nil {
		t.Fatal(err)
	}
	o, ok := r.Open()
	type view struct {
		Kind, Tid, Tgid, CPU, LoginUID uint32
		Mask                           Mask
		Comm, Path, Path2              string
		Open                           OpenInfo
		OpenOK                         bool
		Argv                           []string
	}
	got := view{r.Kind, r.Tid, r.Tgid, r.CPU, r.LoginUID, r.Mask, r.CommString(), str(r.Path()), str(r.Path2()), o, ok, strs(r.Argv(nil))}
	want := view{sysExecve, 10, 11, 1, 1000, Mask{0, 0, 5, 0}, "true", "/etc/hostname", "<none>",
		OpenInfo{Flags: 0x241, Mode: 0o644, Dirfd: -100}, true, []string{"/bin/true", "a", "", "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := sampleRecord()
	withSize := func(n uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[offSize:], n)
		return b
	}
	withItemLen := func(n uint16) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint16(b[hdrSize+2:], n)
		return b
	}
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"short", good[:100], "malformed capture record: 100 bytes, header needs 176"},
		{"size", withSize(4000), "malformed capture record: size field 4000, record 296 bytes"},
		{"item past end", withItemLen(5000), "malformed capture record: item 1 of 5000 bytes at 184 past end 296"},
		{"items missing", good[:hdrSize+24], "malformed capture record: size field 296, record 200 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			r.raw.RawSample = tc.raw
			err := r.decode()
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrBadRecord) {
				t.Errorf("decode() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAllocs(t *testing.T) {
	raw := sampleRecord()
	var r Record
	var argv [][]byte
	allocs := testing.AllocsPerRun(100, func() {
		r.raw.RawSample = raw
		if err := r.decode(); err != nil {
			t.Fatal(err)
		}
		argv = r.Argv(argv[:0])
	})
	if allocs != 0 {
		t.Errorf("decode allocates %v times per record", allocs)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sampleRecord())
	f.Add(sampleRecord()[:hdrSize])
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r Record
		r.raw.RawSample = raw
		if err := r.decode(); err != nil {
			return
		}
		// Accessors must not panic on anything decode accepted.
		r.Path()
		r.Path2()
		r.Exe()
		r.Open()
		r.Exec()
		r.Fork()
		r.ExecOldTid()
		r.ExitInfo()
		r.Argv(nil)
		r.Env(nil)
		r.Sockaddr()
		r.LocalAddr()
		r.Time()
		r.CommString()
	})
}
