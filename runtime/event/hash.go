package event

import (
	"encoding/binary"
	"unsafe"
)

// QuickHash mixes the length and the first and last eight bytes of b, for
// the small caches in front of the decoders' and the judge's tables:
// paths that share a directory differ at the end, and those that share a
// file name at the start. It is not a general-purpose hash.
func QuickHash(b []byte) uint64 {
	h := uint64(len(b))
	if len(b) >= 8 {
		h ^= binary.LittleEndian.Uint64(b) * 0x9e3779b97f4a7c15
		h ^= binary.LittleEndian.Uint64(b[len(b)-8:]) * 0xc2b2ae3d27d4eb4f
	} else {
		for _, c := range b {
			h = h*31 + uint64(c)
		}
		h *= 0x9e3779b97f4a7c15
	}
	// Fold the high bits down: a slot is picked by the low bits, which the
	// multiplications alone fill from the low bytes of each word only
	// (every file of a directory would share a slot).
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	return h ^ h>>33
}

// QuickHashString is QuickHash of s's bytes, without a copy.
func QuickHashString(s string) uint64 {
	return QuickHash(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// TagMask returns the ways of a 4-way set whose tag is tag: bit w is set
// when tags[w] == tag. It has no branch, so that a lookup that hits a
// different way each time is not mispredicted (the caches in front of the
// decoders' and the judge's tables).
func TagMask(tags *[4]uint32, tag uint32) uint32 {
	return tagEq(tags[0], tag) | tagEq(tags[1], tag)<<1 | tagEq(tags[2], tag)<<2 | tagEq(tags[3], tag)<<3
}

// tagEq is 1 when a == b, else 0, without a branch.
func tagEq(a, b uint32) uint32 {
	x := a ^ b
	return 1 ^ (x|-x)>>31
}
