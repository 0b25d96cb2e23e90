package replay

import (
	"encoding/binary"
	"math/bits"

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
	// set has the bit of every parameter a line of t fills (its
	// parameter slots and the return value); setOK is false when one of
	// them is at position 64 or more (see Event.ResetSet).
	set   uint64
	setOK bool
	// keepRet: the return value's parameter is not one of t's slots and
	// t has a "res" slot, so fastFinish sets it (its I, from "res") on
	// every line t takes; keep has its bit, and the line unsets it
	// before fastFinish (which takes a set one for an argument).
	keepRet bool
	// sibs remembers the siblings found for this template (see sibling),
	// next is the entry to replace; learn forgets them all.
	sibs [4]sibMemo
	next int
	// memos are the slots' value memos (see valMemo), one per slot.
	memos []valMemo
}

// valMemo remembers the value a template's slot last held, as written
// (with the literal after it) and as decoded. A value whose text is the
// same again is not decoded again: the decoders of the kinds a memo takes
// (integers, strings, flags, booleans, times) give a value that depends
// on the value's bytes alone and read at most the literal's first byte
// past them, so the text and the literal after it decide the value. A
// slot whose values seldom repeat (a time stamp, a path) stops trying.
type valMemo struct {
	// ok: the slot takes a memo; lit is the value's text and the literal
	// after it (n 0 until a value is remembered); text holds its bytes.
	ok   bool
	lit  literal
	text []byte
	// kind is the parameter's kind (param slots); i, u and s the value.
	kind paramKind
	i    int64
	u    uint64
	s    string
	// uses and hits count the lines the slot was tried on and the memo's
	// hits: with fewer than a quarter of hits after memoTries uses, ok
	// becomes false.
	uses, hits uint32
}

// memoTries is the number of uses after which a slot whose memo hits
// less than a quarter of the time stops trying it.
const memoTries = 64

// memoKind reports whether a valMemo takes parameters of kind k.
func memoKind(k paramKind) bool {
	switch k {
	case kindSigned, kindString, kindUnsigned, kindBool, kindAbsTime:
		return true
	}
	return false
}

// remember makes the memo hold value text v, followed by literal l, which
// decoded to i, u and s.
func (m *valMemo) remember(v []byte, l *literal, i int64, u uint64, s string) {
	m.uses++
	if m.uses >= memoTries && m.hits < m.uses/4 {
		m.ok = false
		return
	}
	m.text = append(append(m.text[:0], v...), l.b...)
	m.lit.set(m.text)
	m.i, m.u, m.s = i, u, s
}

// hit counts a hit, halving the counts now and then.
func (m *valMemo) hit() {
	m.uses++
	m.hits++
	if m.uses >= 1<<20 {
		m.uses, m.hits = m.uses/2, m.hits/2
	}
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
	t.set, t.setOK, t.keepRet = 0, true, false
	if ri := t.desc.ret; ri >= 64 {
		t.setOK = false
	} else if ri >= 0 {
		t.set |= 1 << ri
	}
	if ri := t.desc.ret; ri >= 0 && ri < 64 {
		hasRes, retSlot := false, false
		for _, sl := range r.rec {
			hasRes = hasRes || sl.key == keyRes && sl.param < 0
			retSlot = retSlot || sl.param == ri
		}
		if hasRes && !retSlot {
			t.keep |= 1 << ri
			t.keepRet = true
		}
	}
	t.memos = slicesGrow(t.memos, len(t.slots))
	for k, sl := range r.rec {
		m := &t.memos[k]
		*m = valMemo{text: m.text[:0]}
		if t.lits[k+1].n > 0 {
			switch {
			case sl.param >= 0:
				m.kind = t.desc.kinds[sl.param]
				m.ok = memoKind(m.kind)
			case sl.key != keyType && sl.key != keyArgs:
				m.ok = true
			}
		}
		if sl.param >= 64 {
			t.setOK = false
		} else if sl.param >= 0 {
			t.set |= 1 << sl.param
		}
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

// slicesGrow returns s with length n, its elements kept (new ones zero).
func slicesGrow(s []valMemo, n int) []valMemo {
	if cap(s) < n {
		s = append(s[:cap(s)], make([]valMemo, n-cap(s))...)
	}
	return s[:n]
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
			r.curSet, r.curSetOK = t.set, t.setOK
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
	if l := &t.lits[0]; !(32 <= len(b) && l.short && l.words((*[32]byte)(b)) == 0 ||
		(32 > len(b) || !l.short) && l.match(b, 0)) { // l.at(b, 0), inline
		return t, 0, false, false
	}
	// Field by field: a composite literal is built in a temporary and
	// copied with wide loads of narrow stores, which stalls.
	var s scanner
	s.b, s.i, s.oneLine = b, t.lits[0].n, inBuf
	var top fastTop
	for k := 0; k < len(t.slots); k++ {
		sl := t.slots[k]
		m := &t.memos[k]
		if l := &m.lit; m.ok && l.n > 0 &&
			(uint(s.i)+32 <= uint(len(b)) && l.short && l.words((*[32]byte)(b[s.i:])) == 0 ||
				(uint(s.i)+32 > uint(len(b)) || !l.short) && l.match(b, s.i)) { // l.at(b, s.i), inline
			// The value as last time, and the literal after it.
			if sl.param < 0 {
				top.setMemo(sl.key, m)
				top.seen |= sl.key
			} else {
				if top.desc != t.desc {
					return t, 0, false, dirty
				}
				dirty = true
				p := &ev.Params[sl.param]
				switch m.kind {
				case kindSigned:
					p.I = m.i
				case kindString:
					p.S = m.s
				default:
					p.U = m.u
				}
				p.Set = true
				top.seen |= keyArgs
			}
			m.hit()
			s.i += m.lit.n
			continue
		}
		start := s.i
		if sl.param < 0 {
			if sl.key == keyType {
				tt := t
				if l := &t.typeLit; !(l.n > 0 && uint(s.i)+32 <= uint(len(b)) && l.short &&
					l.words((*[32]byte)(b[s.i:])) == 0) {
					tt = t.typeMatch(k, b, s.i) // the general case
				}
				if tt != nil {
					// The type written as when t or a sibling was learnt
					// (topValue's result without looking it up), and the
					// literal after.
					t = tt
					top.desc, r.last = t.desc, t.desc
					if r.filled == ev && r.lastSetOK {
						// Its parameters were filled by this Reader
						// with a template: only those it filled may
						// hold anything, and those t keeps (of the
						// same type) t overwrites.
						ev.ResetSet(t.desc.info, t.keep, r.lastSet)
					} else if r.filled == ev {
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
			n, i, ok := int64(0), 0, false
			if sl.key&intKeys != 0 {
				// topValue's usual case: an integer that scanner.int64
				// reads in one pass.
				n, i, ok = plainInt(b, s.i)
			}
			if ok {
				s.i = i
				top.setInt(sl.key, n)
			} else if bit, ok := r.topValue(&s, sl.key, &top, ev); !ok || bit != sl.key {
				return t, 0, false, dirty
			}
			bit := sl.key
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
			// fastParam, its two usual cases inline: a string, an integer.
			switch c, kind := s.peek(), t.desc.kinds[sl.param]; {
			case c == '"' && kind == kindString:
				v, esc, ok := s.rawString()
				if ok && esc {
					r.tmp, ok = unescape(r.tmp[:0], v)
					v = r.tmp
				}
				if !ok {
					return t, 0, false, dirty
				}
				p.S = r.strs.get(v)
			case (c == '-' || '0' <= c && c <= '9') && kind == kindSigned:
				var ok bool
				if p.I, ok = s.int64(); !ok {
					return t, 0, false, dirty
				}
			default:
				if !r.fastParam(&s, t.desc, sl.param, p) {
					return t, 0, false, dirty
				}
			}
			p.Set = true
			top.seen |= keyArgs
		}
		lit := &t.lits[k+1]
		if i := s.i; uint(i)+32 <= uint(len(b)) && lit.short {
			if lit.words((*[32]byte)(b[i:])) != 0 { // lit.at, inline
				return t, 0, false, dirty
			}
		} else if !lit.match(b, i) {
			return t, 0, false, dirty
		}
		if m.ok {
			if sl.param < 0 {
				m.remember(b[start:s.i], lit, top.memoValue(sl.key), top.num, "")
			} else {
				p := &ev.Params[sl.param]
				m.remember(b[start:s.i], lit, p.I, p.U, p.S)
			}
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
	if t.keepRet {
		ev.Params[t.desc.ret].Set = false // kept from the last line
	}
	return t, end, r.fastFinish(&top, ev), dirty
}

// typeMatch returns t, or a sibling of t for slot k (the type) found
// before, whose type and the literal after it are written at b[i:]; nil
// when none is.
func (t *template) typeMatch(k int, b []byte, i int) *template {
	if t.typeLit.n > 0 && t.typeLit.at(b, i) {
		return t
	}
	for j := range t.sibs {
		if m := &t.sibs[j]; m.t != nil && m.k == k && m.t.typeLit.n > 0 && m.t.typeLit.at(b, i) {
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
// first 32 bytes as four little-endian words and masks, to compare in a
// few instructions.
type literal struct {
	b    []byte
	n    int
	w, m [4]uint64
	// short: at most 32 bytes, all in w.
	short bool
}

func newLiteral(b []byte) literal {
	var l literal
	l.set(b)
	return l
}

// set makes l the literal b, in place.
func (l *literal) set(b []byte) {
	l.b, l.n, l.short = b, len(b), len(b) <= 32
	var buf [32]byte
	copy(buf[:], b)
	for k := range l.w {
		l.w[k] = binary.LittleEndian.Uint64(buf[8*k:])
		l.m[k] = byteMask(min(max(len(b)-8*k, 0), 8))
	}
}

// byteMask is a mask of the low n bytes of a word.
func byteMask(n int) uint64 {
	if n >= 8 {
		return ^uint64(0)
	}
	return uint64(1)<<(8*n) - 1
}

// at reports whether b holds the literal at i.
func (l *literal) at(b []byte, i int) bool {
	if uint(i)+32 <= uint(len(b)) && l.short {
		return l.words((*[32]byte)(b[i:])) == 0
	}
	return l.match(b, i)
}

// words compares the 32 bytes at x with l's words: zero when they hold
// the literal.
func (l *literal) words(x *[32]byte) uint64 {
	return (binary.LittleEndian.Uint64(x[:8])&l.m[0] ^ l.w[0]) |
		(binary.LittleEndian.Uint64(x[8:16])&l.m[1] ^ l.w[1]) |
		(binary.LittleEndian.Uint64(x[16:24])&l.m[2] ^ l.w[2]) |
		(binary.LittleEndian.Uint64(x[24:])&l.m[3] ^ l.w[3])
}

// intKeys are the top-level keys whose value is an int64.
const intKeys = keyTs | keyTid | keyPid | keyRes | keyCPU

// setInt sets the value of top-level key key, one of intKeys.
func (t *fastTop) setInt(key uint, n int64) {
	switch key {
	case keyTs:
		t.ts = n
	case keyTid:
		t.tid = n
	case keyPid:
		t.pid = n
	case keyRes:
		t.res = n
	case keyCPU:
		t.cpu = n
	}
}

// plainInt is scanner.int64's one-pass case at b[i:]: up to 18 digits,
// optionally negative, no leading zero, not followed by a fraction or an
// exponent. It returns the value and where it ends; false for anything
// else (which scanner.int64 then decides).
func plainInt(b []byte, i int) (int64, int, bool) {
	if i+9 <= len(b) {
		// Up to 7 digits (a tid, a res, most numbers) and the byte
		// after them in one word, without a branch per digit.
		j := i
		if b[i] == '-' {
			j++
		}
		w := binary.LittleEndian.Uint64(b[j : j+8])
		// The high bit of each byte that is not a digit: above '9' or
		// below '0' (carries and borrows reach only later bytes).
		nd := ((w + 0x4646464646464646) | (w - 0x3030303030303030)) & 0x8080808080808080
		if nd != 0 {
			l := bits.TrailingZeros64(nd) >> 3
			if l == 0 || b[j] == '0' && l > 1 {
				return 0, 0, false
			}
			if c := b[j+l]; c == '.' || c|0x20 == 'e' {
				return 0, 0, false
			}
			// The digits to the top bytes (leading zeros below), then
			// pairs, fours and eights combined.
			v := (w - 0x3030303030303030) << (64 - 8*uint(l))
			v = (v & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
			v = (v & 0x00FF00FF00FF00FF) * 6553601 >> 16
			v = (v & 0x0000FFFF0000FFFF) * 42949672960001 >> 32
			n := int64(v)
			if j != i {
				n = -n
			}
			return n, j + l, true
		}
	}
	return plainIntLoop(b, i)
}

// plainIntLoop is plainInt a digit at a time.
func plainIntLoop(b []byte, i int) (int64, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	d := i
	var n int64
	for i < len(b) && b[i]-'0' <= 9 {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if nd := i - d; nd == 0 || nd > 18 || nd > 1 && b[d] == '0' ||
		i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

// setMemo sets the value of top-level key key (not the type) from m.
func (t *fastTop) setMemo(key uint, m *valMemo) {
	if key == keyNum {
		t.num = m.u
		return
	}
	t.setInt(key, m.i)
}

// memoValue returns the signed value of top-level key key.
func (t *fastTop) memoValue(key uint) int64 {
	switch key {
	case keyTs:
		return t.ts
	case keyTid:
		return t.tid
	case keyPid:
		return t.pid
	case keyRes:
		return t.res
	case keyCPU:
		return t.cpu
	}
	return 0
}

// match is at's general case.
func (l *literal) match(b []byte, i int) bool {
	return i+l.n <= len(b) && string(b[i:i+l.n]) == string(l.b)
}
