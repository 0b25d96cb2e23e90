package scap

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
)

// EncodeStats count what the [Encoder] could not write.
type EncodeStats struct {
	// NoCode are events whose type has no libscap event code (counted
	// by name in NoCodeByName); they are not written.
	NoCode       uint64
	NoCodeByName map[string]uint64
}

// Encoder turns engine events into libscap events of the current event
// table version (the exit events libscap's drivers send today, with the
// enter parameters included). It is not safe for concurrent use.
type Encoder struct {
	codes   map[string]uint16
	scCodes map[string]uint16
	bufs    [][]byte
	stats   EncodeStats
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{codes: map[string]uint16{}, scCodes: map[string]uint16{}, stats: EncodeStats{NoCodeByName: map[string]uint64{}}}
	for c := 0; c < ppmEventMax; c++ {
		p := &ppmTable[c]
		if p.Name == "" || p.Name == "NA" || p.Flags&(efUnused|efOldVersion) != 0 {
			continue
		}
		enterWithExit := c%2 == 0 && c+1 < ppmEventMax && ppmTable[c+1].Name != "NA" && ppmTable[c+1].Category != 0
		if enterWithExit {
			continue
		}
		if _, dup := e.codes[p.Name]; !dup || c%2 == 1 {
			e.codes[p.Name] = uint16(c)
		}
	}
	for code, name := range ppmSyscallNames {
		e.scCodes[name] = code
	}
	return e
}

// Stats returns the encoder's counters.
func (e *Encoder) Stats() EncodeStats { return e.stats }

const ppmeGenericX = 1

// Encode fills raw from ev. Its buffers are the encoder's, valid until the
// next Encode. It reports false for an event type libscap has no code for.
func (e *Encoder) Encode(ev *event.Event, raw *RawEvent) bool {
	name := ev.Type()
	code, ok := e.codes[name]
	generic := false
	if !ok {
		if _, sc := e.scCodes[name]; sc && ev.Info != nil && ev.Info.Syscall {
			code, generic = ppmeGenericX, true
		} else {
			e.stats.NoCode++
			e.stats.NoCodeByName[name]++
			return false
		}
	}
	p := &ppmTable[code]
	*raw = RawEvent{Ts: uint64(ev.Ts), Tid: ev.Tid, Type: code, CPU: uint16(ev.CPU), Params: raw.Params[:0]}
	for len(e.bufs) < len(p.Params) {
		e.bufs = append(e.bufs, nil)
	}
	for i := range p.Params {
		pp := &p.Params[i]
		b := e.bufs[i][:0]
		if generic && i == 0 {
			b = binary.LittleEndian.AppendUint16(b, e.scCodes[name])
		} else if j, ok := ev.Info.Param(pp.Name); ok && j < len(ev.Params) && ev.Params[j].Set {
			// An empty trusted_exepath means "unknown" (see the
			// decoder): written empty, libsinsp keeps the thread's path.
			if !(pp.Name == "trusted_exepath" && ev.Params[j].S == "") {
				b = encodeParam(b, pp, &ev.Info.Params[j], &ev.Params[j])
			}
		}
		e.bufs[i] = b
		raw.Params = append(raw.Params, b)
	}
	return true
}

// ppmSize is the size of a fixed-size libscap parameter type (0 for the
// variable-size ones).
func ppmSize(t catalog.ParamType) int {
	switch t {
	case catalog.ParamInt8, catalog.ParamUint8, catalog.ParamFlags8, catalog.ParamSigType, catalog.ParamL4Proto,
		catalog.ParamSockFamily, catalog.ParamEnumFlags8:
		return 1
	case catalog.ParamInt16, catalog.ParamUint16, catalog.ParamSyscallID, catalog.ParamPort, catalog.ParamFlags16,
		catalog.ParamEnumFlags16:
		return 2
	case catalog.ParamInt32, catalog.ParamUint32, catalog.ParamBool, catalog.ParamIPv4Addr, catalog.ParamUID,
		catalog.ParamGID, catalog.ParamFlags32, catalog.ParamSigSet, catalog.ParamMode, catalog.ParamEnumFlags32:
		return 4
	case catalog.ParamInt64, catalog.ParamUint64, catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID,
		catalog.ParamRelTime, catalog.ParamAbsTime, catalog.ParamDouble:
		return 8
	}
	return 0
}

func encodeParam(b []byte, pp *ppmParam, cp *catalog.Param, p *event.Param) []byte {
	switch pp.Type {
	case catalog.ParamCharBuf, catalog.ParamFSPath, catalog.ParamFSRelPath:
		s := p.S
		if s == "" && len(p.B) > 0 {
			s = string(p.B)
		}
		b = append(b, s...)
		return append(b, 0)
	case catalog.ParamByteBuf, catalog.ParamCharBufArray, catalog.ParamCharBufPairArray:
		if len(p.B) == 0 && p.S != "" {
			return append(b, p.S...)
		}
		return append(b, p.B...)
	case catalog.ParamSockAddr:
		switch {
		case p.Family == event.AFUnix || (!p.Addr.IsValid() && p.S != ""):
			b = append(b, event.AFUnix)
			b = append(b, p.S...)
			return append(b, 0)
		case p.Addr.Addr().Is4() || p.Addr.Addr().Is4In6():
			b = append(b, event.AFInet)
			a := p.Addr.Addr().Unmap().As4()
			b = append(b, a[:]...)
			return binary.LittleEndian.AppendUint16(b, p.Addr.Port())
		case p.Addr.Addr().Is6():
			b = append(b, event.AFInet6)
			a := p.Addr.Addr().As16()
			b = append(b, a[:]...)
			return binary.LittleEndian.AppendUint16(b, p.Addr.Port())
		}
		return append(b, byte(p.Family))
	case catalog.ParamSockTuple:
		switch {
		case p.Family == event.AFUnix || (!p.Client.IsValid() && p.S != ""):
			b = append(b, event.AFUnix)
			b = append(b, make([]byte, 16)...)
			b = append(b, p.S...)
			return append(b, 0)
		case p.Client.Addr().Is4() || p.Client.Addr().Is4In6() || p.Server.Addr().Is4():
			b = append(b, event.AFInet)
			for _, ap := range [2]netip.AddrPort{p.Client, p.Server} {
				a := ap.Addr().Unmap()
				var a4 [4]byte
				if a.Is4() {
					a4 = a.As4()
				}
				b = append(b, a4[:]...)
				b = binary.LittleEndian.AppendUint16(b, ap.Port())
			}
			return b
		case p.Client.Addr().Is6() || p.Server.Addr().Is6():
			b = append(b, event.AFInet6)
			for _, ap := range [2]netip.AddrPort{p.Client, p.Server} {
				a := ap.Addr().As16()
				b = append(b, a[:]...)
				b = binary.LittleEndian.AppendUint16(b, ap.Port())
			}
			return b
		}
		return append(b, byte(p.Family))
	case catalog.ParamIPv4Addr, catalog.ParamIPv4Net:
		a := p.Addr.Addr().Unmap()
		if !a.Is4() {
			return b
		}
		x := a.As4()
		return append(b, x[:]...)
	case catalog.ParamIPv6Addr, catalog.ParamIPv6Net, catalog.ParamIPAddr, catalog.ParamIPNet:
		a := p.Addr.Addr()
		if !a.IsValid() {
			return b
		}
		if a.Is4() && (pp.Type == catalog.ParamIPAddr || pp.Type == catalog.ParamIPNet) {
			x := a.As4()
			return append(b, x[:]...)
		}
		x := a.As16()
		return append(b, x[:]...)
	case catalog.ParamFDList, catalog.ParamDynamic:
		return b // not written (the engine keeps their text only)
	}
	n := ppmSize(pp.Type)
	if n == 0 {
		return b
	}
	var v uint64
	if event.IsSigned(cp.Type) {
		v = uint64(p.I)
	} else {
		v = p.U
	}
	if pp.Type == catalog.ParamDouble && cp.Type != catalog.ParamDouble {
		v = math.Float64bits(float64(v))
	}
	if pp.Names != nil && cp.Type.IsFlags() && event.FlagsOf(cp) != nil {
		v = ppmFlags(pp, cp, v)
	}
	switch n {
	case 1:
		return append(b, byte(v))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v))
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(b, v)
}

// ppmFlags translates a Linux flag value into libscap's, through the flag
// names.
func ppmFlags(pp *ppmParam, cp *catalog.Param, v uint64) uint64 {
	names := event.FlagNames(cp, v)
	if names == "" {
		return v
	}
	var out uint64
	for _, n := range strings.Split(names, "|") {
		for _, pn := range pp.Names {
			if pn.Name == n {
				out |= pn.Value
				break
			}
		}
	}
	return out
}
