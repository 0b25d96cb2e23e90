package scap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RawEvent is one event as the capture stores it. Params are slices of
// the reader's buffer, valid until the next [Reader.Next].
type RawEvent struct {
	// Offset is the stream offset of the event's block.
	Offset int64
	CPU    uint16
	// Flags are the EVF blocks' dump flags (0 otherwise).
	Flags  uint32
	Ts     uint64
	Tid    int64
	Type   uint16
	Params [][]byte
	// V1 is true for blocks of the old format (no nparams in the
	// header: the number of parameters was computed from the lengths).
	V1 bool
}

// Stats count what the reader saw.
type Stats struct {
	Blocks        uint64
	EventBlocks   uint64
	SkippedBlocks uint64 // unknown block types, skipped
	TableBlocks   uint64 // table blocks found between events
	Bytes         int64
}

// Reader reads a capture's blocks. It is not safe for concurrent use.
type Reader struct {
	br    *bufio.Reader
	gz    *gzip.Reader
	off   int64
	hdr   Header
	buf   []byte
	lens  []uint32
	stats Stats
	// pending is an event block header read while loading the tables.
	pending   *blockHeader
	tablesGen int
	sticky    error
	// hdrBuf holds the block header being read (pending points to a
	// copy).
	hdrBuf blockHeader
	// scratch holds block headers and trailers as they are read.
	scratch [8]byte
}

type blockHeader struct {
	typ, total uint32
	off        int64
}

// NewReader reads the section header and the table blocks before the
// first event. A gzip-compressed capture is decompressed on the fly.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rd := &Reader{br: br}
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd.gz = gz
		rd.br = bufio.NewReaderSize(gz, 64<<10)
	}
	if err := rd.readHeader(); err != nil {
		return nil, rd.mark(err)
	}
	return rd, nil
}

// Header returns the capture's tables: those before the first event, with
// any table block met since merged in.
func (r *Reader) Header() *Header { return &r.hdr }

// TablesGen counts the table blocks met after the first event: it
// changes when [Reader.Header] did.
func (r *Reader) TablesGen() int { return r.tablesGen }

// Stats returns the reader's counters.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Bytes = r.off
	return s
}

// Compressed reports whether the capture is gzip-compressed.
func (r *Reader) Compressed() bool { return r.gz != nil }

func (r *Reader) fail(off int64, block, format string, args ...any) error {
	return &FormatError{Offset: off, Block: block, Msg: fmt.Sprintf(format, args...)}
}

// read fills b from the stream; a short read is an error naming what was
// being read.
func (r *Reader) read(b []byte, block, what string) error {
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return r.fail(r.off, block, "%s: the file ends %d bytes into %d (truncated?)", what, n, len(b))
	}
	return fmt.Errorf("offset %d: %s: %w", r.off, block, err)
}

// readBody reads n bytes into r.buf, growing it as the data arrives so
// that a bogus length in a short file allocates no more than the file.
func (r *Reader) readBody(n int, block string) ([]byte, error) {
	const chunk = 1 << 20
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		want := min(n-len(r.buf), chunk)
		if cap(r.buf)-len(r.buf) < want {
			nb := make([]byte, len(r.buf), len(r.buf)+max(want, min(n, 2*cap(r.buf))-len(r.buf)))
			copy(nb, r.buf)
			r.buf = nb
		}
		seg := r.buf[len(r.buf) : len(r.buf)+want]
		got, err := io.ReadFull(r.br, seg)
		r.off += int64(got)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, r.fail(r.off, block, "block body (%d bytes): the file ends %d bytes into %d (truncated?)", n, len(r.buf)+got, n)
			}
			return nil, fmt.Errorf("offset %d: %s: %w", r.off, block, err)
		}
		r.buf = r.buf[:len(r.buf)+want]
	}
	return r.buf, nil
}

// blockHeader reads the next block's type and total length; io.EOF at a
// clean end of file.
func (r *Reader) blockHeader() (*blockHeader, error) {
	b := r.scratch[:8]
	off := r.off
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, r.fail(off, "block header", "the file ends %d bytes into a block header (truncated?)", n)
		}
		return nil, fmt.Errorf("offset %d: %w", off, err)
	}
	h := &r.hdrBuf
	*h = blockHeader{typ: binary.LittleEndian.Uint32(b[:]), total: binary.LittleEndian.Uint32(b[4:]), off: off}
	if off == 0 && h.typ != blockSHB {
		return nil, r.fail(0, "section header", "the file does not start with a section header block (type %#x): not a scap capture", h.typ)
	}
	if h.total < blockHeaderLen+blockTrailerLen {
		return nil, r.fail(off, blockName(h.typ), "block length %d is shorter than a block's header and trailer (12)", h.total)
	}
	if h.total > MaxBlock {
		return nil, r.fail(off, blockName(h.typ), "block length %d is over the reader's limit %d", h.total, MaxBlock)
	}
	return h, nil
}

func (r *Reader) trailer(h *blockHeader) error {
	b := r.scratch[:4]
	if err := r.read(b, blockName(h.typ), "block trailer"); err != nil {
		return err
	}
	if t := binary.LittleEndian.Uint32(b); t != h.total {
		return r.fail(r.off-4, blockName(h.typ), "block trailer says length %d, the header %d", t, h.total)
	}
	return nil
}

func (r *Reader) readHeader() error {
	h, err := r.blockHeader()
	if err == io.EOF {
		return r.fail(0, "section header", "empty file")
	}
	if err != nil {
		return err
	}
	if h.typ != blockSHB {
		return r.fail(0, "section header", "the file does not start with a section header block (type %#x): not a scap capture", h.typ)
	}
	if err := r.sectionHeader(h); err != nil {
		return err
	}
	for {
		h, err := r.blockHeader()
		if err == io.EOF {
			return r.fail(r.off, "capture", "no events in the file")
		}
		if err != nil {
			return err
		}
		if isEventBlock(h.typ) {
			p := *h
			r.pending = &p
			return nil
		}
		if err := r.tableBlock(h); err != nil {
			return err
		}
	}
}

func (r *Reader) sectionHeader(h *blockHeader) error {
	const minLen = blockHeaderLen + 16 + blockTrailerLen
	if h.total < minLen {
		return r.fail(h.off, "section header", "block length %d is less than %d", h.total, minLen)
	}
	body, err := r.readBody(int(h.total-blockHeaderLen-blockTrailerLen), "section header")
	if err != nil {
		return err
	}
	magic := binary.LittleEndian.Uint32(body)
	if magic != shbMagic {
		if magic == 0x4D3C2B1A {
			return r.fail(h.off+8, "section header", "big-endian captures are not supported")
		}
		return r.fail(h.off+8, "section header", "bad byte-order magic %#x", magic)
	}
	major, minor := binary.LittleEndian.Uint16(body[4:]), binary.LittleEndian.Uint16(body[6:])
	if major > currentMajor {
		return r.fail(h.off+12, "section header", "format version %d.%d is newer than this reader's (%d.%d)", major, minor, currentMajor, currentMinor)
	}
	r.hdr.Major, r.hdr.Minor = major, minor
	r.stats.Blocks++
	return r.trailer(h)
}

// tableBlock reads a block that is not an event: a table, or an unknown
// type (skipped, counted).
func (r *Reader) tableBlock(h *blockHeader) error {
	name := blockName(h.typ)
	n := int(h.total - blockHeaderLen - blockTrailerLen)
	if h.typ == blockSHB {
		// A new section: libscap starts over.
		if err := r.sectionHeader(h); err != nil {
			return err
		}
		return nil
	}
	body, err := r.readBody(n, name)
	if err != nil {
		return err
	}
	c := &cursor{b: body, base: h.off + blockHeaderLen, block: name}
	r.stats.Blocks++
	switch h.typ {
	case blockMI, blockMIInt:
		r.hdr.Machine, err = parseMachine(c)
	case blockFDL, blockFDLInt, blockFDLV2:
		err = parseFDList(c, h.typ == blockFDLV2, &r.hdr)
	case blockIL, blockILInt, blockILV2:
		err = parseIfList(c, h.typ == blockILV2, &r.hdr)
	case blockUL, blockULInt, blockULV2:
		if h.typ != blockULV2 || len(r.hdr.Users)+len(r.hdr.Groups) > 0 {
			// a later user block replaces the lists, as in libscap
			r.hdr.Users, r.hdr.Groups = nil, nil
		}
		err = parseUserList(c, h.typ == blockULV2, &r.hdr)
	default:
		if v := plVersion(h.typ); v > 0 {
			err = parseProcList(c, v, &r.hdr)
		} else {
			r.stats.SkippedBlocks++
		}
	}
	if err != nil {
		return err
	}
	return r.trailer(h)
}

// Next reads the next event into ev. It returns io.EOF at the end of the
// capture. Table blocks met between events update [Reader.Header] (and
// [Reader.TablesGen]). An error is sticky: the reader cannot resync.
func (r *Reader) Next(ev *RawEvent) error {
	if r.sticky != nil {
		return r.sticky
	}
	err := r.next(ev)
	if err != nil {
		err = r.mark(err)
		r.sticky = err
	}
	return err
}

func (r *Reader) next(ev *RawEvent) error {
	for {
		h := r.pending
		r.pending = nil
		if h == nil {
			var err error
			if h, err = r.blockHeader(); err != nil {
				return err
			}
		}
		if !isEventBlock(h.typ) {
			if err := r.tableBlock(h); err != nil {
				return err
			}
			r.stats.TableBlocks++
			r.tablesGen++
			continue
		}
		return r.eventBlock(h, ev)
	}
}

func (r *Reader) eventBlock(h *blockHeader, ev *RawEvent) error {
	name := "event"
	v2 := h.typ == blockEVV2 || h.typ == blockEVV2Large || h.typ == blockEVFV2 || h.typ == blockEVFV2Large
	large := h.typ == blockEVV2Large || h.typ == blockEVFV2Large
	withFlags := h.typ == blockEVF || h.typ == blockEVFV2 || h.typ == blockEVFV2Large
	n := int(h.total - blockHeaderLen - blockTrailerLen)
	if !large && n+blockTrailerLen > maxSmallEventBody {
		return r.fail(h.off, name, "event block length %d is over the %d bytes of a non-large event block", h.total, maxSmallEventBody)
	}
	if large && n > MaxLargeEvent {
		return r.fail(h.off, name, "event block length %d is over the reader's limit %d", h.total, MaxLargeEvent)
	}
	body, err := r.readBody(n, name)
	if err != nil {
		return err
	}
	if err := r.trailer(h); err != nil {
		return err
	}
	r.stats.Blocks++
	r.stats.EventBlocks++
	c := &cursor{b: body, base: h.off + blockHeaderLen, block: name}
	*ev = RawEvent{Offset: h.off, Params: ev.Params[:0], V1: !v2}
	if ev.CPU, err = c.u16("cpu"); err != nil {
		return err
	}
	if withFlags {
		if ev.Flags, err = c.u32("flags"); err != nil {
			return err
		}
	}
	evStart := c.i
	if ev.Ts, err = c.u64("ts"); err != nil {
		return err
	}
	tid, err := c.u64("tid")
	if err != nil {
		return err
	}
	ev.Tid = int64(tid)
	evLen, err := c.u32("event length")
	if err != nil {
		return err
	}
	if ev.Type, err = c.u16("event type"); err != nil {
		return err
	}
	hdrLen := evtHeaderLenV1
	nparams := uint32(0)
	if v2 {
		hdrLen = evtHeaderLen
		if nparams, err = c.u32("nparams"); err != nil {
			return err
		}
	}
	avail := len(body) - evStart
	if int(evLen) < hdrLen && v2 {
		return r.fail(c.base+int64(evStart)+16, name, "event length %d is smaller than the event header (%d)", evLen, hdrLen)
	}
	if !v2 {
		// The old format's length counts its 22-byte header.
		if evLen < evtHeaderLenV1 {
			return r.fail(c.base+int64(evStart)+16, name, "event length %d is smaller than the event header (%d)", evLen, evtHeaderLenV1)
		}
		if ev.Type == ppmeNotificationE || ev.Type == ppmeInfrastructureEventE {
			// libscap: these old events had a length 3 bytes too long
			evLen -= 3
		}
	}
	if int(evLen) > avail {
		return r.fail(c.base+int64(evStart)+16, name, "event length %d is larger than the %d bytes of the block", evLen, avail)
	}
	if int(ev.Type) >= ppmEventMax {
		ev.Params = ev.Params[:0]
		return nil // the decoder counts and skips it
	}
	lenSize := 2
	if ppmTable[ev.Type].Flags&efLargePayload != 0 {
		lenSize = 4
	}
	evBody := body[evStart+hdrLen : evStart+int(evLen)]
	bodyOff := c.base + int64(evStart+hdrLen)
	if !v2 {
		np, ok := guessParams(evBody, int(len(ppmTable[ev.Type].Params)), lenSize)
		if !ok {
			return r.fail(bodyOff, name, "%s event: the parameter lengths match no parameter count up to %d (corrupt event)", ppmTable[ev.Type].Name, len(ppmTable[ev.Type].Params))
		}
		nparams = uint32(np)
	}
	if uint64(nparams)*uint64(lenSize) > uint64(len(evBody)) {
		return r.fail(bodyOff, name, "%d parameters do not fit in an event of %d bytes", nparams, evLen)
	}
	pc := &cursor{b: evBody, base: bodyOff, block: name}
	r.lens = r.lens[:0]
	for i := uint32(0); i < nparams; i++ {
		var l uint32
		if lenSize == 4 {
			l, _ = pc.u32("param length")
		} else {
			x, _ := pc.u16("param length")
			l = uint32(x)
		}
		r.lens = append(r.lens, l)
	}
	for i, l := range r.lens {
		if int(l) > pc.left() {
			return pc.fail("parameter %d: need %d bytes, %d left in the block", i, l, pc.left())
		}
		ev.Params = append(ev.Params, pc.b[pc.i:pc.i+int(l)])
		pc.i += int(l)
	}
	return nil
}

// guessParams finds the number of parameters of an old-format event: the
// largest count, from the event table's, whose lengths add up exactly to
// the event's size.
func guessParams(b []byte, n, lenSize int) (int, bool) {
	for ; n >= 0; n-- {
		if n*lenSize > len(b) {
			continue
		}
		total := n * lenSize
		for i := 0; i < n; i++ {
			if lenSize == 4 {
				total += int(binary.LittleEndian.Uint32(b[i*4:]))
			} else {
				total += int(binary.LittleEndian.Uint16(b[i*2:]))
			}
			if total > len(b) {
				break
			}
		}
		if total == len(b) {
			return n, true
		}
		if total < len(b) {
			return 0, false
		}
	}
	return 0, false
}

// mark flags the offsets of a gzip capture's errors as decompressed.
func (r *Reader) mark(err error) error {
	var fe *FormatError
	if r.gz != nil && errors.As(err, &fe) {
		fe.Decompressed = true
	}
	return err
}

// Close releases the gzip reader, if any (not the underlying reader).
func (r *Reader) Close() error {
	if r.gz != nil {
		return r.gz.Close()
	}
	return nil
}
