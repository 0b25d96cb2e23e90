package output

// InternalSource is the source of Falco's internal alerts.
const InternalSource = "internal"

// FormatInternalText appends an internal alert's text line as Falco prints
// its "Falco internal: ..." messages: "<time>: <Priority> <msg> (k="v" n=1 ...)",
// the time always as evt.time, each value as its JSON text.
func FormatInternalText(dst []byte, ts int64, p Priority, msg string, fields []InternalField, opts *Options) []byte {
	if opts == nil {
		opts = &defaultOptions
	}
	dst = appendClock(dst, ts, opts.location())
	dst = append(dst, ": "...)
	dst = append(dst, p.String()...)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, msg)
	dst = append(dst, " ("...)
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendEscaped(dst, f.Name)
		dst = append(dst, '=')
		dst = appendJSONValue(dst, f.Value, 0)
	}
	return append(dst, ')')
}

// FormatInternalJSON appends an internal alert as the JSON object Falco
// prints for it: hostname, output (the message alone), output_fields,
// priority, rule, source "internal" and time, keys sorted; fields must be
// sorted by name.
func FormatInternalJSON(dst []byte, ts int64, p Priority, rule, msg, hostname string, fields []InternalField) []byte {
	dst = append(dst, `{"hostname":`...)
	dst = appendJSONString(dst, hostname)
	dst = append(dst, `,"output":`...)
	dst = appendJSONString(dst, msg)
	dst = append(dst, `,"output_fields":{`...)
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.Name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, f.Value, 0)
	}
	dst = append(dst, `},"priority":`...)
	dst = appendJSONString(dst, p.String())
	dst = append(dst, `,"rule":`...)
	dst = appendJSONString(dst, rule)
	dst = append(dst, `,"source":"internal","time":"`...)
	dst = appendISO8601(dst, ts, "Z")
	return append(dst, `"}`...)
}
