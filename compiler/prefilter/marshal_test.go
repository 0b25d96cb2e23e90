package prefilter

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMarshalRoundTrip(t *testing.T) {
	p := loadDefault(t)
	b1, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := loadDefault(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatal("two plans of the same rules encode differently")
	}
	var q Plan
	if err := q.UnmarshalBinary(b1); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, &q, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	good, err := loadDefault(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "invalid prefilter plan: bad magic"},
		{"version", []byte("FKPL\x01"), "invalid prefilter plan: version 1, want 2"},
		{"truncated", good[:len(good)/2], ""},
		{"trailing", append(bytes.Clone(good), 0), "invalid prefilter plan: 1 trailing bytes"},
		{"huge count", []byte("FKPL\x02\xff\xff\xff\xff\x0f"), "invalid prefilter plan: count larger than the data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Plan
			err := p.UnmarshalBinary(tc.in)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("err = %q, want %q", err, tc.want)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, err := loadDefault(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("FKPL\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Plan
		if err := p.UnmarshalBinary(data); err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var q Plan
		if err := q.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		_ = Judge(&p, KernelView{Syscall: 257, Path: "/etc/x"})
	})
}
