package output

import (
	"math"
	"strconv"
	"time"
)

// Kind is the type of a [Value].
type Kind uint8

// The kinds of values a field can have.
const (
	KindMissing Kind = iota // the field has no value: "<NA>" in text, null in JSON
	KindString
	KindInt
	KindUint
	KindBool
	KindDouble
	KindTime // nanoseconds since the epoch; the text form depends on [TimeFormat]
	KindList // a list of values: "(a,b)" in text, an array in JSON
)

// TimeFormat chooses the text rendering of a [KindTime] value. The JSON form
// is always the number of nanoseconds since the epoch.
type TimeFormat uint8

// Text renderings of times.
const (
	TimeRaw     TimeFormat = iota // decimal nanoseconds (evt.rawtime)
	TimeClock                     // HH:MM:SS.nnnnnnnnn in the local zone (evt.time)
	TimeISO8601                   // YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000 in UTC (evt.time.iso8601)
	TimeDate                      // YYYY-MM-DD HH:MM:SS.nnnnnnnnn in the local zone (evt.datetime)
)

// Value is one extracted field value, typed so that JSON output can keep
// numbers as numbers. The zero Value is missing. Values are plain data and
// safe to copy.
type Value struct {
	Kind Kind
	// TimeFormat applies to KindTime only.
	TimeFormat TimeFormat
	// Str holds KindString.
	Str string
	// Num holds KindInt (two's complement), KindUint, KindBool (0 or 1),
	// KindDouble (IEEE bits) and KindTime (ns since the epoch, as int64).
	Num uint64
	// List holds the elements of KindList.
	List []Value
}

// Missing returns a missing value.
func Missing() Value { return Value{} }

// String returns a string value.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Int returns a signed integer value.
func Int(i int64) Value { return Value{Kind: KindInt, Num: uint64(i)} }

// Uint returns an unsigned integer value.
func Uint(u uint64) Value { return Value{Kind: KindUint, Num: u} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	v := Value{Kind: KindBool}
	if b {
		v.Num = 1
	}
	return v
}

// Double returns a floating-point value.
func Double(f float64) Value { return Value{Kind: KindDouble, Num: math.Float64bits(f)} }

// Time returns a time value of ns nanoseconds since the epoch, rendered in
// text as f says.
func Time(ns int64, f TimeFormat) Value { return Value{Kind: KindTime, TimeFormat: f, Num: uint64(ns)} }

// List returns a list value.
func List(vs ...Value) Value { return Value{Kind: KindList, List: vs} }

// AppendText appends v's text rendering as Falco prints it inside an alert
// message: "<NA>" when missing, lists as "(a,b)". The text is not sanitised
// here; [FormatText] sanitises the whole message. opts may be nil.
func AppendText(dst []byte, v Value, opts *Options) []byte {
	return appendText(dst, v, opts, 0)
}

const maxListDepth = 8

func appendText(dst []byte, v Value, opts *Options, depth int) []byte {
	switch v.Kind {
	case KindString:
		return append(dst, v.Str...)
	case KindInt:
		return strconv.AppendInt(dst, int64(v.Num), 10)
	case KindUint:
		return strconv.AppendUint(dst, v.Num, 10)
	case KindBool:
		return strconv.AppendBool(dst, v.Num != 0)
	case KindDouble:
		return appendFloat(dst, math.Float64frombits(v.Num))
	case KindTime:
		ns := int64(v.Num)
		switch v.TimeFormat {
		case TimeClock:
			return appendClock(dst, ns, opts.location())
		case TimeISO8601:
			return appendISO8601(dst, ns, "+0000")
		case TimeDate:
			return appendDate(dst, ns, opts.location())
		default:
			return strconv.AppendInt(dst, ns, 10)
		}
	case KindList:
		if depth >= maxListDepth {
			return append(dst, "<NA>"...)
		}
		dst = append(dst, '(')
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendText(dst, e, opts, depth+1)
		}
		return append(dst, ')')
	default:
		return append(dst, "<NA>"...)
	}
}

// appendJSONValue appends v as a JSON value: strings escaped, numbers bare,
// missing as null.
func appendJSONValue(dst []byte, v Value, depth int) []byte {
	switch v.Kind {
	case KindString:
		return appendJSONString(dst, v.Str)
	case KindInt:
		return strconv.AppendInt(dst, int64(v.Num), 10)
	case KindUint:
		return strconv.AppendUint(dst, v.Num, 10)
	case KindBool:
		return strconv.AppendBool(dst, v.Num != 0)
	case KindDouble:
		f := math.Float64frombits(v.Num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(dst, "null"...)
		}
		return appendFloat(dst, f)
	case KindTime:
		return strconv.AppendInt(dst, int64(v.Num), 10)
	case KindList:
		if depth >= maxListDepth {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e, depth+1)
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}

func appendFloat(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

func (o *Options) location() *time.Location {
	if o == nil || o.Location == nil {
		return time.Local
	}
	return o.Location
}
