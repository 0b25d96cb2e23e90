package replay

import (
	"encoding/binary"

	"github.com/falcoc/falcoc/runtime/event"
)

// Line templates.
//
// The lines of a trace come in a few shapes: the same keys in the same
// order with the same spacing, only the values differ. After the fast
// decoder takes a line, the Reader keeps its shape as a template: the
// bytes between the values (keys, punctuation, white space) and what
// each value is (a top-level key's or a parameter's). A later line is
// first matched against the templates: its bytes between values must be
// exactly the template's, and each value is decoded by the very function
// the fast decoder uses for it (fastKey, fastParam). So a line a template
// takes is one the fast decoder would have taken, with the same result:
// the same keys in the same order, each value decoded the same way; only
// the key lookups and the white space and punctuation checks are saved.
// TestGeneratedFastMatchesSlow, TestTemplateMatchesFast and the fuzz test
// check it against the reference.
//
// A Reader keeps at most maxTemplates templates, most recently used
// first; a new shape replaces the least recently used one, reusing its
// buffers, so a trace whose shapes keep changing allocates nothing more
// once the buffers have grown.

// maxTemplates is the number of line shapes a Reader remembers.
const maxTemplates = 8

// template is the shape of a line.
type template struct {
	desc *typeDesc
	// text holds the literal bytes, concatenated; ends[k] is where
	// literal k ends in it. There is one more literal than there are
	// slots: values sit between literals.
	text  []byte
	ends  []int
	lits  []literal
	slots []recSlot
	// typeLit is the type's value as written (the event type is t's) and
	// the literal after it, typeText its bytes; typeLit.n is 0 when the
	// line had no type slot.
	typeLit  literal
	typeText []byte
	// keep has the bit of each parameter the template fills whose kind
	// writes one member whatever the value (not addresses): an event of
	// t's type that t's Reader filled keeps them at Reset (ResetKeep).
	keep uint64
	// sibs remembers the siblings found for this template (see sibling),
	// next is the entry to replace; learn forgets them all.
	sibs [4]sibMemo
	next int
}

// sibMemo is a sibling of a template: the template for events of type d
// whose shape up to slot k (the type) is the same.
type sibMemo struct {
	d *typeDesc
	k int
	t *template
}

// recSlot is one value of a line: a top-level key (key, with param -1)
// or parameter param of the arguments. start and end delimit the value
// in the recorded line (unused in a template).
type recSlot struct {
	key        uint
	param      int
	start, end int
}

// record notes a value decodeFast decoded, for learn.
func (r *Reader) record(start, end int, key uint, param int) {
	r.rec = append(r.rec, recSlot{key: key, param: param, start: start, end: end})
}

// learn keeps the shape of line b, which decodeFast just decoded (its
// values are in r.rec).
func (r *Reader) learn(b []byte) {
	if len(r.rec) == 0 || r.last == nil {
		return
	}
	var t *template
	if len(r.tmpls) < maxTemplates {
		t = &template{}
		r.tmpls = append(r.tmpls, nil)
	} else {
		t = r.tmpls[len(r.tmpls)-1]
	}
	copy(r.tmpls[1:], r.tmpls[:len(r.tmpls)-1])
	r.tmpls[0] = t
	for _, o := range r.tmpls {
		o.sibs, o.next = [4]sibMemo{}, 0 // t's shape changed
	}
	t.desc = r.last
	t.text, t.ends, t.slots = t.text[:0], t.ends[:0], t.slots[:0]
	prev := 0
	for _, sl := range r.rec {
		t.text = append(t.text, b[prev:sl.start]...)
		t.ends = append(t.ends, len(t.text))
		t.slots = append(t.slots, recSlot{key: sl.key, param: sl.param})
		prev = sl.end
	}
	t.text = append(t.text, b[prev:]...)
	t.ends = append(t.ends, len(t.text))
	t.lits = t.lits[:0]
	start := 0
	for _, end := range t.ends {
		t.lits = append(t.lits, newLiteral(t.text[start:end]))
		start = end
	}
	t.typeText, t.typeLit, t.keep = t.typeText[:0], literal{}, 0
	for k, sl := range r.rec {
		if sl.param >= 0 && sl.param < 64 {
			switch t.desc.kinds[sl.param] {
			case kindSigned, kindString, kindBytes, kindIP, kindBool, kindAbsTime, kindUnsigned:
				t.keep |= 1 << sl.param
			}
		}
		if sl.key == keyType {
			t.typeText = append(append(t.typeText, b[sl.start:sl.end]...), t.lits[k+1].b...)
			t.typeLit = newLiteral(t.typeText)
		}
	}
}

// decodeTemplate decodes line b with the first template it matches. It
// returns false when none does, having left ev as decodeFast expects it
// (parameters it filled are cleared).
func (r *Reader) decodeTemplate(b []byte, ev *event.Event) bool {
	_, ok := r.decodeTemplateAt(b, false, ev)
	return ok
}

// decodeTemplateIn decodes the line at the start of b, which goes on
// past it, with the first template it matches. The match must end at a
// newline; n is where. See decodeTemplate.
func (r *Reader) decodeTemplateIn(b []byte, ev *event.Event) (n int, ok bool) {
	return r.decodeTemplateAt(b, true, ev)
}

// decodeTemplateAt is decodeTemplate (inBuf false: b is the line) and
// decodeTemplateIn (inBuf true).
func (r *Reader) decodeTemplateAt(b []byte, inBuf bool, ev *event.Event) (int, bool) {
	for k := 0; k < len(r.tmpls); k++ {
		t, n, ok, dirty := r.matchTemplate(r.tmpls[k], b, inBuf, ev)
		if ok {
			r.tmplHits++
			if r.tmpls[0] != t {
				r.toFront(t)
			}
			return n, true
		}
		if dirty {
			ev.ClearParams()
		}
		if t != r.tmpls[k] {
			return 0, false // the line's type has no template of its shape
		}
	}
	return 0, false
}

// toFront makes t the most recently used template.
func (r *Reader) toFront(t *template) {
	k := 0
	for r.tmpls[k] != t {
		k++
	}
	copy(r.tmpls[1:k+1], r.tmpls[:k])
	r.tmpls[0] = t
}

// matchTemplate decodes b with template t. When the line's type is not
// t's, it goes on with a template of that type whose shape up to the type
// is t's, if any: tt is the template it ended with. dirty reports
// whether it wrote parameters of ev before it failed. With inBuf, b goes
// on past the line: the match must end at a newline (n is where), and
// the scanner does not take a newline for white space, so that no value
// reaches into the next line (literals, strings and numbers hold none).
func (r *Reader) matchTemplate(t *template, b []byte, inBuf bool, ev *event.Event) (tt *template, n int, ok, dirty bool) {
	if !t.lits[0].match(b, 0) {
		return t, 0, false, false
	}
	s := scanner{b: b, i: t.lits[0].n, oneLine: inBuf}
	var top fastTop
	for k := 0; k < len(t.slots); k++ {
		sl := t.slots[k]
		if sl.param < 0 {
			if sl.key == keyType {
				if tt := t.typeMatch(k, b, s.i); tt != nil {
					// The type written as when t or a sibling was learnt
					// (topValue's result without looking it up), and the
					// literal after.
					t = tt
					top.desc, r.last = t.desc, t.desc
					if r.filled == ev {
						// Its parameters were filled by this Reader,
						// for an event of the same type if ResetKeep
						// keeps any: t overwrites them.
						ev.ResetKeep(t.desc.info, t.keep)
					} else {
						ev.Reset(t.desc.info)
					}
					top.seen |= keyType
					s.i += t.typeLit.n
					continue
				}
			}
			bit, ok := r.topValue(&s, sl.key, &top, ev)
			if !ok || bit != sl.key {
				return t, 0, false, dirty
			}
			top.seen |= bit
			if bit == keyType && top.desc != t.desc {
				if t = r.sibling(t, k, top.desc); t == nil {
					return nil, 0, false, dirty
				}
			}
		} else {
			if top.desc != t.desc {
				return t, 0, false, dirty // the arguments come after the type
			}
			dirty = true
			p := &ev.Params[sl.param]
			if !r.fastParam(&s, t.desc, sl.param, p) {
				return t, 0, false, dirty
			}
			p.Set = true
			top.seen |= keyArgs
		}
		lit := &t.lits[k+1]
		if s.i+16 <= len(b) && !lit.long {
			// literal.match's usual case, inline.
			if binary.LittleEndian.Uint64(b[s.i:])&lit.m0 != lit.w0 ||
				binary.LittleEndian.Uint64(b[s.i+8:])&lit.m1 != lit.w1 {
				return t, 0, false, dirty
			}
		} else if !lit.match(b, s.i) {
			return t, 0, false, dirty
		}
		s.i += lit.n
	}
	end := s.i
	if inBuf {
		if s.i >= len(b) || b[s.i] != '\n' {
			return t, 0, false, dirty
		}
		b = b[:s.i]
	}
	if s.i != len(b) || top.desc == nil || top.seen&keyTid == 0 {
		return t, 0, false, dirty
	}
	return t, end, r.fastFinish(&top, ev), dirty
}

// typeMatch returns t, or a sibling of t for slot k (the type) found
// before, whose type and the literal after it are written at b[i:]; nil
// when none is.
func (t *template) typeMatch(k int, b []byte, i int) *template {
	if t.typeLit.n > 0 && t.typeLit.match(b, i) {
		return t
	}
	for j := range t.sibs {
		if m := &t.sibs[j]; m.t != nil && m.k == k && m.t.typeLit.n > 0 && m.t.typeLit.match(b, i) {
			return m.t
		}
	}
	return nil
}

// sibling returns the template for events of type d whose shape up to
// its slot k (the type) is t's, or nil.
func (r *Reader) sibling(t *template, k int, d *typeDesc) *template {
	for _, m := range &t.sibs {
		if m.d == d && m.k == k {
			return m.t
		}
	}
	for _, o := range r.tmpls {
		if o.desc != d || len(o.slots) <= k || o.slots[k].key != keyType {
			continue
		}
		same := true
		for j := 0; j <= k && same; j++ {
			same = o.slots[j].key == t.slots[j].key && o.slots[j].param == t.slots[j].param &&
				string(o.lits[j].b) == string(t.lits[j].b)
		}
		if same {
			t.sibs[t.next] = sibMemo{d: d, k: k, t: o}
			t.next = (t.next + 1) % len(t.sibs)
			return o
		}
	}
	return nil
}

// literal is a template's run of bytes between two values, with its
// first sixteen bytes as two little-endian words and masks, to compare in
// a few instructions.
type literal struct {
	b            []byte
	n            int
	w0, m0       uint64
	w1, m1       uint64
	long         bool // more than sixteen bytes: b[16:] compared too
	short, empty bool
}

func newLiteral(b []byte) literal {
	l := literal{b: b, n: len(b), long: len(b) > 16, empty: len(b) == 0}
	var buf [16]byte
	copy(buf[:], b)
	l.w0, l.w1 = binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])
	n0, n1 := min(len(b), 8), min(max(len(b)-8, 0), 8)
	l.m0, l.m1 = byteMask(n0), byteMask(n1)
	return l
}

// byteMask is a mask of the low n bytes of a word.
func byteMask(n int) uint64 {
	if n >= 8 {
		return ^uint64(0)
	}
	return uint64(1)<<(8*n) - 1
}

// match reports whether b holds the literal at i.
func (l *literal) match(b []byte, i int) bool {
	if l.empty {
		return true
	}
	if i+16 <= len(b) {
		if binary.LittleEndian.Uint64(b[i:])&l.m0 != l.w0 || binary.LittleEndian.Uint64(b[i+8:])&l.m1 != l.w1 {
			return false
		}
		if !l.long {
			return true
		}
	}
	if i+16 <= len(b) {
		return i+l.n <= len(b) && string(b[i+16:i+l.n]) == string(l.b[16:])
	}
	return i+l.n <= len(b) && string(b[i:i+l.n]) == string(l.b)
}
