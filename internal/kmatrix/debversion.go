package kmatrix

import "strings"

// compareVersions compares two Debian package versions as dpkg does
// ([epoch:]upstream[-revision]) and returns -1, 0 or 1.
func compareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if c := compareNumber(ea, eb); c != 0 {
		return c
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

// splitVersion splits a Debian version into epoch, upstream version and
// revision. A missing epoch is "0", a missing revision "".
func splitVersion(v string) (epoch, upstream, revision string) {
	epoch = "0"
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// compareFragment is dpkg's verrevcmp: alternating runs of non-digits
// (compared by [versionOrder]) and digits (compared as numbers).
func compareFragment(a, b string) int {
	for a != "" || b != "" {
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			oa, ob := versionOrder(a), versionOrder(b)
			if oa != ob {
				if oa < ob {
					return -1
				}
				return 1
			}
			a, b = a[1:], b[1:]
		}
		var na, nb string
		na, a = leadingDigits(a)
		nb, b = leadingDigits(b)
		if c := compareNumber(na, nb); c != 0 {
			return c
		}
	}
	return 0
}

// versionOrder weighs the first byte of s in a non-digit run: the end of
// the run or of the string counts 0, '~' sorts before everything (even
// the end), letters sort before other characters.
func versionOrder(s string) int {
	switch {
	case s == "" || isDigit(s[0]):
		return 0
	case s[0] == '~':
		return -1
	case (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'):
		return int(s[0])
	default:
		return int(s[0]) + 256
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// compareNumber compares two runs of decimal digits of any length.
func compareNumber(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
