package bpf

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf/btf"
	"github.com/google/go-cmp/cmp"
)

type layout struct {
	Size   uint32
	Fields []string // "name@offset"
}

func goLayout(v any) layout {
	t := reflect.TypeOf(v)
	l := layout{Size: uint32(t.Size())}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "_" {
			continue
		}
		l.Fields = append(l.Fields, strings.ToLower(f.Name)+"@"+itoa(f.Offset))
	}
	return l
}

func btfLayout(s *btf.Struct) layout {
	l := layout{Size: s.Size}
	for _, m := range s.Members {
		l.Fields = append(l.Fields, strings.ReplaceAll(m.Name, "_", "")+"@"+itoa(uintptr(m.Offset.Bytes())))
	}
	return l
}

func itoa(u uintptr) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for u > 0 {
		b = append([]byte{byte('0' + u%10)}, b...)
		u /= 10
	}
	return string(b)
}

// TestABILayout checks the bpf2go-generated Go structs against the C
// layout recorded in the object's BTF.
func TestABILayout(t *testing.T) {
	spec, err := loadCapture()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c     string
		goVal any
	}{
		{"falcoc_hdr", captureFalcocHdr{}},
		{"falcoc_item", captureFalcocItem{}},
		{"falcoc_open", captureFalcocOpen{}},
		{"falcoc_exec", captureFalcocExec{}},
		{"falcoc_fork", captureFalcocFork{}},
		{"falcoc_exectp", captureFalcocExectp{}},
		{"falcoc_exit", captureFalcocExit{}},
		{"falcoc_gate", captureFalcocGate{}},
		{"falcoc_mask", captureFalcocMask{}},
		{"falcoc_counters", captureFalcocCounters{}},
		{"falcoc_path_key", captureFalcocPathKey{}},
		{"falcoc_sock_key", captureFalcocSockKey{}},
		{"falcoc_comm_key", captureFalcocCommKey{}},
		{"falcoc_uid_key", captureFalcocUidKey{}},
		{"falcoc_ptrace_key", captureFalcocPtraceKey{}},
	} {
		t.Run(tc.c, func(t *testing.T) {
			var s *btf.Struct
			if err := spec.Types.TypeByName(tc.c, &s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(btfLayout(s), goLayout(tc.goVal)); diff != "" {
				t.Errorf("layout (-C +Go):\n%s", diff)
			}
		})
	}
}

// TestDecoderOffsets checks the hand-written decoder's constants.
func TestDecoderOffsets(t *testing.T) {
	got := map[string]uintptr{
		"hdr":            unsafe.Sizeof(captureFalcocHdr{}),
		"item":           unsafe.Sizeof(captureFalcocItem{}),
		"open":           unsafe.Sizeof(captureFalcocOpen{}),
		"open.dirfd":     unsafe.Offsetof(captureFalcocOpen{}.Dirfd),
		"exec":           unsafe.Sizeof(captureFalcocExec{}),
		"exec.ctimensec": unsafe.Offsetof(captureFalcocExec{}.ExeCtimeNsec),
		"exec.tty":       unsafe.Offsetof(captureFalcocExec{}.Tty),
		"fork":           unsafe.Sizeof(captureFalcocFork{}),
		"hdr.cpu":        unsafe.Offsetof(captureFalcocHdr{}.Cpu),
		"hdr.tid":        unsafe.Offsetof(captureFalcocHdr{}.Tid),
	}
	want := map[string]uintptr{
		"hdr": hdrSize, "item": itemHdrSize, "open": 32, "open.dirfd": 24,
		"exec": 64, "exec.ctimensec": 48, "exec.tty": 56, "fork": 24,
		// the decoder reads 11 consecutive u32s from Tid to Cpu
		"hdr.tid": offTid, "hdr.cpu": offTid + 10*4,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
}

// TestIA32Table: every 32-bit number maps to a syscall the capture knows,
// and no two numbers map to the same one (a table typo would).
func TestIA32Table(t *testing.T) {
	seen := map[int]int{}
	for nr, id := range ia32ToX64 {
		if nr >= NumSyscalls || id < 0 || id >= NumSyscalls {
			t.Errorf("ia32 %d -> %d: out of range", nr, id)
		}
		if o, dup := seen[id]; dup {
			t.Errorf("ia32 %d and %d both map to %d", nr, o, id)
		}
		seen[id] = nr
	}
	tab := ia32Table()
	if len(tab) != NumSyscalls || tab[5] != 2 || tab[295] != 257 || tab[102] != -1 {
		t.Errorf("ia32Table: open %d, openat %d, socketcall %d; want 2, 257, -1", tab[5], tab[295], tab[102])
	}
}
