package vm

import (
	"encoding/base64"
	"strings"
	"unsafe"
)

// transform computes a transformer operand into slot s. Results that are
// text live in s.buf and are valid until the operand is recomputed for
// another event.
func (m *VM) transform(env Env, s *slot, o *Operand) bool {
	s.buf = s.buf[:0]
	s.lst = s.lst[:0]
	switch o.Transform {
	case TransformToLower, TransformToUpper, TransformBasename:
		return m.transformMap(env, s, o)
	case TransformB64:
		return m.transformB64(env, s, o)
	case TransformLen:
		return m.transformLen(env, s, o)
	case TransformJoin:
		return m.transformJoin(env, s, o)
	case TransformConcat:
		return m.transformConcat(env, s, o)
	case TransformGetopt:
		return m.getopt(env, s, o)
	}
	return false
}

// transformMap applies tolower, toupper or basename to a string, bytes or list.
func (m *VM) transformMap(env Env, s *slot, o *Operand) bool {
	x, ok := m.load(env, int(o.Args[0]))
	if !ok {
		return false
	}
	switch x.Kind {
	case KindString:
		s.v = Value{Kind: KindString, S: s.mapString(o.Transform, x.S)}
	case KindBytes:
		str := s.mapString(o.Transform, bstr(x.B))
		s.v = Value{Kind: KindBytes, B: s.buf[len(s.buf)-len(str):]}
	case KindList:
		for _, e := range x.L {
			s.lst = append(s.lst, s.mapString(o.Transform, e))
		}
		s.v = Value{Kind: KindList, L: s.lst}
	default:
		return false
	}
	return true
}

// transformB64 decodes base64.
func (m *VM) transformB64(env Env, s *slot, o *Operand) bool {
	x, ok := m.load(env, int(o.Args[0]))
	if !ok {
		return false
	}
	var in string
	switch x.Kind {
	case KindString:
		in = x.S
	case KindBytes:
		in = bstr(x.B)
	default:
		return false
	}
	out, ok := s.b64(in)
	if !ok {
		return false
	}
	if x.Kind == KindBytes {
		s.v = Value{Kind: KindBytes, B: out}
	} else {
		s.v = Value{Kind: KindString, S: bstr(out)}
	}
	return true
}

// transformLen gives the length of a string, bytes or list.
func (m *VM) transformLen(env Env, s *slot, o *Operand) bool {
	x, ok := m.load(env, int(o.Args[0]))
	if !ok {
		return false
	}
	var n int
	switch x.Kind {
	case KindString:
		n = len(x.S)
	case KindBytes:
		n = len(x.B)
	case KindList:
		n = len(x.L)
	default:
		return false
	}
	s.v = Value{Kind: KindUint, U: uint64(n)}
	return true
}

// transformJoin joins a list with a separator.
func (m *VM) transformJoin(env Env, s *slot, o *Operand) bool {
	if len(o.Args) != 2 {
		return false
	}
	sep, ok := m.load(env, int(o.Args[0]))
	if !ok || sep.Kind != KindString {
		return false
	}
	x, ok := m.load(env, int(o.Args[1]))
	if !ok {
		return false
	}
	switch x.Kind {
	case KindString:
		s.buf = append(s.buf, x.S...)
	case KindList:
		for i, e := range x.L {
			if i > 0 {
				s.buf = append(s.buf, sep.S...)
			}
			s.buf = append(s.buf, e...)
		}
	default:
		return false
	}
	s.v = Value{Kind: KindString, S: bstr(s.buf)}
	return true
}

// transformConcat concatenates its operands.
func (m *VM) transformConcat(env Env, s *slot, o *Operand) bool {
	for _, a := range o.Args {
		x, ok := m.load(env, int(a))
		if !ok {
			return false
		}
		switch x.Kind {
		case KindString:
			s.buf = append(s.buf, x.S...)
		case KindBytes:
			s.buf = append(s.buf, x.B...)
		case KindList:
			for _, e := range x.L {
				s.buf = append(s.buf, e...)
			}
		default:
			return false
		}
	}
	s.v = Value{Kind: KindString, S: bstr(s.buf)}
	return true
}

// mapString appends f(x) to s.buf and returns a view of it.
func (s *slot) mapString(t Transform, x string) string {
	start := len(s.buf)
	switch t {
	case TransformToLower:
		for i := 0; i < len(x); i++ {
			s.buf = append(s.buf, lower(x[i]))
		}
	case TransformToUpper:
		for i := 0; i < len(x); i++ {
			s.buf = append(s.buf, upper(x[i]))
		}
	case TransformBasename:
		if i := strings.LastIndexByte(x, '/'); i >= 0 {
			x = x[i+1:]
		}
		s.buf = append(s.buf, x...)
	}
	return bstr(s.buf[start:])
}

// b64 decodes standard base64, padded or not, into s.buf.
func (s *slot) b64(in string) ([]byte, bool) {
	enc := base64.StdEncoding
	if len(in)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	need := enc.DecodedLen(len(in))
	if cap(s.buf) < need {
		s.buf = make([]byte, need)
	}
	s.buf = s.buf[:need]
	n, err := enc.Decode(s.buf, unsafe.Slice(unsafe.StringData(in), len(in)))
	if err != nil {
		return nil, false
	}
	s.buf = s.buf[:n]
	return s.buf, true
}

// getopt extracts options from an argument list with POSIX getopt rules:
// arguments are scanned until the first one that is not an option or
// after "--"; "-abc" holds several flags; an option whose letter is
// followed by ':' in the option string takes the rest of its argument or
// the next argument as its value. A string argument list is split on
// spaces.
//
// With [c], the result is the value of the first occurrence of option c
// ("" for a flag) and is missing when c does not occur. Without it, the
// result is the list of the option letters found, in order.
func (m *VM) getopt(env Env, s *slot, o *Operand) bool {
	if len(o.Args) != 2 {
		return false
	}
	argv, ok := m.load(env, int(o.Args[0]))
	if !ok {
		return false
	}
	optv, ok := m.load(env, int(o.Args[1]))
	if !ok || optv.Kind != KindString {
		return false
	}
	optstring := optv.S
	var want byte
	if o.HasTransformArg {
		if len(o.TransformArg) != 1 {
			return false
		}
		want = o.TransformArg[0]
	}
	var list []string
	var text string
	switch argv.Kind {
	case KindList:
		list = argv.L
	case KindString:
		text = argv.S
	default:
		return false
	}
	next := func() (string, bool) {
		if argv.Kind == KindList {
			if len(list) == 0 {
				return "", false
			}
			a := list[0]
			list = list[1:]
			return a, true
		}
		text = strings.TrimLeft(text, " ")
		if text == "" {
			return "", false
		}
		a := text
		if i := strings.IndexByte(text, ' '); i >= 0 {
			a, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		return a, true
	}
	for {
		a, more := next()
		if !more || a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		for i := 1; i < len(a); i++ {
			c := a[i]
			k := strings.IndexByte(optstring, c)
			if c == ':' || k < 0 {
				continue // unknown option
			}
			takesArg := k+1 < len(optstring) && optstring[k+1] == ':'
			var val string
			if takesArg {
				if i+1 < len(a) {
					val = a[i+1:]
				} else if v, ok := next(); ok {
					val = v
				} else {
					// Missing argument: getopt reports an error.
					break
				}
			}
			if o.HasTransformArg {
				if c == want {
					s.buf = append(s.buf, val...)
					s.v = Value{Kind: KindString, S: bstr(s.buf)}
					return true
				}
			} else {
				start := len(s.buf)
				s.buf = append(s.buf, c)
				s.lst = append(s.lst, bstr(s.buf[start:]))
			}
			if takesArg {
				break
			}
		}
	}
	if o.HasTransformArg {
		return false
	}
	s.v = Value{Kind: KindList, L: s.lst}
	return true
}
