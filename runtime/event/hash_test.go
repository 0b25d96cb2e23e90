package event

import "testing"

// TestTagMask: bit w is set exactly for the ways whose tag is the one
// looked for, including tags differing in the top bit only.
func TestTagMask(t *testing.T) {
	tags := [4]uint32{7, 1 << 31, 7, 0}
	for _, c := range []struct {
		tag  uint32
		want uint32
	}{{7, 0b0101}, {1 << 31, 0b0010}, {0, 0b1000}, {1<<31 | 7, 0}, {8, 0}} {
		if got := TagMask(&tags, c.tag); got != c.want {
			t.Errorf("TagMask(%v, %#x) = %04b, want %04b", tags, c.tag, got, c.want)
		}
	}
}
