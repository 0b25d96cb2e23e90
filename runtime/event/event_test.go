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
		ev.Mask = m
		reset()
		if ev.Mask != AllRules {
			t.Fatalf("after a reset of a wide mask: %x", ev.Mask)
		}
	}
}
