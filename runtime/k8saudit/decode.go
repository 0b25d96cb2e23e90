package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one decoded audit event. It is immutable once decoded and may
// be read from several goroutines.
type Event struct {
	// Raw is the event's JSON, compacted, key order and escapes as sent.
	Raw []byte
	// Time is the event's stageTimestamp in ns since the epoch.
	Time int64

	root *node
}

// Errors of [Decode]. The texts of ErrNotAudit and ErrNoTimestamp are the
// k8saudit plugin's.
var (
	// ErrMalformed: the body is not JSON.
	ErrMalformed = errors.New("malformed audit event")
	// ErrNotAudit: the body (or an item of an EventList) is not an audit
	// Event or EventList.
	ErrNotAudit = errors.New("data not recognized as a k8s audit event")
	// ErrNoTimestamp: an event has no stageTimestamp.
	ErrNoTimestamp = errors.New("can't read stageTimestamp")
	// ErrTooLarge: an event is larger than DecodeOptions.MaxEventBytes.
	ErrTooLarge = errors.New("event larger than maxEventSize")
)

// DefaultMaxEventBytes is the k8saudit plugin's maxEventSize.
const DefaultMaxEventBytes = 256 << 10

// DecodeOptions configure [Decode].
type DecodeOptions struct {
	// MaxEventBytes bounds one event's compact JSON; a larger event is
	// refused. 0 means DefaultMaxEventBytes.
	MaxEventBytes int
}

// Decode decodes a request body as the k8saudit plugin does. The body is
// an audit Event, an EventList whose items are Events, or a JSON array of
// those. A body that is none of them is refused whole (err is
// ErrMalformed or ErrNotAudit and no event is returned), as is an array
// with one element that is none of them. An item of an EventList without
// a valid stageTimestamp, larger than the limit, or whose kind is not the
// string "Event" is refused alone: refused has one error per such item,
// and the other items are returned.
func Decode(body []byte, opts DecodeOptions) (evs []*Event, refused []error, err error) {
	if opts.MaxEventBytes <= 0 {
		opts.MaxEventBytes = DefaultMaxEventBytes
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	root, err := parseJSON(compact.String())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	d := decoder{opts: opts}
	if err := d.value(root); err != nil {
		return nil, nil, err
	}
	return d.evs, d.refused, nil
}

type decoder struct {
	opts    DecodeOptions
	evs     []*Event
	refused []error
}

// value takes an Event, an EventList or an array of them.
func (d *decoder) value(n *node) error {
	if n.k == kArray {
		for _, el := range n.vals {
			if err := d.value(el); err != nil {
				return err
			}
		}
		return nil
	}
	switch k := n.get("kind"); {
	case k == nil || k.k != kString:
	case k.s == "Event":
		if err := d.item(n); err != nil {
			d.refused = append(d.refused, err)
		}
		return nil
	case k.s == "EventList":
		if items := n.get("items"); items != nil && items.k == kArray {
			for i, it := range items.vals {
				if k := it.get("kind"); k != nil && (k.k != kString || k.s != "Event") {
					d.refused = append(d.refused, fmt.Errorf("items[%d]: %w", i, ErrNotAudit))
					continue
				}
				if err := d.item(it); err != nil {
					d.refused = append(d.refused, fmt.Errorf("items[%d]: %w", i, err))
				}
			}
			return nil
		}
	}
	return ErrNotAudit
}

// item takes one event or says why not.
func (d *decoder) item(n *node) error {
	ts := n.get("stageTimestamp")
	if ts == nil {
		return ErrNoTimestamp
	}
	s := ""
	if ts.k == kString {
		s = ts.s
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("stageTimestamp: %w", err)
	}
	if len(n.raw) > d.opts.MaxEventBytes {
		return fmt.Errorf("%w: size=%d", ErrTooLarge, len(n.raw))
	}
	d.evs = append(d.evs, &Event{Raw: []byte(n.raw), Time: t.UnixNano(), root: n})
	return nil
}
