package scap

import (
	"encoding/binary"
	"math"
	"net/netip"
	"unsafe"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// MaxPendingEnters bounds the enter events the [Decoder] keeps, one per
// thread, waiting for their exit events, and MaxPendingEnterBytes the
// bytes of their parameters.
const (
	MaxPendingEnters     = 1 << 16
	MaxPendingEnterBytes = 64 << 20
)

// DecodeStats count what the [Decoder] did with the events it was given.
type DecodeStats struct {
	// Events were decoded into engine events.
	Events uint64
	// Enters were enter events, kept for their exit event and not
	// passed on (Falco's scap reader drops them too).
	Enters uint64
	// EntersMerged exit events took parameters from their enter event.
	EntersMerged uint64
	// UnknownTypes are event codes past libscap's table (a newer
	// capture), skipped.
	UnknownTypes uint64
	// NotInCatalog are events whose type the engine does not know
	// (counted by name in NotInCatalogByName), skipped.
	NotInCatalog       uint64
	NotInCatalogByName map[string]uint64
	// Unused are events libscap marks unused, skipped.
	Unused uint64
	// BadParams are parameters whose length does not fit their type;
	// the parameter is left unset.
	BadParams uint64
	// UnknownFlagBits counts flag values with bits no name explains
	// (they are dropped in the translation to Linux values).
	UnknownFlagBits uint64
	// EntersDropped are enter events dropped because MaxPendingEnters
	// threads were waiting.
	EntersDropped uint64
}

// codeInfo is a libscap event code resolved against the catalog.
type codeInfo struct {
	ppm *ppmEvent
	cat *catalog.Event
	// idx maps each libscap parameter to the catalog parameter of the
	// same name (-1: none).
	idx []int
	// enter is true for an enter event that has an exit event.
	enter bool
	// generic is a generic syscall event (type from the ID parameter).
	generic bool
	// execve is an execve or execveat exit.
	execve bool
}

type storedEnter struct {
	code   uint16
	params [][]byte
	buf    []byte
}

// Decoder turns libscap events into engine events. It is not safe for
// concurrent use.
type Decoder struct {
	codes  [ppmEventMax]*codeInfo
	enters map[int64]*storedEnter
	free   []*storedEnter
	stats  DecodeStats
	// enterBytes is the size of the parameters of the stored enters.
	enterBytes int
	// strs interns decoded strings (paths and names repeat).
	strs map[string]string
	// recent holds interned strings in front of strs.
	recent [1 << recentBits]string
	// flagMemo holds translated flag values (see linuxFlags).
	flagMemo [1 << flagMemoBits]flagMemo
}

// maxInterned bounds the interned strings; the table starts over when
// full.
const maxInterned = 1 << 16

// str returns b up to its first NUL as an interned string.
func (d *Decoder) str(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	// Two ways in front of the map: the string is in slot h or h^1; a
	// new one goes to h, and what was there moves to h^1.
	h := event.QuickHash(b) >> (64 - recentBits)
	if r := d.recent[h]; r == string(b) && len(b) > 0 {
		return r
	}
	if r := d.recent[h^1]; r == string(b) && len(b) > 0 {
		return r
	}
	s, ok := d.strs[string(b)]
	if !ok {
		if d.strs == nil || len(d.strs) >= maxInterned {
			d.strs = make(map[string]string, 1024)
			clear(d.recent[:])
		}
		s = string(b)
		d.strs[s] = s
	}
	d.recent[h^1] = d.recent[h]
	d.recent[h] = s
	return s
}

// recentBits is log2 of the entries of Decoder.recent.
const recentBits = 11

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{enters: map[int64]*storedEnter{}, stats: DecodeStats{NotInCatalogByName: map[string]uint64{}}}
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() DecodeStats { return d.stats }

func (d *Decoder) code(t uint16) *codeInfo {
	if ci := d.codes[t]; ci != nil {
		return ci
	}
	p := &ppmTable[t]
	ci := &codeInfo{ppm: p}
	if t%2 == 0 && int(t)+1 < ppmEventMax && ppmTable[t+1].Name != "NA" && ppmTable[t+1].Category != 0 {
		ci.enter = true
	}
	name := p.Name
	if name == "syscall" {
		ci.generic = true
	}
	ci.execve = !ci.enter && (name == "execve" || name == "execveat")
	ci.cat, _ = catalog.EventByName(name)
	if ci.cat != nil {
		ci.idx = paramIndex(p, ci.cat)
	}
	d.codes[t] = ci
	return ci
}

func paramIndex(p *ppmEvent, cat *catalog.Event) []int {
	idx := make([]int, len(p.Params))
	for i := range p.Params {
		j, ok := cat.Param(p.Params[i].Name)
		if !ok {
			j = -1
		}
		idx[i] = j
	}
	return idx
}

// Decode decodes raw into ev. It reports false for an event that gives no
// engine event: an enter event (kept for its exit), or a type that is
// unknown, unused or not in the catalog (counted in [Decoder.Stats]).
func (d *Decoder) Decode(raw *RawEvent, ev *event.Event) bool {
	if int(raw.Type) >= ppmEventMax {
		d.stats.UnknownTypes++
		return false
	}
	ci := d.code(raw.Type)
	if ci.ppm.Flags&efUnused != 0 {
		d.stats.Unused++
		return false
	}
	if ci.enter {
		d.storeEnter(raw)
		d.stats.Enters++
		return false
	}
	cat, idx := ci.cat, ci.idx
	if ci.generic {
		cat, idx = d.genericInfo(raw)
	}
	if cat == nil {
		d.stats.NotInCatalog++
		d.stats.NotInCatalogByName[ci.ppm.Name]++
		return false
	}
	ev.Reset(cat)
	ev.Ts = int64(raw.Ts)
	ev.Tid = raw.Tid
	ev.Pid = raw.Tid
	ev.CPU = int(raw.CPU)
	for i, b := range raw.Params {
		if i >= len(idx) || idx[i] < 0 {
			continue
		}
		d.setParam(&ci.ppm.Params[i], &cat.Params[idx[i]], &ev.Params[idx[i]], b)
	}
	// Parameters the exit event lacks come from its enter event, as
	// libscap's converter completes old captures.
	if raw.Type%2 == 1 {
		if se, ok := d.enters[raw.Tid]; ok {
			delete(d.enters, raw.Tid)
			d.enterBytes -= len(se.buf)
			if se.code == raw.Type-1 {
				d.mergeEnter(se, cat, ev)
			}
			d.release(se)
		}
	}
	if ci.execve {
		// A capture older than trusted_exepath whose enter event had no
		// file name: libsinsp keeps the thread's exepath; an empty
		// trusted_exepath tells the state so.
		if te, ok := cat.Param("trusted_exepath"); ok && !ev.Params[te].Set {
			if fn, ok := cat.Param("filename"); !ok || !ev.Params[fn].Set {
				ev.Params[te] = event.Param{Set: true, B: ev.Params[te].B[:0]}
			}
		}
	}
	if ci.generic && len(ev.Params) > 0 && ev.Info.Params[0].Type == catalog.ParamSyscallID {
		// The x86_64 syscall id, as the live source has it, rather than
		// libscap's PPM_SC code.
		if id, ok := catalog.SyscallID(ev.Info.Name); ok {
			ev.Params[0].U, ev.Params[0].Set = uint64(id), true
		}
	}
	if r := ev.RetParam(); r >= 0 && ev.Params[r].Set {
		ev.Res = ev.Params[r].I
	}
	d.stats.Events++
	return true
}

func (d *Decoder) genericInfo(raw *RawEvent) (*catalog.Event, []int) {
	if len(raw.Params) == 0 || len(raw.Params[0]) != 2 {
		return nil, nil
	}
	name, ok := ppmSyscallNames[binary.LittleEndian.Uint16(raw.Params[0])]
	if !ok {
		return nil, nil
	}
	cat, ok := catalog.EventByName(name)
	if !ok {
		return nil, nil
	}
	return cat, paramIndex(&ppmTable[raw.Type], cat)
}

func (d *Decoder) storeEnter(raw *RawEvent) {
	size := 0
	for _, p := range raw.Params {
		size += len(p)
	}
	se, ok := d.enters[raw.Tid]
	if ok {
		d.enterBytes -= len(se.buf)
	}
	if d.enterBytes+size > MaxPendingEnterBytes {
		if ok {
			delete(d.enters, raw.Tid)
			d.release(se)
		}
		d.stats.EntersDropped++
		return
	}
	d.enterBytes += size
	if !ok {
		if len(d.enters) >= MaxPendingEnters {
			d.enterBytes -= size
			d.stats.EntersDropped++
			return
		}
		if n := len(d.free); n > 0 {
			se = d.free[n-1]
			d.free = d.free[:n-1]
		} else {
			se = &storedEnter{}
		}
		d.enters[raw.Tid] = se
	}
	se.code = raw.Type
	se.buf = se.buf[:0]
	for _, p := range raw.Params {
		se.buf = append(se.buf, p...)
	}
	se.params = se.params[:0]
	off := 0
	for _, p := range raw.Params {
		se.params = append(se.params, se.buf[off:off+len(p):off+len(p)])
		off += len(p)
	}
}

// release keeps se for reuse, within bounds: a few entries, small
// buffers.
func (d *Decoder) release(se *storedEnter) {
	if len(d.free) >= 256 {
		return
	}
	if cap(se.buf) > 64<<10 {
		se.buf = nil
	}
	d.free = append(d.free, se)
}

func (d *Decoder) mergeEnter(se *storedEnter, cat *catalog.Event, ev *event.Event) {
	ci := d.code(se.code)
	merged := false
	for i, b := range se.params {
		if i >= len(ci.ppm.Params) {
			break
		}
		j, ok := cat.Param(ci.ppm.Params[i].Name)
		if !ok || ev.Params[j].Set {
			continue
		}
		d.setParam(&ci.ppm.Params[i], &cat.Params[j], &ev.Params[j], b)
		merged = merged || ev.Params[j].Set
	}
	if merged {
		d.stats.EntersMerged++
	}
}

// setParam decodes b, stored as libscap parameter pp, into p, the
// catalog parameter cp. An empty value leaves p unset, as libsinsp treats
// it as absent.
func (d *Decoder) setParam(pp *ppmParam, cp *catalog.Param, p *event.Param, b []byte) {
	if len(b) == 0 {
		return
	}
	switch pp.Type {
	case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath:
		p.S = d.str(b)
		p.Set = true
		if isBytes(cp.Type) {
			p.B = append(p.B[:0], b...)
		}
		return
	case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
		if isString(cp.Type) {
			p.S = d.str(b)
		} else {
			p.B = append(p.B[:0], b...)
		}
		p.Set = true
		return
	case catalog.ParamSockAddr:
		d.sockaddr(p, b)
		return
	case catalog.ParamSockTuple:
		d.socktuple(p, b)
		return
	case catalog.ParamIPv4Addr, catalog.ParamIPv4Net:
		if len(b) < 4 {
			d.stats.BadParams++
			return
		}
		p.Addr = netip.AddrPortFrom(addr4(b[:4]), 0)
		p.Set = true
		return
	case catalog.ParamIPv6Addr, catalog.ParamIPv6Net:
		if len(b) < 16 {
			d.stats.BadParams++
			return
		}
		p.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[:16])), 0)
		p.Set = true
		return
	case catalog.ParamIPAddr, catalog.ParamIPNet:
		switch {
		case len(b) >= 16:
			p.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[:16])), 0)
		case len(b) >= 4:
			p.Addr = netip.AddrPortFrom(addr4(b[:4]), 0)
		default:
			d.stats.BadParams++
			return
		}
		p.Set = true
		return
	case catalog.ParamFDList:
		p.S = fdList(b)
		p.Set = true
		return
	case catalog.ParamDynamic:
		// An index byte, then the value: kept as the number when it is
		// one, else as bytes.
		v := b[1:]
		switch len(v) {
		case 1, 2, 4, 8:
			p.U = leUint(v)
			p.I = int64(p.U)
		default:
			p.B = append(p.B[:0], v...)
			p.S = cstr(v)
		}
		p.Set = true
		return
	}
	// Numbers.
	var v uint64
	switch len(b) {
	case 1, 2, 4, 8:
		v = leUint(b)
	default:
		d.stats.BadParams++
		return
	}
	signed := isSignedPPM(pp.Type)
	var sv int64
	if signed {
		switch len(b) {
		case 1:
			sv = int64(int8(v))
		case 2:
			sv = int64(int16(v))
		case 4:
			sv = int64(int32(v))
		default:
			sv = int64(v)
		}
		v = uint64(sv)
	}
	if pp.Names != nil && cp.Type.IsFlags() && event.FlagsOf(cp) != nil {
		// Linux values where the engine knows them; a set it has no
		// Linux values for keeps libscap's (rendered as numbers).
		v = d.linuxFlags(pp, cp, v)
	}
	switch {
	case event.IsSigned(cp.Type):
		if signed {
			p.I = sv
		} else {
			p.I = int64(v)
		}
	case isString(cp.Type):
		return
	default:
		p.U = v
		if pp.Type == catalog.ParamDouble && cp.Type != catalog.ParamDouble {
			p.U = uint64(math.Float64frombits(v))
		}
	}
	p.Set = true
}

// linuxFlags translates a PPM flag value into the Linux value the engine
// uses, through the flag names. A trace repeats its flag values: the
// translations are remembered, by parameter and value.
func (d *Decoder) linuxFlags(pp *ppmParam, cp *catalog.Param, v uint64) uint64 {
	h := (v ^ v>>17 ^ uint64(uintptr(unsafe.Pointer(pp)))>>4) * 0x9e3779b97f4a7c15
	e := &d.flagMemo[h>>(64-flagMemoBits)]
	if e.pp != pp || e.cp != cp || e.v != v {
		before := d.stats.UnknownFlagBits
		*e = flagMemo{pp: pp, cp: cp, v: v, out: d.linuxFlagsSlow(pp, cp, v)}
		e.unknown = d.stats.UnknownFlagBits != before
		return e.out
	}
	if e.unknown {
		d.stats.UnknownFlagBits++
	}
	return e.out
}

// flagMemoBits is log2 of the entries of Decoder.flagMemo.
const flagMemoBits = 6

// flagMemo is one translation linuxFlags remembers; unknown records
// that it had bits without a name (counted again at every use).
type flagMemo struct {
	pp      *ppmParam
	cp      *catalog.Param
	v, out  uint64
	unknown bool
}

func (d *Decoder) linuxFlagsSlow(pp *ppmParam, cp *catalog.Param, v uint64) uint64 {
	enum := pp.Type == catalog.ParamEnumFlags8 || pp.Type == catalog.ParamEnumFlags16 || pp.Type == catalog.ParamEnumFlags32
	if enum {
		for _, n := range pp.Names {
			if n.Value == v {
				if lv, ok := event.FlagValue(cp, n.Name); ok {
					return lv
				}
				return v
			}
		}
		return v
	}
	if v == 0 {
		for _, n := range pp.Names {
			if n.Value == 0 {
				if lv, ok := event.FlagValue(cp, n.Name); ok {
					return lv
				}
			}
		}
		return 0
	}
	rem, out := v, uint64(0)
	for _, n := range pp.Names {
		if n.Value == 0 || rem&n.Value != n.Value {
			continue
		}
		if lv, ok := event.FlagValue(cp, n.Name); ok {
			out |= lv
		}
		rem &^= n.Value
	}
	if rem != 0 {
		d.stats.UnknownFlagBits++
	}
	return out
}

func (d *Decoder) sockaddr(p *event.Param, b []byte) {
	fam := b[0]
	switch fam {
	case event.AFInet:
		if len(b) < 7 {
			d.stats.BadParams++
			return
		}
		p.Addr = netip.AddrPortFrom(addr4(b[1:5]), binary.LittleEndian.Uint16(b[5:]))
	case event.AFInet6:
		if len(b) < 19 {
			d.stats.BadParams++
			return
		}
		p.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[1:17])).Unmap(), binary.LittleEndian.Uint16(b[17:]))
	case event.AFUnix:
		p.S = d.str(b[1:])
	default:
		// other families carry nothing the engine reads
	}
	p.Family = uint16(fam)
	p.Set = true
}

func (d *Decoder) socktuple(p *event.Param, b []byte) {
	fam := b[0]
	switch fam {
	case event.AFInet:
		if len(b) < 13 {
			d.stats.BadParams++
			return
		}
		p.Client = netip.AddrPortFrom(addr4(b[1:5]), binary.LittleEndian.Uint16(b[5:]))
		p.Server = netip.AddrPortFrom(addr4(b[7:11]), binary.LittleEndian.Uint16(b[11:]))
	case event.AFInet6:
		if len(b) < 37 {
			d.stats.BadParams++
			return
		}
		p.Client = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[1:17])).Unmap(), binary.LittleEndian.Uint16(b[17:]))
		p.Server = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[19:35])).Unmap(), binary.LittleEndian.Uint16(b[35:]))
	case event.AFUnix:
		if len(b) < 17 {
			d.stats.BadParams++
			return
		}
		p.S = d.str(b[17:])
	}
	p.Family = uint16(fam)
	p.Set = true
}

// fdList renders an FDLIST parameter (u16 count, then fd u64 and flags
// u16 per entry) as text: "fd:flags" entries separated by spaces (the
// flags as a number; libsinsp names them).
func fdList(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	n := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	var out []byte
	for i := 0; i < n && len(b) >= 10; i++ {
		if i > 0 {
			out = append(out, ' ')
		}
		out = appendInt(out, int64(binary.LittleEndian.Uint64(b)))
		out = append(out, ':')
		out = appendInt(out, int64(binary.LittleEndian.Uint16(b[8:])))
		b = b[10:]
	}
	return string(out)
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

func leUint(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 8:
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func isSignedPPM(t catalog.ParamType) bool {
	switch t {
	case catalog.ParamInt8, catalog.ParamInt16, catalog.ParamInt32, catalog.ParamInt64,
		catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		return true
	}
	return false
}

func isString(t catalog.ParamType) bool {
	switch t {
	case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath, catalog.ParamFDList:
		return true
	}
	return false
}

func isBytes(t catalog.ParamType) bool {
	switch t {
	case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
		return true
	}
	return false
}
