package plan

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		t    *Tables
		want string
	}{
		{"nil", nil, "invalid prefilter tables: nil"},
		{"gate id", &Tables{Gate: map[int]Mask{600: {1}}}, "invalid prefilter tables: gate: syscall id 600 out of range [0,512)"},
		{"dims", &Tables{DimsPerSyscall: map[int]Dim{2: 1 << 20}}, "invalid prefilter tables: dims per syscall: syscall 2: unknown dimension bits 0x100000"},
		{"comm", &Tables{Comm: map[string]Mask{"a-very-long-comm-name": {}}}, `invalid prefilter tables: comm "a-very-long-comm-name": want 1 to 15 bytes without NUL`},
		{"path", &Tables{PathPrefix: map[string]Mask{"etc": {}}}, `invalid prefilter tables: path prefix "etc": not an absolute path`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidTables) {
				t.Errorf("%v does not wrap ErrInvalidTables", err)
			}
		})
	}
	if err := (&Tables{}).Validate(); err != nil {
		t.Errorf("empty tables: %v", err)
	}
}

func TestMaskIntersects(t *testing.T) {
	a, b := Mask{}.With(3).With(200), Mask{}.With(200)
	if !a.Intersects(&b) || a.Intersects(&Mask{}) || !AllClauses.Intersects(&b) {
		t.Error("Intersects")
	}
}

func TestKernelTableBytes(t *testing.T) {
	tb := Tables{Gate: map[int]Mask{257: {}}, Comm: map[string]Mask{"cat": {}}, PathPrefix: map[string]Mask{"/etc/": {}, "/srv/": {}}}
	// gate: 4-byte key + 40-byte falcoc_gate; comm: 20-byte key + mask;
	// path: 260-byte falcoc_path_key + mask.
	if got, want := KernelTableBytes(&tb), 44+52+2*292; got != want {
		t.Errorf("KernelTableBytes = %d, want %d", got, want)
	}
}

func TestCapacity(t *testing.T) {
	tb := &Tables{
		Gate:           map[int]Mask{257: {1}, 59: {2}},
		DimsPerSyscall: map[int]Dim{257: DimPath | DimComm, 59: DimComm},
		Comm:           map[string]Mask{"a": {1}, "b": {2}, "c": {}},
		CommDefault:    Mask{},
		PathExact:      map[string]Mask{"/etc/shadow": {1}},
		PathPrefix:     map[string]Mask{"/srv/": {1}},
	}
	need := tb.Needs()
	if need != (Capacity{Comm: 3, Path: 2}) {
		t.Fatalf("Needs() = %+v", need)
	}
	if d := (Capacity{Comm: 3, Path: 1}).Over(need); d != DimPath {
		t.Errorf("Over = %v, want path", d)
	}
	if d := DefaultCapacity.Over(need); d != 0 {
		t.Errorf("Over(default) = %v", d)
	}
	big := ForLoad(Capacity{Comm: 5000, Path: 10})
	if big.Comm != 10000 || big.Path != MaxPath || big.UID != MaxUID || ForLoad(Capacity{Comm: 1 << 20}).Comm != TableCeiling {
		t.Errorf("ForLoad = %+v", big)
	}
	if err := tb.ValidateCapacity(Capacity{Comm: 3, Path: 1}); err == nil || err.Error() != "invalid prefilter tables: path: 2 entries, at most 1" {
		t.Errorf("ValidateCapacity = %v", err)
	}

	// Dropping the path dimension: never narrower than the original (a
	// dimension not looked up passes every clause), and the path no
	// longer narrows.
	w := tb.WithoutDims(DimPath)
	if w.DimsPerSyscall[257] != DimComm || w.PathExact != nil || tb.PathExact == nil {
		t.Fatalf("WithoutDims: %+v (original %+v)", w.DimsPerSyscall, tb.DimsPerSyscall)
	}
	for _, v := range []KernelView{
		{Syscall: 257, Comm: "a", Path: "/etc/shadow"},
		{Syscall: 257, Comm: "a", Path: "/tmp/x"},
		{Syscall: 257, Comm: "z", Path: "/srv/x"},
		{Syscall: 59, Comm: "b"},
		{Syscall: 59, Comm: "a"},
	} {
		before := Judge(&Plan{Tables: *tb}, v)
		after := Judge(&Plan{Tables: *w}, v)
		if before.And(after) != before {
			t.Errorf("%+v: without path %v, not a superset of %v", v, after.Bits(), before.Bits())
		}
	}
	if m := Judge(&Plan{Tables: *w}, KernelView{Syscall: 257, Comm: "a", Path: "/tmp/x"}); !m.Has(0) {
		t.Errorf("without path, /tmp/x by a: %v, want bit 0", m.Bits())
	}
}
