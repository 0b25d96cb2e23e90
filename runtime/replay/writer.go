package replay

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// Writer writes events in the replay format, one line each. It is what a
// live capture (`--capture FILE`) uses: the first time a thread appears it
// writes a "proc" object describing it, so that a replay of the file
// rebuilds the same process state. It is not safe for concurrent use.
type Writer struct {
	w    *bufio.Writer
	seen map[int64]struct{}
	buf  []byte
}

// NewWriter returns a Writer to w. Call [Writer.Flush] at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), seen: make(map[int64]struct{})}
}

// Write writes ev. th is the event's thread as the state table has it
// BEFORE the event is applied (nil when unknown): the first time th's tid
// is written, a "proc" object describing it is added.
func (w *Writer) Write(ev *event.Event, th *state.Thread) error {
	var ctx *event.ProcContext
	if th != nil {
		if _, ok := w.seen[ev.Tid]; !ok {
			c := state.ProcContextOf(th)
			ctx = &c
		}
	}
	return w.WriteContext(ev, ctx)
}

// WriteContext writes ev with the given process context (nil for none).
func (w *Writer) WriteContext(ev *event.Event, ctx *event.ProcContext) error {
	if ev.Info == nil {
		return fmt.Errorf("write event %d: no event type", ev.Num)
	}
	if ctx != nil && ctx.Present() {
		w.seen[ev.Tid] = struct{}{}
	}
	b := w.buf[:0]
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, ev.Ts, 10)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, ev.Info.Name)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, ev.Tid, 10)
	if ev.Pid != ev.Tid {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, ev.Pid, 10)
	}
	if ev.CPU != 0 {
		b = append(b, `,"cpu":`...)
		b = strconv.AppendInt(b, int64(ev.CPU), 10)
	}
	if event.RetParam(ev.Info) < 0 && ev.Res != 0 {
		b = append(b, `,"res":`...)
		b = strconv.AppendInt(b, ev.Res, 10)
	}
	first := true
	for i := range ev.Params {
		if i >= len(ev.Info.Params) || !ev.Params[i].Set {
			continue
		}
		if first {
			b = append(b, `,"args":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		d := &ev.Info.Params[i]
		b = appendJSONString(b, d.Name)
		b = append(b, ':')
		b = appendParamJSON(b, d, &ev.Params[i])
	}
	if !first {
		b = append(b, '}')
	}
	if ctx != nil && ctx.Present() {
		b = append(b, `,"proc":`...)
		pj, err := json.Marshal(procJSONOf(ctx))
		if err != nil {
			return fmt.Errorf("write event %d: %w", ev.Num, err)
		}
		b = append(b, pj...)
	}
	b = append(b, "}\n"...)
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write event %d: %w", ev.Num, err)
	}
	return nil
}

// Forget makes the Writer describe tid again the next time it appears
// (after the thread exited and the id may be reused).
func (w *Writer) Forget(tid int64) { delete(w.seen, tid) }

// Flush writes buffered lines out.
func (w *Writer) Flush() error { return w.w.Flush() }

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func appendParamJSON(b []byte, d *catalog.Param, p *event.Param) []byte {
	switch t := d.Type; {
	case event.IsSigned(t):
		return strconv.AppendInt(b, p.I, 10)
	case t == catalog.ParamCharBuf || t == catalog.ParamFSPath || t == catalog.ParamFSRelPath || t == catalog.ParamFDList:
		return appendJSONString(b, p.S)
	case t == catalog.ParamByteBuf || t == catalog.ParamCharBufArray || t == catalog.ParamCharBufPairArray:
		return appendBytesJSON(b, p.B)
	case t == catalog.ParamSockAddr:
		if p.Family == event.AFUnix || !p.Addr.IsValid() {
			return appendJSONString(b, unixText(p.S))
		}
		return appendJSONString(b, p.Addr.String())
	case t == catalog.ParamSockTuple:
		if p.Family == event.AFUnix || !p.Client.IsValid() {
			return appendJSONString(b, unixText(p.S))
		}
		return appendJSONString(b, p.Client.String()+"->"+p.Server.String())
	case t == catalog.ParamIPv4Addr || t == catalog.ParamIPv6Addr || t == catalog.ParamIPAddr ||
		t == catalog.ParamIPv4Net || t == catalog.ParamIPv6Net || t == catalog.ParamIPNet:
		return appendJSONString(b, p.Addr.Addr().String())
	case t == catalog.ParamDouble:
		f := math.Float64frombits(p.U)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return append(b, '0')
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case t == catalog.ParamBool:
		if p.U != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case len(d.Flags) > 0:
		// The names when they say exactly the value, else the number.
		if names := event.FlagNames(d, p.U); names != "" {
			if v, err := event.ParseFlags(d, names); err == nil && v == p.U {
				return appendJSONString(b, names)
			}
		}
	}
	return strconv.AppendUint(b, p.U, 10)
}

// unixText makes sure a unix socket path reads back as one.
func unixText(s string) string {
	if isUnixPath(s) {
		return s
	}
	return "unix:" + s
}

// appendBytesJSON writes a NUL-separated list of valid UTF-8 strings as an
// array, other text as a string and binary data as {"base64": ...}.
func appendBytesJSON(b, v []byte) []byte {
	if !utf8.Valid(v) {
		b = append(b, `{"base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, `"}`...)
	}
	if len(v) > 0 && v[len(v)-1] == 0 {
		b = append(b, '[')
		first := true
		event.SplitNUL(v, func(s []byte) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, string(s))
		})
		return append(b, ']')
	}
	for _, c := range v {
		if c == 0 {
			b = append(b, `{"base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, v)
			return append(b, `"}`...)
		}
	}
	return appendJSONString(b, string(v))
}

func procJSONOf(c *event.ProcContext) *procJSON {
	p := &procJSON{}
	i := func(k event.ProcKnown, v int64) *int64 {
		if c.Known&k == 0 {
			return nil
		}
		return &v
	}
	u := func(k event.ProcKnown, v uint32) *uint32 {
		if c.Known&k == 0 {
			return nil
		}
		return &v
	}
	s := func(k event.ProcKnown, v string) *string {
		if c.Known&k == 0 {
			return nil
		}
		return &v
	}
	p.PPid, p.Vpid, p.Vtid, p.Start = i(event.KnownPPid, c.PPid), i(event.KnownVpid, c.Vpid), i(event.KnownVtid, c.Vtid), i(event.KnownStart, c.Start)
	p.Sid, p.Pgid, p.Vpgid = i(event.KnownSession, c.Sid), i(event.KnownSession, c.Pgid), i(event.KnownSession, c.Vpgid)
	p.Comm, p.Exe, p.ExePath, p.Cwd = s(event.KnownComm, c.Comm), s(event.KnownExe, c.Exe), s(event.KnownExePath, c.ExePath), s(event.KnownCwd, c.Cwd)
	p.UID, p.GID, p.EUID, p.EGID = u(event.KnownUID, c.UID), u(event.KnownGID, c.GID), u(event.KnownEUID, c.EUID), u(event.KnownEGID, c.EGID)
	p.TTY = u(event.KnownTTY, c.TTY)
	if c.Known&event.KnownLoginUID != 0 {
		l := int64(c.LoginUID)
		if c.LoginUID == math.MaxUint32 {
			l = -1
		}
		p.LoginUID = &l
	}
	if c.Known&event.KnownArgs != 0 {
		a := append([]string{}, c.Args...)
		p.Args = &a
	}
	if c.Known&event.KnownEnv != 0 {
		e := append([]string{}, c.Env...)
		p.Env = &e
	}
	if c.Known&event.KnownCgroups != 0 {
		if len(c.Cgroups) == 1 && c.Cgroups[0].Controllers == "" {
			p.Cgroup = &c.Cgroups[0].Path
		} else {
			p.Cgroups = make([]string, 0, len(c.Cgroups))
			for _, cg := range c.Cgroups {
				p.Cgroups = append(p.Cgroups, cg.Controllers+"="+cg.Path)
			}
		}
	}
	if c.Known&event.KnownCaps != 0 {
		hex := func(v uint64) *string { s := "0x" + strconv.FormatUint(v, 16); return &s }
		p.CapEffective, p.CapPermitted, p.CapInheritable = hex(c.Caps.Effective), hex(c.Caps.Permitted), hex(c.Caps.Inheritable)
	}
	return p
}
