package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Event is one decoded audit event. It is immutable once decoded and may
// be read from several goroutines.
type Event struct {
	// Raw is the event's JSON, compacted.
	Raw []byte
	// Time is the event time in ns since the epoch: stageTimestamp, else
	// requestReceivedTimestamp, else the time it was decoded.
	Time int64

	root map[string]any
}

// ErrMalformed is wrapped by the errors of [Decode] for a body that is not
// an audit Event or EventList.
var ErrMalformed = errors.New("malformed audit event")

// Decode decodes a request body: one audit Event object, or an EventList
// whose "items" are Event objects. Every item becomes one Event. now is
// the time given to events that carry no timestamp.
func Decode(body []byte, now time.Time) ([]*Event, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	items, isList := obj["items"]
	if !isList {
		if k, _ := obj["kind"].(string); k == "EventList" {
			return nil, nil // an empty list may omit items
		}
		ev, err := newEvent(obj, now)
		if err != nil {
			return nil, err
		}
		return []*Event{ev}, nil
	}
	list, ok := items.([]any)
	if !ok {
		if items == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: items is not a list", ErrMalformed)
	}
	evs := make([]*Event, 0, len(list))
	for i, it := range list {
		o, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: items[%d] is not a JSON object", ErrMalformed, i)
		}
		ev, err := newEvent(o, now)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func newEvent(obj map[string]any, now time.Time) (*Event, error) {
	if k, ok := obj["kind"].(string); ok && k != "Event" {
		return nil, fmt.Errorf("%w: kind %q is not Event", ErrMalformed, k)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ev := &Event{Raw: raw, root: obj, Time: now.UnixNano()}
	for _, k := range [...]string{"stageTimestamp", "requestReceivedTimestamp"} {
		s, ok := obj[k].(string)
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, k, err)
		}
		ev.Time = t.UnixNano()
		break
	}
	return ev, nil
}
