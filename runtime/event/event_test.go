package event

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/plan"
)

// TestResetMask: a reset makes the mask AllRules again, whether a wide
// mask was set before or not.
func TestResetMask(t *testing.T) {
	var ev Event
	for _, reset := range []func(){
		func() { ev.Reset(nil) },
		func() { ev.ResetKeep(nil, 0) },
		func() { ev.ResetSet(nil, 0, 0) },
	} {
		reset()
		if ev.Mask != AllRules {
			t.Fatalf("after a reset of a zero event: %x", ev.Mask)
		}
		var m plan.Mask
		m[0], m[9] = 1, 2
		ev.SetMask(&m)
		if ev.Mask != m {
			t.Fatalf("SetMask: %x", ev.Mask)
		}
		reset()
		if ev.Mask != AllRules {
			t.Fatalf("after a reset of a wide mask: %x", ev.Mask)
		}
		ev.Mask[1] = 0 // the header's words, as a decoder may write them
		reset()
		if ev.Mask != AllRules {
			t.Fatalf("after a reset of the header's words: %x", ev.Mask)
		}
	}
}
