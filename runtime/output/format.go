package output

import (
	"os"
	"time"
)

// Field is one named value in an alert's output_fields.
type Field struct {
	// Name is the field as written in the output, e.g. "proc.aname[2]".
	Name  string
	Value Value
}

// Alert is one rule match, ready to be formatted. The formatter only reads
// it; the caller may reuse it (and its slices) after the call returns.
type Alert struct {
	// Time is the event time in nanoseconds since the epoch.
	Time     int64
	Rule     string
	Priority Priority
	// Source is the event source, e.g. "syscall".
	Source   string
	Tags     []string
	Hostname string
	// Message is the rule output already rendered (with any append_output
	// text), without the time and priority prefix.
	Message string
	// Fields are the values of the fields named in the output, plus
	// append_output extra fields, in any order; duplicates keep the first.
	Fields []Field
}

// Options controls alert formatting. The zero value is not Falco's default
// (several properties default to true): use [DefaultOptions]. A nil *Options
// means the defaults.
type Options struct {
	// TimeFormatISO8601 prints the prefix time as evt.time.iso8601 instead
	// of evt.time (falco.yaml time_format_iso_8601).
	TimeFormatISO8601 bool
	// JSONIncludeOutputProperty adds "output", the full text line.
	JSONIncludeOutputProperty bool
	// JSONIncludeMessageProperty adds "message", the output without prefix.
	JSONIncludeMessageProperty bool
	// JSONIncludeOutputFieldsProperty adds "output_fields".
	JSONIncludeOutputFieldsProperty bool
	// JSONIncludeTagsProperty adds "tags".
	JSONIncludeTagsProperty bool
	// Location is the zone of evt.time and evt.datetime; nil is time.Local.
	Location *time.Location
}

// DefaultOptions returns Falco 0.44's defaults.
func DefaultOptions() Options {
	return Options{
		JSONIncludeOutputProperty:       true,
		JSONIncludeOutputFieldsProperty: true,
		JSONIncludeTagsProperty:         true,
	}
}

var defaultOptions = DefaultOptions()

// Hostname returns the host name alerts carry: $FALCO_HOSTNAME when set,
// else the kernel's host name, else "".
func Hostname() string {
	if h := os.Getenv("FALCO_HOSTNAME"); h != "" {
		return h
	}
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// FormatText appends the alert's text line (no trailing newline) to dst:
// "<time>: <Priority> <message>", with the line sanitised as Falco does
// (control characters escaped, invalid UTF-8 replaced by U+FFFD).
func FormatText(dst []byte, a *Alert, opts *Options) []byte {
	if opts == nil {
		opts = &defaultOptions
	}
	dst = appendPrefix(dst, a, opts)
	return appendEscaped(dst, a.Message)
}

func appendPrefix(dst []byte, a *Alert, opts *Options) []byte {
	if opts.TimeFormatISO8601 {
		dst = appendISO8601(dst, a.Time, "+0000")
	} else {
		dst = appendClock(dst, a.Time, opts.location())
	}
	dst = append(dst, ": "...)
	dst = append(dst, a.Priority.String()...)
	return append(dst, ' ')
}

// FormatJSON appends the alert as one JSON object (no trailing newline) to
// dst, keys sorted as Falco prints them.
func FormatJSON(dst []byte, a *Alert, opts *Options) []byte {
	if opts == nil {
		opts = &defaultOptions
	}
	dst = append(dst, `{"hostname":`...)
	dst = appendJSONString(dst, a.Hostname)
	if opts.JSONIncludeMessageProperty {
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, a.Message)
	}
	if opts.JSONIncludeOutputProperty {
		dst = append(dst, `,"output":"`...)
		dst = appendPrefix(dst, a, opts)
		dst = appendEscaped(dst, a.Message)
		dst = append(dst, '"')
	}
	if opts.JSONIncludeOutputFieldsProperty {
		dst = append(dst, `,"output_fields":`...)
		dst = appendOutputFields(dst, a, opts)
	}
	dst = append(dst, `,"priority":`...)
	dst = appendJSONString(dst, a.Priority.String())
	dst = append(dst, `,"rule":`...)
	dst = appendJSONString(dst, a.Rule)
	dst = append(dst, `,"source":`...)
	dst = appendJSONString(dst, a.Source)
	if opts.JSONIncludeTagsProperty {
		dst = append(dst, `,"tags":[`...)
		for i, t := range a.Tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, t)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"time":"`...)
	dst = appendISO8601(dst, a.Time, "Z")
	return append(dst, `"}`...)
}

// timeFieldIndex marks the prefix time field in the sort order.
const timeFieldIndex = -1

// appendOutputFields appends the output_fields object: the prefix time field
// and the alert's fields, sorted by name, first occurrence of a name wins.
func appendOutputFields(dst []byte, a *Alert, opts *Options) []byte {
	timeName := "evt.time"
	if opts.TimeFormatISO8601 {
		timeName = "evt.time.iso8601"
	}
	name := func(i int) string {
		if i == timeFieldIndex {
			return timeName
		}
		return a.Fields[i].Name
	}
	// Sort indices with a stable insertion sort; the array stays on the
	// stack for the usual handful of fields.
	var buf [64]int
	var idx []int
	if len(a.Fields)+1 <= len(buf) {
		idx = buf[:0]
	} else {
		idx = make([]int, 0, len(a.Fields)+1)
	}
	idx = append(idx, timeFieldIndex)
	for i := range a.Fields {
		n := a.Fields[i].Name
		j := len(idx)
		idx = append(idx, i)
		for j > 0 && name(idx[j-1]) > n {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = i
	}
	dst = append(dst, '{')
	for k, i := range idx {
		n := name(i)
		if k > 0 {
			if name(idx[k-1]) == n {
				continue
			}
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, n)
		dst = append(dst, ':')
		if i == timeFieldIndex {
			dst = appendInt(dst, a.Time)
		} else {
			dst = appendJSONValue(dst, a.Fields[i].Value, 0)
		}
	}
	return append(dst, '}')
}
