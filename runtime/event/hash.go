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
