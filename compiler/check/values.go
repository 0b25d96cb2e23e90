package check

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// parseValue parses one right-hand-side constant by the type of the left
// operand, as Falco's string_to_rawval does. The error text is a complete
// issue message.
func parseValue(t catalog.Type, op syntax.Op, text string, pos syntax.Pos) (Value, string) {
	v := Value{Pos: pos, Text: text}
	if op == syntax.OpRegex {
		if _, err := regexp.Compile(text); err != nil {
			return v, "invalid regex pattern: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		}
		v.Regex = `^(?:` + text + `)$`
		return v, ""
	}
	switch t {
	case catalog.TypeInt8:
		return parseSigned(v, 8, t)
	case catalog.TypeInt16:
		return parseSigned(v, 16, t)
	case catalog.TypeInt32:
		return parseSigned(v, 32, t)
	case catalog.TypeInt64:
		return parseSigned(v, 64, t)
	case catalog.TypeUint8:
		return parseUnsigned(v, 8, t)
	case catalog.TypeUint16, catalog.TypePort:
		return parseUnsigned(v, 16, t)
	case catalog.TypeUint32:
		return parseUnsigned(v, 32, t)
	case catalog.TypeUint64, catalog.TypeAbsTime, catalog.TypeRelTime:
		return parseUnsigned(v, 64, t)
	case catalog.TypeDouble:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v, fmt.Sprintf("'%s' is not a valid %s value", text, typeName(t))
		}
		v.Float = f
	case catalog.TypeBool:
		switch text {
		case "true":
			v.Bool = true
		case "false":
		default:
			return v, fmt.Sprintf("'%s' is not a valid BOOL value: expected true or false", text)
		}
	case catalog.TypeIPAddr:
		a, err := netip.ParseAddr(text)
		if err != nil || a.Zone() != "" {
			return v, fmt.Sprintf("'%s' is not a valid IPADDR value", text)
		}
		v.Addr = a
	case catalog.TypeIPNet:
		if strings.IndexByte(text, '/') >= 0 {
			p, err := netip.ParsePrefix(text)
			if err != nil {
				return v, fmt.Sprintf("'%s' is not a valid IPNET value", text)
			}
			v.Net = p.Masked()
			v.Addr = p.Addr()
		} else {
			a, err := netip.ParseAddr(text)
			if err != nil || a.Zone() != "" {
				return v, fmt.Sprintf("'%s' is not a valid IPNET value", text)
			}
			v.Addr = a
			v.Net = netip.PrefixFrom(a, a.BitLen())
		}
	case catalog.TypeBytes:
		if op == syntax.OpBContains || op == syntax.OpBStartsWith {
			b, err := hex.DecodeString(text)
			if err != nil {
				return v, fmt.Sprintf("'%s' is not a valid hexadecimal string for '%s'", text, op)
			}
			v.Bytes = b
		} else {
			v.Bytes = []byte(text)
		}
	case catalog.TypeDyn:
		if i, ok := parseInt(text); ok {
			v.Int, v.IsInt = i, true
		}
	}
	return v, ""
}

// parseInt parses a decimal (optionally signed) or 0x-hexadecimal integer.
func parseInt(s string) (int64, bool) {
	if u, neg, ok := splitNumber(s); ok {
		if neg {
			if u > 1<<63 {
				return 0, false
			}
			return -int64(u), true
		}
		if u > math.MaxInt64 {
			return 0, false
		}
		return int64(u), true
	}
	return 0, false
}

// splitNumber parses s as [+-]digits or [+-]0x hexdigits, returning the
// magnitude and the sign.
func splitNumber(s string) (mag uint64, neg bool, ok bool) {
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, s = 16, s[2:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' || strings.IndexByte(s, '_') >= 0 {
		return 0, false, false
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false, false
	}
	return u, neg, true
}

func parseSigned(v Value, bits int, t catalog.Type) (Value, string) {
	mag, neg, ok := splitNumber(v.Text)
	if !ok {
		return v, fmt.Sprintf("'%s' is not a valid %s value", v.Text, typeName(t))
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	if (neg && mag > limit) || (!neg && mag >= limit) {
		return v, fmt.Sprintf("'%s' is out of range for %s", v.Text, typeName(t))
	}
	if neg {
		v.Int = -int64(mag)
	} else {
		v.Int = int64(mag)
	}
	v.IsInt = true
	return v, ""
}

func parseUnsigned(v Value, bits int, t catalog.Type) (Value, string) {
	mag, neg, ok := splitNumber(v.Text)
	if !ok {
		return v, fmt.Sprintf("'%s' is not a valid %s value", v.Text, typeName(t))
	}
	if (neg && mag != 0) || (bits < 64 && mag >= 1<<bits) {
		return v, fmt.Sprintf("'%s' is out of range for %s", v.Text, typeName(t))
	}
	v.Uint = mag
	return v, ""
}

// regexSpecial lists the characters that make a pattern more than a plain
// string for the regex-simplification warning.
const regexSpecial = `.^$*+?()[]{}|\`

// plainRegex reports whether a regex pattern has no special character, so a
// string operator would do.
func plainRegex(p string) bool { return !strings.ContainsAny(p, regexSpecial) }
