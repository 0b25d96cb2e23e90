package scap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
)

// Writer writes a capture in the current format version: a section
// header (1.2), then the tables (machine info, users UL_V2, processes
// PL_V9, fds FDL_V2), then EV_V2 event blocks (EV_V2_LARGE for libscap's
// large-payload events). It is not safe for concurrent use.
type Writer struct {
	w   *bufio.Writer
	err error
	buf []byte
}

// NewWriter returns a Writer on w; call [Writer.Flush] at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

func (w *Writer) block(typ uint32, body []byte) error {
	if w.err != nil {
		return w.err
	}
	pad := (4 - len(body)%4) % 4
	total := uint32(blockHeaderLen + len(body) + pad + blockTrailerLen)
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], typ)
	binary.LittleEndian.PutUint32(h[4:], total)
	w.w.Write(h[:])
	w.w.Write(body)
	w.w.Write(make([]byte, pad))
	_, w.err = w.w.Write(h[4:8])
	return w.err
}

type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *enc) str(s string, max int) {
	if len(s) > max {
		s = s[:max]
	}
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// list writes strings NUL-terminated, within max bytes.
func (e *enc) list(l []string, max int) {
	var b []byte
	for _, s := range l {
		if len(b)+len(s)+1 > max {
			break
		}
		b = append(b, s...)
		b = append(b, 0)
	}
	e.u16(uint16(len(b)))
	e.b = append(e.b, b...)
}

// WriteHeader writes the section header and h's tables. It must be
// called once, first.
func (w *Writer) WriteHeader(h *Header) error {
	var e enc
	e.u32(shbMagic)
	e.u16(currentMajor)
	e.u16(currentMinor)
	e.u64(^uint64(0)) // section length: unknown
	if err := w.block(blockSHB, e.b); err != nil {
		return err
	}
	if m := h.Machine; m != nil {
		e = enc{}
		e.u32(m.NumCPUs)
		e.u64(m.MemoryBytes)
		e.u64(m.MaxPid)
		var host [128]byte
		copy(host[:127], m.Hostname)
		e.b = append(e.b, host[:]...)
		e.u64(m.BootTS)
		e.u64(m.Flags)
		e.u64(0)
		e.u64(0)
		if err := w.block(blockMI, e.b); err != nil {
			return err
		}
	}
	if len(h.Users)+len(h.Groups) > 0 {
		e = enc{}
		for _, u := range h.Users {
			var s enc
			s.u8(0)
			s.u32(u.UID)
			s.u32(u.GID)
			s.str(u.Name, maxCredStr-1)
			s.str(u.Home, maxCredStr-1)
			s.str(u.Shell, maxCredStr-1)
			e.u32(uint32(len(s.b) + 4))
			e.b = append(e.b, s.b...)
		}
		for _, g := range h.Groups {
			var s enc
			s.u8(1)
			s.u32(g.GID)
			s.str(g.Name, maxCredStr-1)
			e.u32(uint32(len(s.b) + 4))
			e.b = append(e.b, s.b...)
		}
		if err := w.block(blockULV2, e.b); err != nil {
			return err
		}
	}
	if len(h.Threads) > 0 {
		e = enc{}
		for _, t := range h.Threads {
			s := threadEntry(t)
			if len(e.b)+len(s)+64 > MaxBlock/2 {
				if err := w.block(blockPLV9, e.b); err != nil {
					return err
				}
				e = enc{}
			}
			e.b = append(e.b, s...)
		}
		if err := w.block(blockPLV9, e.b); err != nil {
			return err
		}
		for _, t := range h.Threads {
			if len(t.FDs) == 0 {
				continue
			}
			e = enc{}
			e.u64(uint64(t.Tid))
			for i := range t.FDs {
				s := fdEntry(&t.FDs[i])
				e.u32(uint32(len(s) + 4))
				e.b = append(e.b, s...)
			}
			if err := w.block(blockFDLV2, e.b); err != nil {
				return err
			}
		}
	}
	return w.err
}

func threadEntry(t *Thread) []byte {
	var s enc
	s.u64(uint64(t.Tid))
	s.u64(uint64(t.Pid))
	s.u64(uint64(t.PTid))
	s.u64(uint64(t.Sid))
	s.u64(uint64(t.Vpgid))
	s.str(t.Comm, maxPath)
	s.str(t.Exe, maxPath)
	s.str(t.ExePath, maxPath)
	s.list(t.Args, maxArgs)
	s.str(t.Cwd, maxPath)
	s.u64(t.FDLimit)
	s.u32(t.Flags)
	s.u32(t.UID)
	s.u32(t.GID)
	s.u32(t.VmSizeKB)
	s.u32(t.VmRSSKB)
	s.u32(t.VmSwapKB)
	s.u64(t.PfMajor)
	s.u64(t.PfMinor)
	s.list(t.Env, maxEnv)
	s.u64(uint64(t.Vtid))
	s.u64(uint64(t.Vpid))
	s.list(t.Cgroups, maxCgroups)
	s.str(t.Root, maxPath)
	s.u64(t.PidnsInitStart)
	s.u32(t.TTY)
	s.u32(t.LoginUID)
	s.u8(b2u(t.ExeWritable))
	s.u64(t.CapInheritable)
	s.u64(t.CapPermitted)
	s.u64(t.CapEffective)
	s.u8(b2u(t.ExeUpperLayer))
	s.u64(t.ExeIno)
	s.u64(t.ExeInoCtime)
	s.u64(t.ExeInoMtime)
	s.u8(b2u(t.ExeFromMemfd))
	s.u8(b2u(t.ExeLowerLayer))
	s.u64(uint64(t.Pgid))
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(s.b)+4))
	return append(out, s.b...)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func ip4(a netip.Addr) []byte {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return b[:]
	}
	return make([]byte, 4)
}

func ip16(a netip.Addr) []byte {
	b := a.As16()
	return b[:]
}

func fdEntry(f *FD) []byte {
	var s enc
	s.u64(uint64(f.Num))
	s.u64(f.Ino)
	typ := f.Type
	if typ == FDFile {
		typ = FDFileV2
	}
	s.u8(typ)
	switch typ {
	case FDIPv4Sock:
		s.b = append(s.b, ip4(f.SIP)...)
		s.b = append(s.b, ip4(f.DIP)...)
		s.u16(f.SPort)
		s.u16(f.DPort)
		s.u8(f.L4Proto)
	case FDIPv4Serv:
		s.b = append(s.b, ip4(f.SIP)...)
		s.u16(f.SPort)
		s.u8(f.L4Proto)
	case FDIPv6Sock:
		s.b = append(s.b, ip16(f.SIP)...)
		s.b = append(s.b, ip16(f.DIP)...)
		s.u16(f.SPort)
		s.u16(f.DPort)
		s.u8(f.L4Proto)
	case FDIPv6Serv:
		s.b = append(s.b, ip16(f.SIP)...)
		s.u16(f.SPort)
		s.u8(f.L4Proto)
	case FDUnixSock:
		s.u64(f.Source)
		s.u64(f.Dest)
		s.str(f.Name, maxPath-1)
	case FDFileV2:
		s.u32(f.OpenFlags)
		s.str(f.Name, maxPath-1)
		s.u32(f.Dev)
	case FDUnknown:
	default:
		s.str(f.Name, maxPath-1)
	}
	return s.b
}

// WriteRaw writes one event block (EV_V2, or EV_V2_LARGE for an event
// libscap marks as large payload).
func (w *Writer) WriteRaw(ev *RawEvent) error {
	if int(ev.Type) >= ppmEventMax {
		return fmt.Errorf("scap: event type %d is past the event table", ev.Type)
	}
	large := ppmTable[ev.Type].Flags&efLargePayload != 0
	lenSize := 2
	if large {
		lenSize = 4
	}
	n := evtHeaderLen + lenSize*len(ev.Params)
	for _, p := range ev.Params {
		if !large && len(p) > 0xffff {
			return fmt.Errorf("scap: %s parameter of %d bytes is too long", ppmTable[ev.Type].Name, len(p))
		}
		n += len(p)
	}
	if !large && n+2+blockHeaderLen+blockTrailerLen > maxSmallEventBody {
		return fmt.Errorf("scap: %s event of %d bytes is too long for an event block", ppmTable[ev.Type].Name, n)
	}
	e := enc{b: w.buf[:0]}
	e.u16(ev.CPU)
	e.u64(ev.Ts)
	e.u64(uint64(ev.Tid))
	e.u32(uint32(n))
	e.u16(ev.Type)
	e.u32(uint32(len(ev.Params)))
	for _, p := range ev.Params {
		if large {
			e.u32(uint32(len(p)))
		} else {
			e.u16(uint16(len(p)))
		}
	}
	for _, p := range ev.Params {
		e.b = append(e.b, p...)
	}
	w.buf = e.b
	typ := uint32(blockEVV2)
	if large {
		typ = blockEVV2Large
	}
	return w.block(typ, e.b)
}
