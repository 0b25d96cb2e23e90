package syntax

import "strings"

// unquote resolves the escapes of a quoted string token, quotes included.
// It returns the value, and the byte index in tok of the first backslash
// that starts an unsupported escape sequence, or -1.
//
// Supported: \b \f \n \r \t \\ \/ \xHH, \" inside "..." only, \' inside
// '...' only, and the legacy "\ " which leaves the backslash (and the blank)
// as written.
func unquote(tok string) (string, int) {
	if len(tok) < 2 {
		return "", 0
	}
	q := tok[0]
	body := tok[1 : len(tok)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body, -1
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(body) {
			return "", i + 1
		}
		switch e := body[i+1]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\':
			b.WriteByte('\\')
		case '/':
			b.WriteByte('/')
		case ' ':
			// Legacy: a backslash before a blank stays a backslash.
			b.WriteByte('\\')
			continue
		case '"', '\'':
			if e != q {
				return "", i + 1
			}
			b.WriteByte(e)
		case 'x':
			if i+3 >= len(body) || !isHex(body[i+2]) || !isHex(body[i+3]) {
				return "", i + 1
			}
			b.WriteByte(unhex(body[i+2])<<4 | unhex(body[i+3]))
			i += 2
		default:
			return "", i + 1
		}
		i++
	}
	return b.String(), -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// quote renders s as a double-quoted string that unquote reads back.
func quote(s string) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\x`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
				continue
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
