package event

import (
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// TestResetKeep: the kept parameters of an event of the same type stay,
// the others are unset whole; another type resets everything.
func TestResetKeep(t *testing.T) {
	openat, _ := catalog.EventByName("openat")
	close, _ := catalog.EventByName("close")
	var ev Event
	fill := func() {
		ev.Reset(openat)
		ev.Num, ev.Tid = 9, 5
		for i := range ev.Params {
			ev.Params[i] = Param{Set: true, I: int64(i + 1), S: "x", B: append(ev.Params[i].B[:0], 'b')}
		}
	}
	fill()
	ev.ResetKeep(openat, 1<<1|1<<2)
	if ev.Num != 0 || ev.Tid != 0 || ev.Mask != AllRules {
		t.Errorf("header not reset: %+v", ev)
	}
	for i, p := range ev.Params {
		kept := i == 1 || i == 2
		if kept && (!p.Set || p.I != int64(i+1) || p.S != "x") || !kept && (p.Set || p.I != 0 || p.S != "" || len(p.B) != 0) {
			t.Errorf("param %d (kept %v): %+v", i, kept, p)
		}
	}
	fill()
	ev.ResetKeep(close, 1<<0|1<<1)
	for i, p := range ev.Params {
		if p.Set || p.I != 0 || p.S != "" {
			t.Errorf("another type: param %d kept: %+v", i, p)
		}
	}
}
