package output

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a quoted JSON string (see appendEscaped).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends the body of a JSON string for s, escaped the way
// Falco's JSON library does it: '"' and '\\' escaped, \b \f \n \r \t by
// name, other control bytes as \u00xx, no HTML escaping, valid UTF-8 kept
// as is, and every maximal invalid UTF-8 subsequence replaced with one U+FFFD.
// Falco's text alerts go through the same escaping to sanitise them.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			n := validSeqLen(s[i:])
			if n > 0 {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i += invalidSeqLen(s[i:])
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// seqRange gives, for a UTF-8 lead byte, the sequence length and the valid
// range of the second byte. Length 0 means an invalid lead byte.
func seqRange(b byte) (n int, lo, hi byte) {
	switch {
	case b >= 0xC2 && b <= 0xDF:
		return 2, 0x80, 0xBF
	case b == 0xE0:
		return 3, 0xA0, 0xBF
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		return 3, 0x80, 0xBF
	case b == 0xED:
		return 3, 0x80, 0x9F
	case b == 0xF0:
		return 4, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		return 4, 0x80, 0xBF
	case b == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// validSeqLen returns the length of the valid multi-byte sequence at the
// start of s, or 0 when it is invalid.
func validSeqLen(s string) int {
	n, lo, hi := seqRange(s[0])
	if n == 0 || len(s) < n || s[1] < lo || s[1] > hi {
		return 0
	}
	for k := 2; k < n; k++ {
		if s[k] < 0x80 || s[k] > 0xBF {
			return 0
		}
	}
	return n
}

// invalidSeqLen returns the length of the maximal invalid subpart at the
// start of s (at least 1): the lead byte plus the continuation bytes that
// were still acceptable before the sequence broke off.
func invalidSeqLen(s string) int {
	n, lo, hi := seqRange(s[0])
	if n == 0 || len(s) < 2 || s[1] < lo || s[1] > hi {
		return 1
	}
	k := 2
	for k < n && k < len(s) && s[k] >= 0x80 && s[k] <= 0xBF {
		k++
	}
	return k
}
