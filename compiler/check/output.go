package check

import (
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// Template is a checked output format. It is immutable and safe for
// concurrent reads.
type Template struct {
	// Format is the format as checked, with every "%container.info"
	// removed.
	Format string
	// Segments are the pieces of the format in order: literal text, or a
	// value to print.
	Segments []Segment
}

// Segment is one piece of an output format: literal Text when Value is
// nil, else a field or transformer to render (missing values print as
// <NA> in rule outputs).
type Segment struct {
	Pos  syntax.Pos // of the '%' for values, of the first byte for text
	Text string     // the literal text (Value == nil)
	// Value is the field or transformer to print.
	Value *Operand
	// Token is the value as written after '%' and the width:
	// "proc.aname[2]", "toupper(user.name)".
	Token string
	// Width is the minimum width from `%20proc.name` (padded on the
	// right with spaces), 0 for none.
	Width int
}

// Fields returns the distinct value tokens of the template as written
// ("proc.aname[2]", "toupper(user.name)"), in order of first appearance:
// the keys of a JSON alert's output_fields.
func (t *Template) Fields() []string {
	if t == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range t.Segments {
		if s.Value != nil && !seen[s.Token] {
			seen[s.Token] = true
			out = append(out, s.Token)
		}
	}
	return out
}

const containerInfo = "%container.info"

// CheckOutput checks an output format string such as
// "%proc.name opened %fd.name (%toupper(user.name))". A value starts at
// '%', optionally followed by a width (%20proc.name), then the longest
// prefix that is a field (with an optional [arg] when the field takes one)
// or a transformer call. It returns nil when there are errors: code
// LOAD_ERR_COMPILE_OUTPUT, or LOAD_UNKNOWN_FILTER for an unknown field
// (see [Issue.Code]).
func CheckOutput(format string, opts *Options) (*Template, []Issue) {
	c := newChecker(opts, true)
	p := &outParser{c: c, src: format}
	t := &Template{}
	var lit strings.Builder
	litStart := 0
	var kept strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.Segments = append(t.Segments, Segment{Pos: p.pos(litStart), Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); {
		if format[i] != '%' {
			if lit.Len() == 0 {
				litStart = i
			}
			lit.WriteByte(format[i])
			kept.WriteByte(format[i])
			i++
			continue
		}
		if strings.HasPrefix(format[i:], containerInfo) {
			c.issue(p.pos(i), CodeDeprecatedItem, true, msgContainerInfoStrip)
			i += len(containerInfo)
			continue
		}
		seg, next, ok := p.value(i)
		if !ok {
			return nil, c.issues
		}
		flush()
		kept.WriteString(format[i:next])
		t.Segments = append(t.Segments, seg)
		i = next
	}
	flush()
	t.Format = kept.String()
	if c.failed {
		return nil, c.issues
	}
	return t, c.issues
}

// outParser scans an output format.
type outParser struct {
	c   *checker
	src string
}

// pos converts a byte offset of the format into a position.
func (p *outParser) pos(off int) syntax.Pos {
	line, col := 1, 1
	for i := 0; i < off && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return syntax.Pos{Offset: off, Line: line, Column: col, Origin: p.c.origin}
}

func (p *outParser) fail(off int, msg string) {
	p.c.issue(p.pos(off), CodeCompileOutput, false, msg)
}

// value parses the value starting at the '%' at offset i. It returns the
// segment and the offset after it.
func (p *outParser) value(i int) (Segment, int, bool) {
	s := p.src
	seg := Segment{Pos: p.pos(i)}
	j := i + 1
	if j >= len(s) {
		p.fail(i, "invalid formatting syntax: formatting cannot end with a %")
		return seg, 0, false
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		if seg.Width < 1<<20 {
			seg.Width = seg.Width*10 + int(s[j]-'0')
		}
		j++
	}
	if j >= len(s) {
		p.fail(i, "invalid formatting syntax: formatting cannot end with a number")
		return seg, 0, false
	}
	run := nameRun(s[j:])
	if isTransformer(run) && j+len(run) < len(s) && s[j+len(run)] == '(' {
		node, end, ok := p.transformer(j)
		if !ok {
			return seg, 0, false
		}
		op := p.c.transform(node, 0)
		if op == nil {
			return seg, 0, false
		}
		seg.Value, seg.Token = op, s[j:end]
		return seg, end, true
	}
	node, end := p.field(j, run)
	if node == nil {
		// A name that is no field is an unknown field (skippable); no name
		// at all is a plain format error.
		tok, code := run, CodeUnknownFilter
		if tok == "" {
			tok, code = s[j:j+1], CodeCompileOutput
		}
		p.c.issue(p.pos(j), code, false, "invalid formatting token "+tok)
		return seg, 0, false
	}
	op := p.c.field(node)
	if op == nil {
		return seg, 0, false
	}
	seg.Value, seg.Token = op, s[j:end]
	return seg, end, true
}

// field finds the longest prefix of run (at offset j) that names a field
// of the source, with a bracket argument when the field takes one and one
// follows. It returns nil when no prefix is a field.
func (p *outParser) field(j int, run string) (*syntax.Field, int) {
	s := p.src
	run = strings.TrimRight(run, ".")
	for l := len(run); l > 0; l-- {
		name := run[:l]
		if strings.IndexByte(name, '.') < 0 {
			break
		}
		f, _, hasDot, ok := catalog.Lookup(name)
		if !ok || !p.c.fieldSource(f) {
			continue
		}
		node := &syntax.Field{Pos: p.pos(j), Name: name}
		end := j + l
		if !hasDot && f.Arg != catalog.ArgNone && end < len(s) && s[end] == '[' {
			if k := strings.IndexByte(s[end:], ']'); k > 0 {
				node.Arg, node.HasArg = s[end+1:end+k], true
				end += k + 1
			}
		}
		return node, end
	}
	return nil, 0
}

// nameRun returns the leading run of bytes that may form a field name
// (with a dotted argument) or a transformer name.
func nameRun(s string) string {
	i := 0
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	return s[:i]
}

func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '_' || b == '.' || b == '-' || b == '/'
}

func isTransformer(name string) bool {
	switch name {
	case "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt":
		return true
	}
	return false
}

// transformer parses a transformer call starting at offset j (its name)
// into a syntax node. It returns the node and the offset after it.
func (p *outParser) transformer(j int) (*syntax.Transform, int, bool) {
	s := p.src
	name := nameRun(s[j:])
	n := &syntax.Transform{Pos: p.pos(j), Name: name}
	k := j + len(name) + 1 // after '('
	items, k, ok := p.args(k, 0)
	if !ok {
		return nil, 0, false
	}
	n.Args = items
	if k < len(s) && s[k] == '[' {
		e := strings.IndexByte(s[k:], ']')
		if e < 0 {
			p.fail(k, "missing ']' after transformer argument")
			return nil, 0, false
		}
		n.Index, n.HasIndex = s[k+1:k+e], true
		k += e + 1
	}
	return n, k, true
}

// args parses comma-separated arguments up to the closing ')', starting
// just after the '('. It returns the offset after the ')'.
func (p *outParser) args(k, depth int) ([]syntax.Operand, int, bool) {
	s := p.src
	if depth > maxTransformDepth {
		p.fail(k, "transformers nested too deeply")
		return nil, 0, false
	}
	var out []syntax.Operand
	k = skipBlanks(s, k)
	if k < len(s) && s[k] == ')' {
		return out, k + 1, true
	}
	for {
		k = skipBlanks(s, k)
		a, next, ok := p.arg(k, depth)
		if !ok {
			return nil, 0, false
		}
		out = append(out, a)
		k = skipBlanks(s, next)
		if k >= len(s) {
			p.fail(k, "missing ')' in transformer")
			return nil, 0, false
		}
		switch s[k] {
		case ',':
			k++
		case ')':
			return out, k + 1, true
		default:
			p.fail(k, "expected ',' or ')' in transformer, got '"+s[k:k+1]+"'")
			return nil, 0, false
		}
	}
}

// arg parses one transformer argument at offset k.
func (p *outParser) arg(k, depth int) (syntax.Operand, int, bool) {
	s := p.src
	if k >= len(s) {
		p.fail(k, "missing ')' in transformer")
		return nil, 0, false
	}
	switch c := s[k]; {
	case c == '"' || c == '\'':
		e := strings.IndexByte(s[k+1:], c)
		if e < 0 {
			p.fail(k, "unterminated quoted string")
			return nil, 0, false
		}
		return &syntax.Literal{Pos: p.pos(k), Value: s[k+1 : k+1+e], Quoted: true}, k + e + 2, true
	case c == '(':
		items, next, ok := p.args(k+1, depth+1)
		if !ok {
			return nil, 0, false
		}
		return &syntax.List{Pos: p.pos(k), Items: items}, next, true
	}
	run := nameRun(s[k:])
	switch {
	case run == "":
		p.fail(k, "unexpected '"+s[k:k+1]+"' in transformer")
		return nil, 0, false
	case isTransformer(run) && k+len(run) < len(s) && s[k+len(run)] == '(':
		n, next, ok := p.transformer(k)
		return n, next, ok
	case strings.IndexByte(run, '.') < 0:
		return &syntax.Literal{Pos: p.pos(k), Value: run}, k + len(run), true
	}
	n := &syntax.Field{Pos: p.pos(k), Name: run}
	next := k + len(run)
	if next < len(s) && s[next] == '[' {
		e := strings.IndexByte(s[next:], ']')
		if e < 0 {
			p.fail(next, "missing ']' after field argument")
			return nil, 0, false
		}
		n.Arg, n.HasArg = s[next+1:next+e], true
		next += e + 1
	}
	return n, next, true
}

func skipBlanks(s string, k int) int {
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	return k
}
