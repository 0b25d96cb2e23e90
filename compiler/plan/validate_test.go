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
