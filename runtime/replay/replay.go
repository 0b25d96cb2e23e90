package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// MaxLine is the longest replay line the [Reader] accepts.
const MaxLine = 16 << 20

// LineError is an error in one line of a replay: the line number (from 1)
// and the key it concerns ("args.flags", "proc.uid"; "" for the line as a
// whole).
type LineError struct {
	Line int
	Key  string
	Err  error
}

func (e *LineError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Key, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Reader reads a replay: one JSON event per line (docs/replay-format.md).
// It is not safe for concurrent use.
//
// Lines of the common shapes are decoded by a hand-written scanner that
// allocates nothing in steady state (see replay_fast.go); any other line
// (a "proc" object, base64 buffers, floats, \u escapes of surrogates, and
// every malformed line) goes through encoding/json, which defines the
// format's meaning and error messages.
type Reader struct {
	src io.Reader
	// buf holds input read from src; buf[rd:wr] is not consumed yet, and
	// buf[rd:seen] is known to hold no newline. srcErr is the error src
	// returned (io.EOF at its end), reported once buf is consumed.
	buf          []byte
	rd, wr, seen int
	srcErr       error
	line         int
	num          uint64
	// stick is the error that ends the replay (a read error or a line
	// longer than [MaxLine]), returned by every later Next.
	stick error
	// tmp holds a string value with escapes, unescaped.
	tmp []byte
	// strs interns the strings of decoded events.
	strs interner
	// last is the event type of the last line the fast decoder took;
	// types holds the types seen, by a hash of their names.
	last  *typeDesc
	types [64]*typeDesc
	// flagMemo holds flags strings decoded, with their flag set and
	// value, in slots picked by a hash of the text.
	flagMemo [64]struct {
		fs *event.FlagSet
		s  string
		v  uint64
	}
	// slowOnly disables the fast decoder (tests).
	slowOnly bool
	// tmpls are the shapes of recent lines, most recently used first;
	// rec is where decodeFast records the values of the line it decodes
	// (see replay_template.go).
	tmpls []*template
	rec   []recSlot
	// tmplHits counts the lines a template took (tests).
	tmplHits int
	// filled is the Event the last Next filled without error, of type
	// filled.Info (see Event.ResetKeep); nil after an error.
	filled *event.Event
	// lastSet has the bit of every parameter filled's last Next may have
	// set, when lastSetOK (a template took the line: see Event.ResetSet);
	// curSet and curSetOK are those of the Next under way.
	lastSet, curSet     uint64
	lastSetOK, curSetOK bool
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r, buf: make([]byte, bufSize), strs: newInterner()}
}

// bufSize is the size of a Reader's buffer; it grows for a longer line
// (up to MaxLine), and shrinks back after.
const bufSize = 256 << 10

// Line returns the number of the last line read.
func (r *Reader) Line() int { return r.line }

type lineJSON struct {
	Ts   json.RawMessage            `json:"ts"`
	Type string                     `json:"type"`
	Tid  *int64                     `json:"tid"`
	Pid  *int64                     `json:"pid"`
	Res  *int64                     `json:"res"`
	CPU  int                        `json:"cpu"`
	Num  uint64                     `json:"num"`
	Args map[string]json.RawMessage `json:"args"`
	Proc *procJSON                  `json:"proc"`
}

type procJSON struct {
	PPid           *int64    `json:"ppid,omitempty"`
	Vpid           *int64    `json:"vpid,omitempty"`
	Vtid           *int64    `json:"vtid,omitempty"`
	Sid            *int64    `json:"sid,omitempty"`
	Pgid           *int64    `json:"pgid,omitempty"`
	Vpgid          *int64    `json:"vpgid,omitempty"`
	Comm           *string   `json:"comm,omitempty"`
	Exe            *string   `json:"exe,omitempty"`
	ExePath        *string   `json:"exepath,omitempty"`
	Args           *[]string `json:"args,omitempty"`
	Env            *[]string `json:"env,omitempty"`
	Cwd            *string   `json:"cwd,omitempty"`
	UID            *uint32   `json:"uid,omitempty"`
	GID            *uint32   `json:"gid,omitempty"`
	EUID           *uint32   `json:"euid,omitempty"`
	EGID           *uint32   `json:"egid,omitempty"`
	LoginUID       *int64    `json:"loginuid,omitempty"`
	TTY            *uint32   `json:"tty,omitempty"`
	Cgroup         *string   `json:"cgroup,omitempty"`
	Cgroups        []string  `json:"cgroups,omitempty"`
	CapEffective   *string   `json:"cap_effective,omitempty"`
	CapPermitted   *string   `json:"cap_permitted,omitempty"`
	CapInheritable *string   `json:"cap_inheritable,omitempty"`
	Start          *int64    `json:"start,omitempty"`
}

// Next reads the next event into ev and its process context into ctx
// (which may be nil; Known is 0 when the line has no "proc"). Blank lines
// and lines starting with '#' are skipped. At the end it returns io.EOF;
// a malformed line gives a *[LineError] (and leaves ev in an unspecified
// state), after which Next may be called again for the following line. A read error or a line longer than
// [MaxLine] ends the replay: Next returns it from then on.
//
// Lifetime: the strings Next stores in ev (Param.S) and ctx are never
// overwritten, so they may be kept; they are interned, so a trace that
// repeats its paths and names allocates nothing for them. Param.B is ev's
// own buffer, reused by the next Next into the same Event (see
// [Event.Reset]): copy it to keep it.
func (r *Reader) Next(ev *event.Event, ctx *event.ProcContext) error {
	r.curSetOK = false
	err := r.next(ev, ctx)
	r.filled, r.lastSetOK = nil, false
	if err == nil {
		r.filled = ev
		r.lastSet, r.lastSetOK = r.curSet, r.curSetOK
	}
	return err
}

func (r *Reader) next(ev *event.Event, ctx *event.ProcContext) error {
	for {
		if r.rd < r.wr && r.buf[r.rd] == '{' && len(r.tmpls) > 0 && !r.slowOnly && r.stick == nil {
			// The usual line: a template takes it where it is in the
			// buffer, and its newline is checked where the match ends
			// (no search for it, no copy).
			if ctx != nil && ctx.Known != 0 {
				// Only the members flagged in Known mean anything:
				// a context left empty is not cleared again.
				*ctx = event.ProcContext{}
			}
			if n, ok := r.decodeTemplateIn(r.buf[r.rd:r.wr], ev); ok && n < MaxLine {
				r.line++
				r.rd += n + 1
				r.seen = r.rd
				return nil
			}
		}
		r.curSetOK = false // a template may have matched past MaxLine
		raw, err := r.readLine()
		if err != nil {
			return err
		}
		r.line++
		b := bytes.TrimSpace(raw)
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		if ctx != nil {
			*ctx = event.ProcContext{}
		}
		if !r.slowOnly {
			if r.decodeTemplate(b, ev) {
				return nil
			}
			if r.decodeFast(b, ev) {
				r.learn(b)
				return nil
			}
		}
		// The fast decoder may have filled parameters before it gave up,
		// and the slow one may stop half-way: see Event.Reset.
		ev.ClearParams()
		err = r.decodeSlow(b, ev, ctx)
		if err != nil {
			ev.ClearParams()
		}
		return err
	}
}

// readLine returns the next line without its '\n'. The slice is valid
// until the next call.
func (r *Reader) readLine() ([]byte, error) {
	if r.stick != nil {
		return nil, r.stick
	}
	for {
		if i := bytes.IndexByte(r.buf[r.seen:r.wr], '\n'); i >= 0 {
			end := r.seen + i
			b := r.buf[r.rd:end]
			r.rd, r.seen = end+1, end+1
			if len(b) >= MaxLine {
				r.stick = &LineError{Line: r.line + 1, Err: fmt.Errorf("line longer than %d bytes", MaxLine)}
				return nil, r.stick
			}
			return b, nil
		}
		r.seen = r.wr
		if r.wr-r.rd >= MaxLine {
			r.stick = &LineError{Line: r.line + 1, Err: fmt.Errorf("line longer than %d bytes", MaxLine)}
			return nil, r.stick
		}
		if r.srcErr != nil {
			// The last line, without a newline; the error comes next time.
			if errors.Is(r.srcErr, io.EOF) {
				r.stick = io.EOF
			} else {
				r.stick = fmt.Errorf("read replay: %w", r.srcErr)
			}
			b := r.buf[r.rd:r.wr]
			r.rd, r.seen = r.wr, r.wr
			if len(b) > 0 {
				return b, nil
			}
			return nil, r.stick
		}
		r.fill()
	}
}

// fill reads more input into buf, first moving the bytes not consumed
// to its start, growing it when they fill it, shrinking it back after a
// long line.
func (r *Reader) fill() {
	n := r.wr - r.rd
	switch {
	case n == len(r.buf):
		nb := make([]byte, min(2*len(r.buf), MaxLine+1))
		copy(nb, r.buf[r.rd:r.wr])
		r.buf = nb
	case len(r.buf) > bufSize && n < bufSize/2:
		nb := make([]byte, bufSize) // do not hold on to a huge line
		copy(nb, r.buf[r.rd:r.wr])
		r.buf = nb
	case r.rd > 0:
		copy(r.buf, r.buf[r.rd:r.wr])
	}
	r.seen -= r.rd
	r.rd, r.wr = 0, n
	for range 100 {
		m, err := r.src.Read(r.buf[r.wr:])
		if m < 0 || m > len(r.buf)-r.wr {
			r.srcErr = errors.New("the input returned an invalid count")
			return
		}
		r.wr += m
		if err != nil {
			r.srcErr = err
			return
		}
		if m > 0 {
			return
		}
	}
	r.srcErr = io.ErrNoProgress
}

func (r *Reader) fail(key string, format string, args ...any) error {
	return &LineError{Line: r.line, Key: key, Err: fmt.Errorf(format, args...)}
}

// decodeSlow decodes line b with encoding/json. It is the reference for
// the fast decoder and handles every line that decoder does not.
func (r *Reader) decodeSlow(b []byte, ev *event.Event, ctx *event.ProcContext) error {
	var l lineJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&l); err != nil {
		return r.jsonError(err)
	}
	if dec.More() {
		return r.fail("", "more than one JSON value on the line")
	}
	if l.Type == "" {
		return r.fail("type", "missing")
	}
	info, ok := catalog.EventByName(l.Type)
	if !ok {
		return r.fail("type", "unknown event type %q", l.Type)
	}
	ev.Reset(info)
	r.num++
	ev.Num = r.num
	if l.Num != 0 {
		ev.Num = l.Num
	}
	ts, err := parseTs(l.Ts)
	if err != nil {
		return r.fail("ts", "%v", err)
	}
	ev.Ts = ts
	if l.Tid == nil {
		return r.fail("tid", "missing")
	}
	ev.Tid = *l.Tid
	ev.Pid = ev.Tid
	if l.Pid != nil {
		ev.Pid = *l.Pid
	}
	ev.CPU = l.CPU
	// In name order, so that of several bad parameters the same one is
	// reported every time.
	for _, name := range slices.Sorted(maps.Keys(l.Args)) {
		raw := l.Args[name]
		i, ok := info.Param(name)
		if !ok {
			return r.fail("args."+name, "event %s has no parameter %q", info.Name, name)
		}
		if err := parseParam(&info.Params[i], &ev.Params[i], raw); err != nil {
			return r.fail("args."+name, "%v", err)
		}
		ev.Params[i].Set = true
	}
	ret := info.Params
	if ri := event.RetParam(info); ri >= 0 {
		ev.Res = ev.Params[ri].I
		if l.Res != nil {
			if ev.Params[ri].Set && ev.Params[ri].I != *l.Res {
				return r.fail("res", "%d disagrees with args.%s %d", *l.Res, ret[ri].Name, ev.Params[ri].I)
			}
			ev.SetRes(*l.Res)
		}
	} else if l.Res != nil {
		ev.Res = *l.Res
	}
	if l.Proc != nil && ctx != nil {
		if err := r.procContext(l.Proc, ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		key := te.Field
		if key == "" {
			key = "value"
		}
		return r.fail(key, "cannot use JSON %s as %s", te.Value, te.Type)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		k, _ := strconv.Unquote(rest)
		return r.fail(k, "unknown key")
	}
	return r.fail("", "invalid JSON: %v", err)
}

func (r *Reader) procContext(p *procJSON, c *event.ProcContext) error {
	setI := func(dst *int64, v *int64, k event.ProcKnown) {
		if v != nil {
			*dst = *v
			c.Known |= k
		}
	}
	setU := func(dst *uint32, v *uint32, k event.ProcKnown) {
		if v != nil {
			*dst = *v
			c.Known |= k
		}
	}
	setS := func(dst *string, v *string, k event.ProcKnown) {
		if v != nil {
			*dst = *v
			c.Known |= k
		}
	}
	setI(&c.PPid, p.PPid, event.KnownPPid)
	setI(&c.Vpid, p.Vpid, event.KnownVpid)
	setI(&c.Vtid, p.Vtid, event.KnownVtid)
	setI(&c.Start, p.Start, event.KnownStart)
	setS(&c.Comm, p.Comm, event.KnownComm)
	setS(&c.Exe, p.Exe, event.KnownExe)
	setS(&c.ExePath, p.ExePath, event.KnownExePath)
	setS(&c.Cwd, p.Cwd, event.KnownCwd)
	setU(&c.UID, p.UID, event.KnownUID)
	setU(&c.GID, p.GID, event.KnownGID)
	setU(&c.EUID, p.EUID, event.KnownEUID)
	setU(&c.EGID, p.EGID, event.KnownEGID)
	setU(&c.TTY, p.TTY, event.KnownTTY)
	if p.Sid != nil || p.Pgid != nil || p.Vpgid != nil {
		c.Known |= event.KnownSession
		setI(&c.Sid, p.Sid, 0)
		setI(&c.Pgid, p.Pgid, 0)
		setI(&c.Vpgid, p.Vpgid, 0)
	}
	if p.LoginUID != nil {
		c.Known |= event.KnownLoginUID
		c.LoginUID = uint32(*p.LoginUID) // -1 is "unset", 0xffffffff
	}
	if p.Args != nil {
		c.Known |= event.KnownArgs
		c.Args = *p.Args
	}
	if p.Env != nil {
		c.Known |= event.KnownEnv
		c.Env = *p.Env
	}
	if p.Cgroup != nil && p.Cgroups != nil {
		return r.fail("proc.cgroups", "give either cgroup or cgroups")
	}
	if p.Cgroup != nil {
		c.Known |= event.KnownCgroups
		c.Cgroups = []container.Cgroup{{Path: *p.Cgroup}}
	}
	if p.Cgroups != nil {
		c.Known |= event.KnownCgroups
		for i, s := range p.Cgroups {
			ctrl, path, ok := strings.Cut(s, "=")
			if !ok {
				return r.fail("proc.cgroups", "element %d: %q is not controllers=path", i, s)
			}
			c.Cgroups = append(c.Cgroups, container.Cgroup{Controllers: ctrl, Path: path})
		}
	}
	for _, cp := range []struct {
		key string
		v   *string
		dst *uint64
	}{
		{"proc.cap_effective", p.CapEffective, &c.Caps.Effective},
		{"proc.cap_permitted", p.CapPermitted, &c.Caps.Permitted},
		{"proc.cap_inheritable", p.CapInheritable, &c.Caps.Inheritable},
	} {
		if cp.v == nil {
			continue
		}
		v, err := state.ParseCaps(*cp.v)
		if err != nil {
			return r.fail(cp.key, "%v", err)
		}
		*cp.dst = v
		c.Known |= event.KnownCaps
	}
	return nil
}

// parseTs accepts an integer number of nanoseconds since the epoch or an
// RFC 3339 time with optional fraction. A missing ts is 0.
func parseTs(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		return t.UnixNano(), nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer number of nanoseconds", raw)
	}
	return n, nil
}

// parseParam converts one JSON value to parameter p of type d.
func parseParam(d *catalog.Param, p *event.Param, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return errors.New("empty value")
	}
	isStr := raw[0] == '"'
	var s string
	if isStr {
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
	}
	if event.IsSigned(d.Type) {
		return parseSigned(d.Type, p, raw, isStr, s)
	}
	if done, err := parseOther(d.Type, p, raw, isStr, s); done {
		return err
	}
	return parseUnsigned(d, p, raw, isStr, s)
}

// parseSigned parses a signed number: an integer, AT_FDCWD for a
// descriptor, or an errno name for a descriptor or an errno.
func parseSigned(t catalog.ParamType, p *event.Param, raw json.RawMessage, isStr bool, s string) error {
	if !isStr {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%s is not an integer", raw)
		}
		p.I = n
		return nil
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		p.I = n
		return nil
	}
	if t == catalog.ParamFD && s == "AT_FDCWD" {
		p.I = event.AtFDCWD
		return nil
	}
	if t == catalog.ParamErrno || t == catalog.ParamFD {
		if e, ok := event.ParseErrno(s); ok {
			p.I = -e
			return nil
		}
	}
	return fmt.Errorf("%q is not an integer", s)
}

// parseOther parses the strings, buffers, addresses, numbers, booleans and
// times; done is false for the other types (unsigned numbers, flags, ids,
// signals) and for an absolute time that is not a time stamp.
func parseOther(t catalog.ParamType, p *event.Param, raw json.RawMessage, isStr bool, s string) (done bool, err error) {
	switch {
	case t == catalog.ParamCharBuf || t == catalog.ParamFSPath || t == catalog.ParamFSRelPath || t == catalog.ParamFDList:
		if !isStr {
			return true, fmt.Errorf("%s is not a string", raw)
		}
		p.S = s
		return true, nil
	case t == catalog.ParamByteBuf || t == catalog.ParamCharBufArray || t == catalog.ParamCharBufPairArray:
		return true, parseBytes(p, raw, isStr, s)
	case t == catalog.ParamSockAddr:
		if !isStr {
			return true, fmt.Errorf("%s is not a string", raw)
		}
		return true, parseSockAddr(p, s)
	case t == catalog.ParamSockTuple:
		if !isStr {
			return true, fmt.Errorf("%s is not a string", raw)
		}
		return true, parseTuple(p, s)
	case t == catalog.ParamIPv4Addr || t == catalog.ParamIPv6Addr || t == catalog.ParamIPAddr ||
		t == catalog.ParamIPv4Net || t == catalog.ParamIPv6Net || t == catalog.ParamIPNet:
		if !isStr {
			return true, fmt.Errorf("%s is not a string", raw)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return true, fmt.Errorf("%q is not an IP address", s)
		}
		p.Addr = netip.AddrPortFrom(a, 0)
		return true, nil
	case t == catalog.ParamDouble:
		f, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
		if err != nil {
			return true, fmt.Errorf("%s is not a number", raw)
		}
		p.U = math.Float64bits(f)
		return true, nil
	case t == catalog.ParamBool:
		switch string(raw) {
		case "true", "1":
			p.U = 1
			return true, nil
		case "false", "0":
			p.U = 0
			return true, nil
		}
		return true, fmt.Errorf("%s is not a boolean", raw)
	case t == catalog.ParamAbsTime && isStr:
		if ts, err := parseTs(raw); err == nil {
			p.U = uint64(ts)
			return true, nil
		}
	}
	return false, nil
}

// parseUnsigned parses unsigned numbers, flags, ids and signals.
func parseUnsigned(d *catalog.Param, p *event.Param, raw json.RawMessage, isStr bool, s string) error {
	if !isStr {
		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			// Negative ids (-1 for "unchanged") wrap like the kernel's.
			if m, err2 := strconv.ParseInt(string(raw), 10, 64); err2 == nil {
				p.U = uint64(m)
				if d.Type == catalog.ParamUID || d.Type == catalog.ParamGID || d.Type == catalog.ParamUint32 {
					p.U = uint64(uint32(m))
				}
				return nil
			}
			return fmt.Errorf("%s is not an unsigned integer", raw)
		}
		p.U = n
		return nil
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		p.U = n
		return nil
	}
	if d.Type == catalog.ParamSigType {
		if n, ok := signalByName[s]; ok {
			p.U = n
			return nil
		}
	}
	if len(d.Flags) > 0 {
		v, err := event.ParseFlags(d, s)
		if err != nil {
			return err
		}
		p.U = v
		return nil
	}
	return fmt.Errorf("%q is not an unsigned integer", s)
}

func parseBytes(p *event.Param, raw json.RawMessage, isStr bool, s string) error {
	if isStr {
		p.B = append(p.B[:0], s...)
		return nil
	}
	switch raw[0] {
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return errors.New("not a string or an array of strings")
		}
		p.B = p.B[:0]
		for _, e := range list {
			p.B = append(p.B, e...)
			p.B = append(p.B, 0)
		}
		return nil
	case '{':
		var o struct {
			Base64 *string `json:"base64"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil || o.Base64 == nil {
			return errors.New(`an object value must be {"base64": "..."}`)
		}
		b, err := base64.StdEncoding.DecodeString(*o.Base64)
		if err != nil {
			return fmt.Errorf("base64: %w", err)
		}
		p.B = append(p.B[:0], b...)
		return nil
	}
	return fmt.Errorf("%s is not a string or an array of strings", raw)
}

// ParseAddrPort parses "1.2.3.4:80", "[::1]:80" or Falco's unbracketed
// "::1:80".
func ParseAddrPort(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("%q is not ip:port", s)
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not ip:port", s)
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not ip:port", s)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

func familyOf(a netip.Addr) uint16 {
	if a.Is4() || a.Is4In6() {
		return event.AFInet
	}
	return event.AFInet6
}

func isUnixPath(s string) bool {
	return s == "" || s[0] == '/' || s[0] == '@' || strings.HasPrefix(s, "unix:")
}

func parseSockAddr(p *event.Param, s string) error {
	if isUnixPath(s) {
		p.Family, p.S = event.AFUnix, strings.TrimPrefix(s, "unix:")
		return nil
	}
	ap, err := ParseAddrPort(s)
	if err != nil {
		return err
	}
	p.Addr, p.Family = ap, familyOf(ap.Addr())
	return nil
}

func parseTuple(p *event.Param, s string) error {
	if isUnixPath(s) {
		p.Family, p.S = event.AFUnix, strings.TrimPrefix(s, "unix:")
		return nil
	}
	c, sv, ok := strings.Cut(s, "->")
	if !ok {
		return fmt.Errorf("%q is not client->server", s)
	}
	ca, err := ParseAddrPort(c)
	if err != nil {
		return err
	}
	sa, err := ParseAddrPort(sv)
	if err != nil {
		return err
	}
	p.Client, p.Server, p.Family = ca, sa, familyOf(sa.Addr())
	return nil
}

var signalByName = func() map[string]uint64 {
	m := make(map[string]uint64, 64)
	for i := uint64(1); i < 65; i++ {
		m[string(event.SignalName(i))] = i
	}
	return m
}()
