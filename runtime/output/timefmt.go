package output

import (
	"strconv"
	"time"
)

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// appendDigits appends v as exactly width decimal digits (v >= 0).
func appendDigits(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for width > 0 || v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		width--
		if i == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

func appendYear(dst []byte, y int) []byte {
	if y < 0 {
		dst = append(dst, '-')
		y = -y
	}
	return appendDigits(dst, y, 4)
}

// appendClock appends HH:MM:SS.nnnnnnnnn in loc (evt.time).
func appendClock(dst []byte, ns int64, loc *time.Location) []byte {
	t := time.Unix(0, ns).In(loc)
	h, m, s := t.Clock()
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, m, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	return appendDigits(dst, t.Nanosecond(), 9)
}

func appendYMD(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	dst = appendYear(dst, y)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	return appendDigits(dst, d, 2)
}

// appendISO8601 appends YYYY-MM-DDTHH:MM:SS.nnnnnnnnn in UTC followed by
// zone ("+0000" for evt.time.iso8601, "Z" for the JSON time property).
func appendISO8601(dst []byte, ns int64, zone string) []byte {
	t := time.Unix(0, ns).UTC()
	dst = appendYMD(dst, t)
	dst = append(dst, 'T')
	dst = appendClock(dst, ns, time.UTC)
	return append(dst, zone...)
}

// appendDate appends YYYY-MM-DD HH:MM:SS.nnnnnnnnn in loc (evt.datetime).
func appendDate(dst []byte, ns int64, loc *time.Location) []byte {
	t := time.Unix(0, ns).In(loc)
	dst = appendYMD(dst, t)
	dst = append(dst, ' ')
	return appendClock(dst, ns, loc)
}
