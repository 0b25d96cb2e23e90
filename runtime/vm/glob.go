package vm

// globMatch reports whether s matches the shell pattern pat with fnmatch
// semantics and no flags: `*` matches any run of bytes including `/`, `?`
// any single byte, `[...]` a byte class (`!` or `^` negates, `a-z` ranges,
// `]` first is literal) and `\x` the byte x. With fold, ASCII letters match
// regardless of case. It works on bytes and allocates nothing.
func globMatch(pat, s string, fold bool) bool {
	var px, sx int
	// Where to resume after the last `*`: the pattern after the star and
	// the next position in s to try.
	starP, starS := -1, 0
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starP, starS = px+1, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case '[':
				if sx < len(s) {
					if ok, n := matchClass(pat[px:], s[sx], fold); n > 0 {
						if ok {
							px += n
							sx++
							continue
						}
						break
					}
				}
				// An unterminated class is a literal '['.
				if sx < len(s) && s[sx] == '[' && classLen(pat[px:]) == 0 {
					px++
					sx++
					continue
				}
			case '\\':
				if px+1 < len(pat) {
					if sx < len(s) && eqByte(pat[px+1], s[sx], fold) {
						px += 2
						sx++
						continue
					}
				} else if sx < len(s) && s[sx] == '\\' {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && eqByte(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			starS++
			px, sx = starP, starS
			continue
		}
		return false
	}
	return true
}

func eqByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lower(a) == lower(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// classLen returns the length of the bracket expression at the start of
// pat (which starts with '['), or 0 when it is not terminated.
func classLen(pat string) int {
	i := 1
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		i++
	}
	if i < len(pat) && pat[i] == ']' {
		i++
	}
	for i < len(pat) {
		switch pat[i] {
		case ']':
			return i + 1
		case '\\':
			i++
		}
		i++
	}
	return 0
}

// matchClass matches c against the bracket expression at the start of pat.
// n is the length of the expression, 0 when it is not terminated.
func matchClass(pat string, c byte, fold bool) (ok bool, n int) {
	n = classLen(pat)
	if n == 0 {
		return false, 0
	}
	body := pat[1 : n-1]
	neg := false
	if len(body) > 0 && (body[0] == '!' || body[0] == '^') {
		neg = true
		body = body[1:]
	}
	match := false
	for i := 0; i < len(body); {
		lo := body[i]
		if lo == '\\' && i+1 < len(body) {
			i++
			lo = body[i]
		}
		i++
		hi := lo
		if i+1 < len(body) && body[i] == '-' {
			hi = body[i+1]
			if hi == '\\' && i+2 < len(body) {
				hi = body[i+2]
				i++
			}
			i += 2
		}
		if inRange(c, lo, hi) || fold && (inRange(lower(c), lo, hi) || inRange(upper(c), lo, hi)) {
			match = true
		}
	}
	return match != neg, n
}

func inRange(c, lo, hi byte) bool { return lo <= c && c <= hi }

// validGlob reports whether pat is acceptable as a pattern. Every string
// is: fnmatch treats malformed classes literally.
func validGlob(string) bool { return true }
