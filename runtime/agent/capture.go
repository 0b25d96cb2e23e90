package agent

import (
	"io"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// maxCapturedAncestors bounds how many ancestors of a new thread
// --capture describes.
const maxCapturedAncestors = 16

// captureWriter records processed events for --capture. The first time a
// thread appears, its ancestors that the file does not describe yet are
// written first, each as a "procinfo" event carrying its process context,
// so that a replay knows the whole ancestry (proc.aname[N], proc.pname).
// Those procinfo events also go through the engine, and every event is
// numbered here, so that the live run and the replay see the same event
// stream (evt.num included).
type captureWriter struct {
	w        *replay.Writer
	seen     map[int64]bool
	chain    []*state.Thread
	procinfo *catalog.Event
	pev      event.Event
	num      uint64
	// scap, when set, records in a libscap capture instead (--capture
	// FILE.scap): its tables describe every thread, so no procinfo
	// events are written.
	scap *replay.ScapCapture
}

func newCaptureWriter(f io.Writer) *captureWriter {
	pi, _ := catalog.EventByName("procinfo")
	return &captureWriter{w: replay.NewWriter(f), seen: make(map[int64]bool), procinfo: pi}
}

// write writes ev, whose thread (before ev is applied) is th; the
// procinfo events it writes first go through eng.
func (c *captureWriter) write(ev *event.Event, th *state.Thread, eng *engine.Engine) error {
	if c.scap != nil {
		return c.scap.Write(ev, eng.Table())
	}
	if th != nil && !c.seen[ev.Tid] && c.procinfo != nil {
		c.chain = c.chain[:0]
		for p := th.Parent(); p != nil && len(c.chain) < maxCapturedAncestors && !c.seen[p.Tid]; p = p.Parent() {
			c.chain = append(c.chain, p)
		}
		for i := len(c.chain) - 1; i >= 0; i-- {
			a := c.chain[i]
			c.pev.Reset(c.procinfo)
			c.pev.Ts, c.pev.Tid, c.pev.Pid = ev.Ts, a.Tid, a.Pid()
			c.num++
			c.pev.Num = c.num
			c.seen[a.Tid] = true
			if err := c.w.Write(&c.pev, a); err != nil {
				return err
			}
			eng.Process(&c.pev)
		}
	}
	if th != nil {
		c.seen[ev.Tid] = true
	}
	c.num++
	ev.Num = c.num
	return c.w.Write(ev, th)
}

// flush ends the capture file.
func (c *captureWriter) flush(table *state.Table) error {
	if c.scap != nil {
		return c.scap.Close(table)
	}
	return c.w.Flush()
}
