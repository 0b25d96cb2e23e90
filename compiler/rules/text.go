package rules

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// fileInfo is one loaded file: its bytes and where its lines start.
type fileInfo struct {
	name  string
	data  []byte
	lines []int // byte offset of the start of each line
}

func newFileInfo(name string, data []byte) *fileInfo {
	f := &fileInfo{name: name, data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	return f
}

// offset converts a yaml.v3 mark (1-based line, 1-based column counted
// in characters) to a byte offset.
func (f *fileInfo) offset(line, col int) int {
	if line < 1 || line > len(f.lines) {
		return len(f.data)
	}
	off := f.lines[line-1]
	for c := 1; c < col && off < len(f.data) && f.data[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(f.data[off:])
		off += n
	}
	return off
}

// lineCol converts a byte offset to a 1-based line and 1-based byte column.
func (f *fileInfo) lineCol(off int) (line, col int) {
	lo, hi := 0, len(f.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, off - f.lines[lo] + 1
}

// lineText returns the text of 1-based line n without its newline.
func (f *fileInfo) lineText(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	start := f.lines[n-1]
	end := len(f.data)
	if n < len(f.lines) {
		end = f.lines[n] - 1
	}
	s := string(f.data[start:end])
	return strings.TrimSuffix(s, "\r")
}

// srcPos is a byte offset in one of the loaded files; file < 0 means the
// byte was synthesized and has no position of its own.
type srcPos struct {
	file int32
	off  int32
}

var noPos = srcPos{file: -1}

func (p srcPos) ok() bool { return p.file >= 0 }

// mtext is text whose every byte remembers where in the files it came
// from, so that an offset into a condition assembled from several YAML
// scalars, list substitutions and exception rewriting still maps back to
// a file position.
type mtext struct {
	s   string
	pos []srcPos
}

func (t *mtext) add(s string, p srcPos) {
	t.s += s
	for range len(s) {
		t.pos = append(t.pos, p)
	}
}

func (t *mtext) addText(o mtext) {
	t.s += o.s
	t.pos = append(t.pos, o.pos...)
}

// at returns the position of byte off, or of the nearest byte before (or
// after) it that has one.
func (t *mtext) at(off int) srcPos {
	if off >= len(t.pos) {
		off = len(t.pos) - 1
	}
	for i := off; i >= 0; i-- {
		if t.pos[i].ok() {
			return t.pos[i]
		}
	}
	for i := max(off, 0); i < len(t.pos); i++ {
		if t.pos[i].ok() {
			return t.pos[i]
		}
	}
	return noPos
}

// trimSpace trims leading and trailing white space, keeping positions.
func (t mtext) trimSpace() mtext {
	start, end := 0, len(t.s)
	for start < end && isSpace(t.s[start]) {
		start++
	}
	for end > start && isSpace(t.s[end-1]) {
		end--
	}
	return mtext{s: t.s[start:end], pos: t.pos[start:end]}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scalarText returns the value of scalar node n with, for each byte, its
// offset in file fi. The value is matched greedily against the source
// text from where the scalar starts, which follows plain, quoted and
// block (| and >) scalars well enough for diagnostics: escapes and folded
// line breaks map to the nearest source byte.
func scalarText(fi *fileInfo, fileIdx int, n *yaml.Node) mtext {
	v := n.Value
	t := mtext{s: v, pos: make([]srcPos, len(v))}
	start := fi.offset(n.Line, n.Column)
	cur := start
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The content starts on the line after the indicator.
		for cur < len(fi.data) && fi.data[cur] != '\n' {
			cur++
		}
		if cur < len(fi.data) {
			cur++
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		cur++
	}
	data := fi.data
	for i := 0; i < len(v); i++ {
		c := v[i]
		j := cur
		found := -1
		// Look a little ahead for the byte: further than a few bytes only
		// across white space (indentation of folded lines).
		for k := 0; j < len(data) && k < 256; j, k = j+1, k+1 {
			if data[j] == c || (c == ' ' && data[j] == '\n') {
				found = j
				break
			}
			if k >= 4 && !isSpace(data[j]) {
				break
			}
		}
		if found < 0 {
			t.pos[i] = srcPos{file: int32(fileIdx), off: int32(min(cur, len(data)))}
			continue
		}
		t.pos[i] = srcPos{file: int32(fileIdx), off: int32(found)}
		cur = found + 1
	}
	return t
}

// quoteItem wraps an item that contains a space in double quotes, unless
// it already starts with a quote, as Falco does when it pastes list items
// and exception values into condition text.
func quoteItem(s string) string {
	if strings.Contains(s, " ") && s[0] != '"' && s[0] != '\'' {
		return `"` + s + `"`
	}
	return s
}

// parenItem wraps an item in parentheses unless it already starts with one.
func parenItem(s string) string {
	if s == "" || s[0] != '(' {
		return "(" + s + ")"
	}
	return s
}

const (
	listBlanks = " \t\n\r"
	listDelims = listBlanks + "(),="
)

// substituteList replaces, textually, every occurrence of the list name in
// cond delimited by the start or end of the text or one of ` \t\n\r(),=`
// with the list's items joined by ", " (each quoted by [quoteItem]).
// Blanks around the name are consumed; an empty list also removes one
// adjacent comma. It reports whether the name occurred. Substituted text
// takes the position of the name it replaces.
func substituteList(cond mtext, name string, items []string) (mtext, bool) {
	if name == "" || !strings.Contains(cond.s, name) {
		return cond, false
	}
	var sub strings.Builder
	for i, it := range items {
		if i > 0 {
			sub.WriteString(", ")
		}
		sub.WriteString(quoteItem(it))
	}
	subst := sub.String()
	used := false
	from := 0
	for {
		i := strings.Index(cond.s[from:], name)
		if i < 0 {
			break
		}
		start := from + i
		end := start + len(name)
		s := cond.s
		if (start > 0 && !strings.ContainsRune(listDelims, rune(s[start-1]))) ||
			(end < len(s) && !strings.ContainsRune(listDelims, rune(s[end]))) {
			from = start + 1
			continue
		}
		namePos := cond.pos[start]
		for start > 0 && strings.ContainsRune(listBlanks, rune(s[start-1])) {
			start--
		}
		for end < len(s) && strings.ContainsRune(listBlanks, rune(s[end])) {
			end++
		}
		if subst == "" {
			if start > 0 && s[start-1] == ',' {
				start--
			} else if end < len(s) && s[end] == ',' {
				end++
			}
		}
		var out mtext
		out.pos = make([]srcPos, 0, len(s)+len(subst)+2)
		if start > 0 {
			out.addText(mtext{s: s[:start], pos: cond.pos[:start]})
			out.add(" ", namePos)
		}
		out.add(subst, namePos)
		out.add(" ", namePos)
		next := len(out.s)
		out.addText(mtext{s: s[end:], pos: cond.pos[end:]})
		cond = out
		used = true
		from = next
	}
	return cond, used
}
