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

// TestResetSet: only the parameters of set are cleared within the current
// length (those of keep stay for the same type), and parameters the slice
// grows into are reset whatever set says.
func TestResetSet(t *testing.T) {
	openat, _ := catalog.EventByName("openat")
	close, _ := catalog.EventByName("close")
	var ev Event
	fill := func(info *catalog.Event) {
		ev.Reset(info)
		ev.Num, ev.Tid = 9, 5
		for i := range ev.Params {
			ev.Params[i] = Param{Set: true, I: int64(i + 1), S: "x", B: append(ev.Params[i].B[:0], 'b')}
		}
	}
	fill(openat)
	ev.ResetSet(openat, 1<<1|1<<2, 1<<0|1<<1|1<<2|1<<3)
	if ev.Num != 0 || ev.Tid != 0 || ev.Mask != AllRules || ev.Info != openat {
		t.Errorf("header not reset: %+v", ev)
	}
	for i, p := range ev.Params {
		switch {
		case i == 1 || i == 2: // kept
			if !p.Set || p.I != int64(i+1) {
				t.Errorf("kept param %d: %+v", i, p)
			}
		case i == 0 || i == 3: // cleared
			if p.Set || p.I != 0 || p.S != "" || len(p.B) != 0 {
				t.Errorf("param %d not cleared: %+v", i, p)
			}
		default: // not in set: left alone (the caller says it is clean)
			if !p.Set {
				t.Errorf("param %d outside set touched: %+v", i, p)
			}
		}
	}
	// openat's parameters past close's first stay behind Reset(close);
	// growing back into them resets them although set names only 0.
	fill(openat)
	ev.Reset(close)
	ev.Params[0] = Param{Set: true, I: 4}
	ev.ResetSet(openat, 1<<0, 1<<0)
	if len(ev.Params) != len(openat.Params) {
		t.Fatalf("%d params, want %d", len(ev.Params), len(openat.Params))
	}
	for i, p := range ev.Params {
		if p.Set || p.I != 0 || p.S != "" || len(p.B) != 0 {
			t.Errorf("another type: param %d not reset: %+v", i, p)
		}
	}
}
