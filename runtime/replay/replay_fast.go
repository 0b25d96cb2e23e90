package replay

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// The fast replay decoder.
//
// decodeFast scans a line by hand and fills the Event directly. It only
// accepts what it can decode exactly as decodeSlow (encoding/json) does;
// for anything else (a "proc" object, base64 buffers, floats, null, keys
// in another case or repeated, and every malformed line) it gives up
// before changing the Reader, and the line goes to decodeSlow, which
// defines the result and the error message. So the two agree by
// construction on errors, and TestFastMatchesSlow and FuzzReplayFast check
// that they agree on the rest.
//
// Strings stored in the Event are interned (see interner): they stay
// valid for as long as anyone holds them, which the state tables rely on,
// and a trace that repeats its paths allocates nothing for them.

// paramKind is how a parameter's JSON value is decoded, following the
// cases of parseParam in order.
type paramKind uint8

const (
	kindSigned   paramKind = iota // Param.I
	kindString                    // Param.S
	kindBytes                     // Param.B
	kindSockAddr                  // Family, Addr or S
	kindTuple                     // Family, Client, Server or S
	kindIP                        // Addr
	kindDouble                    // left to decodeSlow
	kindBool                      // U
	kindAbsTime                   // U; strings left to decodeSlow
	kindUnsigned                  // U: numbers, flags, signals
)

// typeDesc is what the fast decoder needs of one event type, computed once.
type typeDesc struct {
	info  *catalog.Event
	names []string
	kinds []paramKind
	// wrap32 marks unsigned parameters whose negative numbers wrap at 32
	// bits (UID, GID, UINT32).
	wrap32 []bool
	// flags are the named values of flag parameters, nil for others.
	flags []*event.FlagSet
	// ret is RetParam(info).
	ret int
	// keys are the parameters' `"name":` as little-endian words, for
	// names short enough to fit eight bytes (n is 0 for the others).
	keys []keyWord
}

// keyWord is a key with its quotes and colon, `"name":`, read as the
// first n bytes of a little-endian word.
type keyWord struct {
	word, mask uint64
	n          int
}

func keyWordOf(name string) keyWord {
	k := `"` + name + `":`
	if len(k) > 8 {
		return keyWord{}
	}
	var buf [8]byte
	copy(buf[:], k)
	mask := uint64(1)<<(8*len(k)) - 1
	if len(k) == 8 {
		mask = ^uint64(0)
	}
	return keyWord{word: binary.LittleEndian.Uint64(buf[:]), mask: mask, n: len(k)}
}

// topKeys are the keys of a line as keyWords, in the order of the
// switch in decodeFast.
var topKeys = func() (t [8]keyWord) {
	for i, k := range []string{"ts", "type", "tid", "res", "args", "pid", "cpu", "num"} {
		t[i] = keyWordOf(k)
	}
	return t
}()

var topKeyNames = [8][]byte{[]byte("ts"), []byte("type"), []byte("tid"), []byte("res"), []byte("args"), []byte("pid"), []byte("cpu"), []byte("num")}

// topKey reads a key of a line and its colon. Known keys written without
// white space are matched as one word.
func (s *scanner) topKey() ([]byte, bool) {
	if s.i+8 <= len(s.b) {
		x := binary.LittleEndian.Uint64(s.b[s.i:])
		for j := range topKeys {
			if x&topKeys[j].mask == topKeys[j].word {
				s.i += topKeys[j].n
				return topKeyNames[j], true
			}
		}
	}
	key, ok := s.key()
	if !ok {
		return nil, false
	}
	s.ws()
	return key, s.lit(':')
}

// typeDescs maps every event name to its typeDesc.
var typeDescs = sync.OnceValue(func() map[string]*typeDesc {
	m := make(map[string]*typeDesc)
	for _, e := range catalog.Events() {
		info, ok := catalog.EventByName(e.Name)
		if !ok || m[e.Name] != nil {
			continue
		}
		d := &typeDesc{info: info, ret: event.RetParam(info)}
		for i := range info.Params {
			p := &info.Params[i]
			d.names = append(d.names, p.Name)
			d.kinds = append(d.kinds, kindOf(p.Type))
			d.wrap32 = append(d.wrap32, p.Type == catalog.ParamUID || p.Type == catalog.ParamGID || p.Type == catalog.ParamUint32)
			d.flags = append(d.flags, event.FlagsOf(p))
			d.keys = append(d.keys, keyWordOf(p.Name))
		}
		m[e.Name] = d
	}
	return m
})

func kindOf(t catalog.ParamType) paramKind {
	switch {
	case event.IsSigned(t):
		return kindSigned
	case t == catalog.ParamCharBuf || t == catalog.ParamFSPath || t == catalog.ParamFSRelPath || t == catalog.ParamFDList:
		return kindString
	case t == catalog.ParamByteBuf || t == catalog.ParamCharBufArray || t == catalog.ParamCharBufPairArray:
		return kindBytes
	case t == catalog.ParamSockAddr:
		return kindSockAddr
	case t == catalog.ParamSockTuple:
		return kindTuple
	case t == catalog.ParamIPv4Addr || t == catalog.ParamIPv6Addr || t == catalog.ParamIPAddr ||
		t == catalog.ParamIPv4Net || t == catalog.ParamIPv6Net || t == catalog.ParamIPNet:
		return kindIP
	case t == catalog.ParamDouble:
		return kindDouble
	case t == catalog.ParamBool:
		return kindBool
	case t == catalog.ParamAbsTime:
		return kindAbsTime
	}
	return kindUnsigned
}

// index returns the position of the parameter called name, or -1. It
// looks from position from first: parameters usually come in order.
func (d *typeDesc) index(name []byte, from int) int {
	for i := from; i < len(d.names); i++ {
		if string(name) == d.names[i] {
			return i
		}
	}
	for i := 0; i < from && i < len(d.names); i++ {
		if string(name) == d.names[i] {
			return i
		}
	}
	return -1
}

// Keys of a line, as bits to find repeated keys.
const (
	keyType = 1 << iota
	keyTid
	keyPid
	keyRes
	keyCPU
	keyNum
	keyTs
	keyArgs
)

// decodeFast decodes line b (trimmed, not a comment) into ev. It returns
// false, having changed nothing but ev, when the line is not one it
// handles; the caller then decodes it with decodeSlow.
func (r *Reader) decodeFast(b []byte, ev *event.Event) bool {
	s := scanner{b: b}
	if !s.lit('{') {
		return false
	}
	r.rec = r.rec[:0]
	var top fastTop
	s.ws()
	for {
		key, ok := s.topKey()
		if !ok {
			return false
		}
		s.ws()
		start := s.i
		bit, ok := r.fastKey(&s, key, &top, ev)
		if !ok || top.seen&bit != 0 {
			return false
		}
		if bit != keyArgs { // the arguments recorded their own values
			r.record(start, s.i, bit, -1)
		}
		top.seen |= bit
		s.ws()
		if s.lit(',') {
			s.ws()
			continue
		}
		if !s.lit('}') {
			return false
		}
		break
	}
	s.ws()
	if s.i != len(s.b) || top.desc == nil || top.seen&keyTid == 0 {
		return false
	}
	return r.fastFinish(&top, ev)
}

// fastTop is what decodeFast has read of a line's top-level keys.
type fastTop struct {
	desc                   *typeDesc
	seen                   uint
	ts, tid, pid, res, cpu int64
	num                    uint64
}

// fastKey reads the value of one top-level key into t (the type and the
// arguments into ev) and returns the key's bit.
func (r *Reader) fastKey(s *scanner, key []byte, t *fastTop, ev *event.Event) (bit uint, ok bool) {
	switch string(key) {
	case "type":
		return r.topValue(s, keyType, t, ev)
	case "tid":
		return r.topValue(s, keyTid, t, ev)
	case "pid":
		return r.topValue(s, keyPid, t, ev)
	case "res":
		return r.topValue(s, keyRes, t, ev)
	case "cpu":
		return r.topValue(s, keyCPU, t, ev)
	case "num":
		return r.topValue(s, keyNum, t, ev)
	case "ts":
		return r.topValue(s, keyTs, t, ev)
	case "args":
		// The parameters need the type: a line that gives it later
		// goes the slow way.
		return keyArgs, t.desc != nil && r.fastArgs(s, t.desc, ev)
	}
	return 0, false
}

// topValue reads the value of the top-level key whose bit is key (not
// the arguments) into t (the type into ev) and returns the key's bit.
func (r *Reader) topValue(s *scanner, key uint, t *fastTop, ev *event.Event) (bit uint, ok bool) {
	switch key {
	case keyType:
		v, ok := s.key()
		if !ok {
			return 0, false
		}
		if t.desc = r.last; t.desc == nil || string(v) != t.desc.info.Name {
			// The types of a trace take turns: look in the types seen
			// before the table of every type.
			slot := &r.types[event.QuickHash(v)&uint64(len(r.types)-1)]
			if t.desc = *slot; t.desc == nil || string(v) != t.desc.info.Name {
				if t.desc = typeDescs()[string(v)]; t.desc == nil {
					return 0, false
				}
				*slot = t.desc
			}
			r.last = t.desc
		}
		ev.Reset(t.desc.info)
		return keyType, true
	case keyTid:
		t.tid, ok = s.int64()
		return keyTid, ok
	case keyPid:
		t.pid, ok = s.int64()
		return keyPid, ok
	case keyRes:
		t.res, ok = s.int64()
		return keyRes, ok
	case keyCPU:
		t.cpu, ok = s.int64()
		return keyCPU, ok
	case keyNum:
		t.num, ok = s.uint64()
		return keyNum, ok
	case keyTs:
		if s.peek() == '"' {
			v, ok := s.plainString()
			if !ok {
				return 0, false
			}
			t.ts, ok = parseRFC3339(v)
			return keyTs, ok
		}
		t.ts, ok = s.int64()
		return keyTs, ok
	}
	return 0, false
}

// fastFinish fills ev's header from t; everything here mirrors
// decodeSlow.
func (r *Reader) fastFinish(t *fastTop, ev *event.Event) bool {
	ev.Num = r.num + 1
	if t.num != 0 {
		ev.Num = t.num
	}
	ev.Ts = t.ts
	ev.Tid, ev.Pid = t.tid, t.tid
	if t.seen&keyPid != 0 {
		ev.Pid = t.pid
	}
	ev.CPU = int(t.cpu)
	hasRes := t.seen&keyRes != 0
	if ri := t.desc.ret; ri >= 0 {
		ev.Res = ev.Params[ri].I
		if hasRes {
			if ev.Params[ri].Set && ev.Params[ri].I != t.res {
				return false
			}
			ev.Res = t.res // as SetRes
			ev.Params[ri].Set = true
			ev.Params[ri].I = t.res
		}
	} else if hasRes {
		ev.Res = t.res
	}
	r.num++
	return true
}

// fastArgs decodes the "args" object.
func (r *Reader) fastArgs(s *scanner, d *typeDesc, ev *event.Event) bool {
	if !s.lit('{') {
		return false
	}
	s.ws()
	if s.lit('}') {
		return true
	}
	var seen uint64
	next := 0
	for {
		i := -1
		if next < len(d.keys) && d.keys[next].n > 0 && s.i+8 <= len(s.b) &&
			binary.LittleEndian.Uint64(s.b[s.i:])&d.keys[next].mask == d.keys[next].word {
			// The parameter that usually comes next, and its colon.
			i = next
			s.i += d.keys[next].n
		} else {
			name, ok := s.key()
			if !ok {
				return false
			}
			i = d.index(name, next)
			s.ws()
			if !s.lit(':') {
				return false
			}
		}
		if i < 0 || i >= 64 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		next = i + 1
		s.ws()
		p := &ev.Params[i]
		start := s.i
		if !r.fastParam(s, d, i, p) {
			return false
		}
		p.Set = true
		r.record(start, s.i, 0, i)
		s.ws()
		if s.lit(',') {
			s.ws()
			continue
		}
		return s.lit('}')
	}
}

// fastParam decodes the value of parameter i into p, as parseParam does.
func (r *Reader) fastParam(s *scanner, d *typeDesc, i int, p *event.Param) bool {
	kind := d.kinds[i]
	switch c := s.peek(); {
	case c == '"':
		v, ok := r.stringValue(s)
		if !ok {
			return false
		}
		return r.fastStringParam(d, i, kind, p, v)
	case c == '-' || '0' <= c && c <= '9':
		if kind == kindSigned {
			var ok bool
			p.I, ok = s.int64()
			return ok
		}
		tok, ok := s.intToken()
		if !ok {
			return false
		}
		switch kind {
		case kindBool:
			switch string(tok) {
			case "1":
				p.U = 1
				return true
			case "0":
				p.U = 0
				return true
			}
			return false
		case kindUnsigned, kindAbsTime:
			if tok[0] != '-' {
				p.U, ok = atou64(tok)
				return ok
			}
			m, ok := atoi64(tok)
			if !ok {
				return false
			}
			p.U = uint64(m)
			if d.wrap32[i] {
				p.U = uint64(uint32(m))
			}
			return true
		}
		return false
	case c == '[':
		return kind == kindBytes && r.stringArray(s, p)
	case c == 't' || c == 'f':
		if kind != kindBool {
			return false
		}
		if s.word("true") {
			p.U = 1
			return true
		}
		if s.word("false") {
			p.U = 0
			return true
		}
	}
	return false
}

// fastStringParam decodes string value v of parameter i.
func (r *Reader) fastStringParam(d *typeDesc, i int, kind paramKind, p *event.Param, v []byte) bool {
	str := unsafeString(v) // only for parsing: nothing may keep it
	switch kind {
	case kindSigned:
		if isNumberStart(str) {
			n, err := strconv.ParseInt(str, 0, 64)
			p.I = n
			return err == nil
		}
		t := d.info.Params[i].Type
		if t == catalog.ParamFD && str == "AT_FDCWD" {
			p.I = event.AtFDCWD
			return true
		}
		if t == catalog.ParamErrno || t == catalog.ParamFD {
			if e, ok := event.ParseErrno(str); ok {
				p.I = -e
				return true
			}
		}
		return false
	case kindString:
		p.S = r.strs.get(v)
		return true
	case kindBytes:
		p.B = append(p.B[:0], v...)
		return true
	case kindSockAddr, kindTuple:
		if isUnixPath(str) {
			p.Family, p.S = event.AFUnix, r.strs.get(v[len(v)-len(strings.TrimPrefix(str, "unix:")):])
			return true
		}
		if kind == kindSockAddr {
			ap, ok := fastAddrPort(str)
			p.Addr, p.Family = ap, familyOf(ap.Addr())
			return ok
		}
		c, sv, ok := strings.Cut(str, "->")
		if !ok {
			return false
		}
		ca, ok1 := fastAddrPort(c)
		sa, ok2 := fastAddrPort(sv)
		p.Client, p.Server, p.Family = ca, sa, familyOf(sa.Addr())
		return ok1 && ok2
	case kindIP:
		a, err := netip.ParseAddr(str)
		p.Addr = netip.AddrPortFrom(a, 0)
		return err == nil
	case kindUnsigned:
		if len(str) > 0 && '0' <= str[0] && str[0] <= '9' {
			// Without a digit first it cannot be a number, and a failed
			// ParseUint allocates its error.
			if n, err := strconv.ParseUint(str, 0, 64); err == nil {
				p.U = n
				return true
			}
		}
		pd := &d.info.Params[i]
		if pd.Type == catalog.ParamSigType {
			if n, ok := signalByName[str]; ok {
				p.U = n
				return true
			}
		}
		if len(pd.Flags) == 0 {
			return false
		}
		// Flag strings repeat even more than paths: remember the ones
		// seen, by their text.
		c := &r.flagMemo[event.QuickHash(v)&uint64(len(r.flagMemo)-1)]
		if c.fs == d.flags[i] && c.fs != nil && c.s == str {
			p.U = c.v
			return true
		}
		n, ok := d.flags[i].Parse(str)
		p.U = n
		if ok {
			c.fs, c.s, c.v = d.flags[i], r.strs.get(v), n
		}
		return ok
	}
	return false
}

// fastAddrPort is [ParseAddrPort] without allocating on the way: false
// where it would fail (and in a few odd cases it would not).
func fastAddrPort(s string) (netip.AddrPort, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, false
	}
	if ap, ok := ipv4Port(s, i); ok {
		// The usual case first: ipv4Port takes no '[' and no other ':',
		// so it is what the branch below would have decided.
		return ap, true
	}
	if s[0] == '[' || strings.IndexByte(s[:i], ':') < 0 {
		ap, err := netip.ParseAddrPort(s)
		return ap, err == nil
	}
	// Falco's "::1:80", which netip.ParseAddrPort rejects for the
	// missing brackets.
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, ok := atou64([]byte(s[i+1:]))
	if !ok || port > 0xffff {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(port)), true
}

// ipv4Port parses "a.b.c.d:port" (i is the colon's position) in the
// plainest form: octets without leading zeros, a port of 1 to 5 digits
// without a leading zero (or "0"), below 65536. It returns false for
// anything else, which [netip.ParseAddrPort] then decides; what it
// accepts, netip.ParseAddrPort gives the same value for
// (TestIPv4Port).
func ipv4Port(s string, i int) (netip.AddrPort, bool) {
	var a [4]byte
	k, n, digits := 0, 0, 0
	for j := 0; j < i; j++ {
		c := s[j]
		switch {
		case '0' <= c && c <= '9':
			if digits > 0 && n == 0 { // a leading zero
				return netip.AddrPort{}, false
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return netip.AddrPort{}, false
			}
		case c == '.' && digits > 0 && k < 3:
			a[k] = byte(n)
			k, n, digits = k+1, 0, 0
		default:
			return netip.AddrPort{}, false
		}
	}
	if k != 3 || digits == 0 {
		return netip.AddrPort{}, false
	}
	a[3] = byte(n)
	p := s[i+1:]
	if len(p) == 0 || len(p) > 5 || len(p) > 1 && p[0] == '0' {
		return netip.AddrPort{}, false
	}
	port := 0
	for j := 0; j < len(p); j++ {
		if p[j] < '0' || p[j] > '9' {
			return netip.AddrPort{}, false
		}
		port = port*10 + int(p[j]-'0')
	}
	if port > 0xffff {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(port)), true
}

// isNumberStart reports whether strconv may parse s as a number: it starts
// with a digit or a sign.
func isNumberStart(s string) bool {
	return s != "" && (s[0] == '-' || s[0] == '+' || '0' <= s[0] && s[0] <= '9')
}

// stringValue reads a JSON string, unescaped; the bytes are valid until
// the next call.
func (r *Reader) stringValue(s *scanner) ([]byte, bool) {
	var ok bool
	v, esc, ok := s.rawString()
	if !ok {
		return nil, false
	}
	if !esc {
		return v, true
	}
	r.tmp, ok = unescape(r.tmp[:0], v)
	return r.tmp, ok
}

// stringArray reads an array of strings into p.B, each followed by a NUL.
func (r *Reader) stringArray(s *scanner, p *event.Param) bool {
	s.lit('[')
	p.B = p.B[:0]
	s.ws()
	if s.lit(']') {
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		v, ok := r.stringValue(s)
		if !ok {
			return false
		}
		p.B = append(p.B, v...)
		p.B = append(p.B, 0)
		s.ws()
		if s.lit(',') {
			s.ws()
			continue
		}
		return s.lit(']')
	}
}

// scanner walks one line of JSON.
type scanner struct {
	b []byte
	i int
	// oneLine makes a newline not white space: b goes on past the line.
	oneLine bool
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// ws skips JSON white space.
func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // the usual case: none
	}
	s.wsSlow()
}

func (s *scanner) wsSlow() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			if s.oneLine {
				return
			}
			s.i++
		default:
			return
		}
	}
}

// lit consumes byte c if it is next.
func (s *scanner) lit(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// word consumes w if it is next and not followed by more letters.
func (s *scanner) word(w string) bool {
	if !strings.HasPrefix(unsafeString(s.b[s.i:]), w) {
		return false
	}
	j := s.i + len(w)
	if j < len(s.b) && ('a' <= s.b[j] && s.b[j] <= 'z' || '0' <= s.b[j] && s.b[j] <= '9') {
		return false
	}
	s.i = j
	return true
}

// rawString reads a JSON string and returns its contents as written and
// whether they hold escapes. It fails on control characters and invalid
// UTF-8 (which encoding/json would replace).
func (s *scanner) rawString() (v []byte, esc, ok bool) {
	if !s.lit('"') {
		return nil, false, false
	}
	b, i := s.b, s.i
	start := i
	high := false
	for {
		// Skip plain bytes, eight at a time while there are eight: the
		// lowest bit specialBytes sets is the first special byte's.
		for i+8 <= len(b) {
			if z := specialBytes(binary.LittleEndian.Uint64(b[i:])); z != 0 {
				i += bits.TrailingZeros64(z) >> 3
				goto special
			}
			i += 8
		}
		for i < len(b) && !strSpecial[b[i]] {
			i++
		}
	special:
		if i >= len(b) {
			return nil, false, false
		}
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			v = b[start:i]
			if high && !utf8.Valid(v) {
				return nil, false, false
			}
			return v, esc, true
		case c == '\\':
			esc = true
			i += 2
			continue
		case c < 0x20:
			return nil, false, false
		}
		high = true
		i++
	}
}

// hasSpecial reports whether any of the eight bytes in x is one that
// strSpecial marks: a quote, a backslash, a control character or a
// non-ASCII byte. The tests are the classic "has a zero byte" and "has a
// byte less than n" word tricks.
func hasSpecial(x uint64) bool { return specialBytes(x) != 0 }

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// specialBytes returns x with the high bit of each special byte set, and
// no other bits. The lowest set bit is exact; bits above a special byte
// may be set without cause (borrows), so use it only to find the first
// special byte or whether there is any.
func specialBytes(x uint64) uint64 {
	q := x ^ (swarOnes * '"')
	bs := x ^ (swarOnes * '\\')
	ctl := (x - swarOnes*0x20) &^ x
	return (x | ctl | (q-swarOnes)&^q | (bs-swarOnes)&^bs) & swarHighs
}

// strSpecial marks the bytes a JSON string scan must look at: the quote,
// the backslash, control characters and non-ASCII bytes.
var strSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()

// plainString reads a JSON string without escapes (a key, an event
// type, a time).
func (s *scanner) plainString() ([]byte, bool) {
	v, esc, ok := s.rawString()
	return v, ok && !esc
}

// key reads a JSON string without escapes, as plainString, quicker for
// the short strings of keys.
func (s *scanner) key() ([]byte, bool) {
	b, i := s.b, s.i
	if i+9 <= len(b) && b[i] == '"' {
		// A key shorter than eight bytes: find its closing quote in the
		// next eight and check that no byte before it is special.
		x := binary.LittleEndian.Uint64(b[i+1:])
		q := x ^ (swarOnes * '"')
		if z := (q - swarOnes) &^ q & swarHighs; z != 0 {
			n := bits.TrailingZeros64(z) >> 3
			if specialBytes(x)&(1<<(8*n)-1) == 0 {
				s.i = i + 1 + n + 1
				return b[i+1 : i+1+n], true
			}
		}
	}
	if !s.lit('"') {
		return nil, false
	}
	b, i = s.b, s.i
	for i < len(b) && !strSpecial[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '"' {
		v := b[s.i:i]
		s.i = i + 1
		return v, true
	}
	s.i-- // something else: let plainString decide
	return s.plainString()
}

// intToken reads a JSON number that is an integer: -?(0|[1-9][0-9]*).
// Fractions and exponents are left to decodeSlow.
func (s *scanner) intToken() ([]byte, bool) {
	start := s.i
	s.lit('-')
	d := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - d
	if n == 0 || n > 1 && s.b[d] == '0' {
		return nil, false
	}
	if c := s.peek(); c == '.' || c == 'e' || c == 'E' {
		return nil, false
	}
	return s.b[start:s.i], true
}

// int64 reads an integer JSON number that fits an int64.
func (s *scanner) int64() (int64, bool) {
	// The common case in one pass (plainInt); anything else takes the
	// general path from the start.
	if n, i, ok := plainInt(s.b, s.i); ok {
		s.i = i
		return n, true
	}
	return s.int64Slow()
}

func (s *scanner) int64Slow() (int64, bool) {
	tok, ok := s.intToken()
	if !ok {
		return 0, false
	}
	return atoi64(tok)
}

func (s *scanner) uint64() (uint64, bool) {
	tok, ok := s.intToken()
	if !ok || tok[0] == '-' {
		return 0, false
	}
	return atou64(tok)
}

// atou64 converts decimal digits, failing on overflow.
func atou64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	if len(b) < 20 {
		// At most 19 digits cannot overflow.
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
		return n, true
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// atoi64 converts an optionally negative decimal, failing on overflow.
func atoi64(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := atou64(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// unescape appends the JSON string contents v, unescaped, to dst. It
// fails on escapes of UTF-16 surrogates, which encoding/json pairs up or
// replaces.
func unescape(dst, v []byte) ([]byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(v) {
			return dst, false
		}
		switch v[i] {
		case '"', '\\', '/':
			dst = append(dst, v[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(v) {
				return dst, false
			}
			var rn rune
			for _, h := range v[i+1 : i+5] {
				switch {
				case '0' <= h && h <= '9':
					rn = rn<<4 | rune(h-'0')
				case 'a' <= h && h <= 'f':
					rn = rn<<4 | rune(h-'a'+10)
				case 'A' <= h && h <= 'F':
					rn = rn<<4 | rune(h-'A'+10)
				default:
					return dst, false
				}
			}
			if utf8.RuneLen(rn) < 0 { // a surrogate
				return dst, false
			}
			dst = utf8.AppendRune(dst, rn)
			i += 4
		default:
			return dst, false
		}
	}
	return dst, true
}

// parseRFC3339 parses "2006-01-02T15:04:05[.fraction]Z" as time.Parse
// with time.RFC3339Nano would, to nanoseconds since the epoch. Other
// forms (offsets, lower case) are left to decodeSlow.
func parseRFC3339(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' ||
		b[len(b)-1] != 'Z' {
		return 0, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return 0, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	} else if len(b) != 20 {
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	unix := days*86400 + int64(hour*3600+minute*60+sec)
	return unix*1e9 + int64(nsec), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given date of the
// proleptic Gregorian calendar.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// unsafeString views b as a string without copying. The string must not
// outlive the bytes' next change.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// interner returns one string per distinct byte sequence, so that the
// paths and names a trace repeats are allocated once. It is bounded: when
// full it starts over. Strings it returns are ordinary, immutable strings.
type interner struct {
	m     map[string]string
	bytes int
	// recent is a set-associative cache in front of m: a string's set is
	// picked by a cheap hash, tags holds the hash's high bits of each
	// entry (0 for an empty one), so that a hit costs one compare of the
	// string instead of hashing it whole.
	recent [internRecent]string
	tags   [internRecent]uint32
}

const (
	internMaxBytes = 4 << 20 // total size before the table starts over
	internMaxLen   = 4 << 10 // longer strings are not interned
	internRecent   = 2048    // entries of interner.recent, a power of two
	internWays     = 4       // entries of a set
)

func newInterner() interner { return interner{m: make(map[string]string, 256)} }

func (in *interner) get(b []byte) string {
	hash := event.QuickHash(b)
	set := int(hash&(internRecent/internWays-1)) * internWays
	tag := uint32(hash>>32) | 1
	tags := (*[internWays]uint32)(in.tags[set : set+internWays])
	ways := (*[internWays]string)(in.recent[set : set+internWays])
	// The first way whose tag matches, picked without a branch per way
	// (the hits spread over the ways, so a loop's exit is mispredicted);
	// the loop then only for a miss or two ways with the same tag.
	if m := event.TagMask(tags, tag); m != 0 {
		if w := bits.TrailingZeros32(m) & (internWays - 1); ways[w] == string(b) {
			return ways[w]
		}
	}
	for w := range tags {
		if tags[w] == tag && ways[w] == string(b) {
			return ways[w]
		}
	}
	s, ok := in.m[string(b)]
	if !ok {
		s = string(b)
		if len(s) > internMaxLen {
			return s
		}
		if in.bytes+len(s) > internMaxBytes {
			clear(in.m)
			clear(in.recent[:])
			clear(in.tags[:])
			in.bytes = 0
		}
		in.m[s] = s
		in.bytes += len(s)
	}
	// The newest first; the oldest of the set goes.
	copy(ways[1:], ways[:internWays-1])
	copy(tags[1:], tags[:internWays-1])
	ways[0], tags[0] = s, tag
	return s
}
