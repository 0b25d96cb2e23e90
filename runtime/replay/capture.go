package replay

import (
	"fmt"
	"io"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/scap"
	"github.com/falcoc/falcoc/runtime/state"
)

// ScapCapture records a session's events in a libscap capture
// (--capture FILE.scap): the state's threads, descriptors and users as
// they are before the first event, then every event. It is not safe for
// concurrent use.
type ScapCapture struct {
	w        *scap.Writer
	enc      *scap.Encoder
	raw      scap.RawEvent
	users    *state.Users
	hostname string
	started  bool
	written  uint64
}

// NewScapCapture returns a capture writing to w; users (may be nil) gives
// the user list, hostname the machine info.
func NewScapCapture(w io.Writer, users *state.Users, hostname string) *ScapCapture {
	return &ScapCapture{w: scap.NewWriter(w), enc: scap.NewEncoder(), users: users, hostname: hostname}
}

// Write records ev; the first call writes the tables of table first.
func (c *ScapCapture) Write(ev *event.Event, table *state.Table) error {
	if !c.started {
		c.started = true
		var us []state.User
		var gs []state.Group
		if c.users != nil {
			us, gs = c.users.HostTable()
		}
		if err := c.w.WriteHeader(scap.HeaderFromState(table, us, gs, c.hostname)); err != nil {
			return err
		}
	}
	if !c.enc.Encode(ev, &c.raw) {
		return nil // counted by the encoder
	}
	c.written++
	return c.w.WriteRaw(&c.raw)
}

// Close writes the tables if no event came (a capture needs them) and
// flushes.
func (c *ScapCapture) Close(table *state.Table) error {
	if !c.started && table != nil {
		c.started = true
		if err := c.w.WriteHeader(scap.HeaderFromState(table, nil, nil, c.hostname)); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// Summary tells what was written and what could not be.
func (c *ScapCapture) Summary() string {
	s := c.enc.Stats()
	out := fmt.Sprintf("Capture written: %d events", c.written)
	if s.NoCode > 0 {
		out += fmt.Sprintf(", %d events without a libscap event code not written %v", s.NoCode, s.NoCodeByName)
	}
	return out
}
