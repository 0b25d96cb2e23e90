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
	// Raw is the event's JSON as it was sent, compacted (jevt.obj).
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
	var top map[string]json.RawMessage
	if err := decodeOne(body, &top); err != nil {
		return nil, err
	}
	items, isList := top["items"]
	if !isList {
		if k, _ := unquote(top["kind"]); k == "EventList" {
			return nil, nil // an empty list may omit items
		}
		ev, err := newEvent(body, now)
		if err != nil {
			return nil, err
		}
		return []*Event{ev}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(items, &list); err != nil {
		return nil, fmt.Errorf("%w: items is not a list", ErrMalformed)
	}
	evs := make([]*Event, 0, len(list))
	for i, it := range list {
		ev, err := newEvent(it, now)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// decodeOne decodes data, which must hold exactly one JSON object, into v.
func decodeOne(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: not a JSON object", ErrMalformed)
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	}
	return nil
}

// unquote returns a JSON string's value.
func unquote(raw json.RawMessage) (string, bool) {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// newEvent decodes one Event object; Raw keeps its JSON as sent, compacted.
func newEvent(data []byte, now time.Time) (*Event, error) {
	var obj map[string]any
	if err := decodeOne(data, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if k, ok := obj["kind"].(string); ok && k != "Event" {
		return nil, fmt.Errorf("%w: kind %q is not Event", ErrMalformed, k)
	}
	var raw bytes.Buffer
	if err := json.Compact(&raw, data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ev := &Event{Raw: raw.Bytes(), root: obj, Time: now.UnixNano()}
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
