package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/ringbuf"
)

// ErrBadRecord is wrapped by errors about records that do not decode.
var ErrBadRecord = errors.New("malformed capture record")

// Header is the fixed part of every record (struct falcoc_hdr).
type Header struct {
	BootNs uint64 // bpf_ktime_get_boot_ns at the hook
	// Mask holds the clauses that survived the prefilter: the header's
	// words, then those of the record's FALCOC_ITEM_MASK item (a capture
	// with a mask wider than the header's, [Capture.MaskWords]). A word
	// of the capture's width the record does not carry is all ones
	// (nothing judged: sched records); the words past it are zero.
	Mask     Mask
	Args     [6]uint64
	Ret      int64
	CgroupID uint64
	Kind     uint32 // syscall id, or KindFork, KindExec, KindExit
	Size     uint32
	Tid      uint32
	Tgid     uint32
	Ppid     uint32 // tgid of the real parent
	Vtid     uint32 // tid in the task's pid namespace
	Vtgid    uint32
	UID      uint32
	GID      uint32
	EUID     uint32
	EGID     uint32
	LoginUID uint32
	CPU      uint32
	Flags    uint16 // Flag* bits
	Comm     [16]byte
}

// OpenInfo is the open family's arguments, normalised (struct falcoc_open).
type OpenInfo struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64 // openat2 only
	Dirfd   int32  // AT_FDCWD (-100) for open and creat
}

// ExecInfo describes the task after a successful execve (struct falcoc_exec).
type ExecInfo struct {
	CapEffective, CapPermitted, CapInheritable uint64
	ExeIno                                     uint64
	ExeCtime, ExeMtime                         time.Time
	TTY                                        uint32 // major<<20 | minor, 0 for none
	Flags                                      uint32 // Exec* bits
}

// ForkInfo is a sched_process_fork record's payload.
type ForkInfo struct {
	ParentTid, ParentTgid, ChildTid, ChildTgid uint32
	// CloneFlags are the Linux clone flags of the call (clone's argument,
	// clone3's, or what fork and vfork imply); 0 when not known (a kernel
	// thread's fork).
	CloneFlags uint64
}

// Record is one event read from the ring buffer. Slices returned by its
// accessors point into the record's buffer and are valid until the next
// read into the same Record. A Record is not safe for concurrent use.
type Record struct {
	Header
	raw        ringbuf.Record
	bootOffset int64
	items      [numItemTypes]struct{ off, n int32 }
	// words is the capture's mask width (0: the header's).
	words int
}

// Time is the event's wall-clock time.
func (r *Record) Time() time.Time { return time.Unix(0, int64(r.BootNs)+r.bootOffset) }

// CommString is the task name.
func (r *Record) CommString() string {
	n := 0
	for n < len(r.Comm) && r.Comm[n] != 0 {
		n++
	}
	return string(r.Comm[:n])
}

// Raw is the whole record as the kernel wrote it.
func (r *Record) Raw() []byte { return r.raw.RawSample }

func (r *Record) item(t int) ([]byte, bool) {
	it := r.items[t]
	if it.off == 0 {
		return nil, false
	}
	return r.raw.RawSample[it.off : it.off+it.n], true
}

// Path is the first path argument of a file syscall.
func (r *Record) Path() ([]byte, bool) { return r.item(itemPath) }

// Path2 is the second path argument (link, rename, symlink, mount...).
func (r *Record) Path2() ([]byte, bool) { return r.item(itemPath2) }

// Exe is the path of the program an execve runs, or the filename of a
// sched_process_exec record.
func (r *Record) Exe() ([]byte, bool) { return r.item(itemExe) }

// ExePath is the new program's file as a successful execve left it, the
// path the task's root sees (symlinks resolved, as /proc/PID/exe shows
// it; a memfd as "/memfd:NAME (deleted)"). Missing when the kernel could
// not build it (too deep, too long).
func (r *Record) ExePath() ([]byte, bool) { return r.item(itemExePath) }

// FDPair returns the two descriptors a successful pipe, pipe2 or
// socketpair wrote.
func (r *Record) FDPair() (fd1, fd2 int32, ok bool) {
	b, ok := r.item(itemFDPair)
	if !ok || len(b) < 8 {
		return 0, 0, false
	}
	le := binary.LittleEndian
	return int32(le.Uint32(b)), int32(le.Uint32(b[4:])), true
}

// ArgvRaw is the NUL-separated argument block of a successful execve.
func (r *Record) ArgvRaw() ([]byte, bool) { return r.item(itemArgv) }

// EnvRaw is the NUL-separated environment block of a successful execve.
func (r *Record) EnvRaw() ([]byte, bool) { return r.item(itemEnv) }

// Argv appends the arguments to dst.
func (r *Record) Argv(dst [][]byte) [][]byte {
	b, _ := r.item(itemArgv)
	return splitNul(dst, b)
}

// Env appends the environment entries to dst.
func (r *Record) Env(dst [][]byte) [][]byte {
	b, _ := r.item(itemEnv)
	return splitNul(dst, b)
}

func splitNul(dst [][]byte, b []byte) [][]byte {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		dst = append(dst, b[:i])
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return dst
}

// Sockaddr is the raw remote (or bound) socket address.
func (r *Record) Sockaddr() ([]byte, bool) { return r.item(itemSockaddr) }

// LocalAddr is the socket's local address (struct sockaddr_in or
// sockaddr_in6 layout) for connect, accept, accept4, bind and listen.
func (r *Record) LocalAddr() ([]byte, bool) { return r.item(itemLocalAddr) }

// Open returns the open family's arguments.
func (r *Record) Open() (OpenInfo, bool) {
	b, ok := r.item(itemOpen)
	if !ok || len(b) < 28 {
		return OpenInfo{}, false
	}
	le := binary.LittleEndian
	return OpenInfo{Flags: le.Uint64(b), Mode: le.Uint64(b[8:]), Resolve: le.Uint64(b[16:]), Dirfd: int32(le.Uint32(b[24:]))}, true
}

// Exec returns what a successful execve recorded about the new program.
func (r *Record) Exec() (ExecInfo, bool) {
	b, ok := r.item(itemExec)
	if !ok || len(b) < 64 {
		return ExecInfo{}, false
	}
	le := binary.LittleEndian
	return ExecInfo{
		CapEffective:   le.Uint64(b),
		CapPermitted:   le.Uint64(b[8:]),
		CapInheritable: le.Uint64(b[16:]),
		ExeIno:         le.Uint64(b[24:]),
		ExeCtime:       time.Unix(int64(le.Uint64(b[32:])), int64(le.Uint32(b[48:]))),
		ExeMtime:       time.Unix(int64(le.Uint64(b[40:])), int64(le.Uint32(b[52:]))),
		TTY:            le.Uint32(b[56:]),
		Flags:          le.Uint32(b[60:]),
	}, true
}

// Fork returns a fork record's payload.
func (r *Record) Fork() (ForkInfo, bool) {
	b, ok := r.item(itemFork)
	if !ok || len(b) < 16 {
		return ForkInfo{}, false
	}
	le := binary.LittleEndian
	f := ForkInfo{ParentTid: le.Uint32(b), ParentTgid: le.Uint32(b[4:]), ChildTid: le.Uint32(b[8:]), ChildTgid: le.Uint32(b[12:])}
	if len(b) >= 24 {
		f.CloneFlags = le.Uint64(b[16:])
	}
	return f, true
}

// ExecOldTid returns the thread id that called execve, for a
// sched_process_exec record (it differs from Tid when a non-leader thread
// executed).
func (r *Record) ExecOldTid() (uint32, bool) {
	b, ok := r.item(itemExecTP)
	if !ok || len(b) < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// ExitInfo returns the exit code and whether the whole thread group died,
// for an exit record.
func (r *Record) ExitInfo() (code int32, groupDead bool, ok bool) {
	b, ok := r.item(itemExit)
	if !ok || len(b) < 8 {
		return 0, false, false
	}
	return int32(binary.LittleEndian.Uint32(b)), binary.LittleEndian.Uint32(b[4:]) != 0, true
}

// Header field offsets, taken from the generated struct (whose layout the
// tests check against the BTF that clang emitted).
const (
	offTs     = unsafe.Offsetof(captureFalcocHdr{}.TsBootNs)
	offMask   = unsafe.Offsetof(captureFalcocHdr{}.Mask)
	offArgs   = unsafe.Offsetof(captureFalcocHdr{}.Args)
	offRet    = unsafe.Offsetof(captureFalcocHdr{}.Ret)
	offCgroup = unsafe.Offsetof(captureFalcocHdr{}.CgroupId)
	offKind   = unsafe.Offsetof(captureFalcocHdr{}.Kind)
	offSize   = unsafe.Offsetof(captureFalcocHdr{}.Size)
	offTid    = unsafe.Offsetof(captureFalcocHdr{}.Tid)
	offComm   = unsafe.Offsetof(captureFalcocHdr{}.Comm)
	offFlags  = unsafe.Offsetof(captureFalcocHdr{}.Flags)
	offNitems = unsafe.Offsetof(captureFalcocHdr{}.Nitems)
)

// decode fills the header and item index from r.raw.
func (r *Record) decode() error {
	b := r.raw.RawSample
	if len(b) < hdrSize {
		return fmt.Errorf("%w: %d bytes, header needs %d", ErrBadRecord, len(b), hdrSize)
	}
	le := binary.LittleEndian
	hd := &r.Header
	hd.BootNs = le.Uint64(b[offTs:])
	for i := range MaskHeadWords {
		hd.Mask[i] = le.Uint64(b[offMask+uintptr(8*i):])
	}
	for i := range hd.Args {
		hd.Args[i] = le.Uint64(b[offArgs+uintptr(8*i):])
	}
	hd.Ret = int64(le.Uint64(b[offRet:]))
	hd.CgroupID = le.Uint64(b[offCgroup:])
	hd.Kind = le.Uint32(b[offKind:])
	hd.Size = le.Uint32(b[offSize:])
	o := offTid
	hd.Tid, o = le.Uint32(b[o:]), o+4
	hd.Tgid, o = le.Uint32(b[o:]), o+4
	hd.Ppid, o = le.Uint32(b[o:]), o+4
	hd.Vtid, o = le.Uint32(b[o:]), o+4
	hd.Vtgid, o = le.Uint32(b[o:]), o+4
	hd.UID, o = le.Uint32(b[o:]), o+4
	hd.GID, o = le.Uint32(b[o:]), o+4
	hd.EUID, o = le.Uint32(b[o:]), o+4
	hd.EGID, o = le.Uint32(b[o:]), o+4
	hd.LoginUID, o = le.Uint32(b[o:]), o+4
	hd.CPU = le.Uint32(b[o:])
	hd.Flags = le.Uint16(b[offFlags:])
	copy(hd.Comm[:], b[offComm:offComm+16])
	nitems := int(le.Uint16(b[offNitems:]))
	if int(hd.Size) != len(b) && !(int(hd.Size) < len(b) && len(b)-int(hd.Size) < 8) {
		return fmt.Errorf("%w: size field %d, record %d bytes", ErrBadRecord, hd.Size, len(b))
	}
	r.items = [numItemTypes]struct{ off, n int32 }{}
	off := hdrSize
	end := int(hd.Size)
	for range nitems {
		if off+itemHdrSize > end {
			return fmt.Errorf("%w: item header at %d past end %d", ErrBadRecord, off, end)
		}
		typ := int(le.Uint16(b[off:]))
		n := int(le.Uint16(b[off+2:]))
		data := off + itemHdrSize
		if data+n > end {
			return fmt.Errorf("%w: item %d of %d bytes at %d past end %d", ErrBadRecord, typ, n, data, end)
		}
		if typ > 0 && typ < numItemTypes && r.items[typ].off == 0 {
			r.items[typ] = struct{ off, n int32 }{int32(data), int32(n)}
		}
		off = data + (n+7)&^7
	}
	r.maskRest()
	return nil
}

// maskRest fills the mask's words past the header's, up to the capture's
// width, from the mask item, or with ones where the record has none. The
// words past the width stay zero.
func (r *Record) maskRest() {
	if r.words <= MaskHeadWords {
		return
	}
	ext, _ := r.item(itemMask)
	i := MaskHeadWords
	for ; i < r.words && len(ext) >= 8; i++ {
		r.Mask[i] = binary.LittleEndian.Uint64(ext)
		ext = ext[8:]
	}
	for ; i < r.words; i++ {
		r.Mask[i] = ^uint64(0)
	}
}

// ReadInto blocks until a record is due, then decodes it into r, reusing
// r's buffer: it allocates nothing in steady state. Records of all CPUs
// come merged oldest first, within the reordering window (see the package
// documentation). It returns [ErrClosed] after [Capture.Close] and
// os.ErrDeadlineExceeded past the deadline set by [Capture.SetDeadline],
// once no record is due. Only one goroutine may read at a time.
func (c *Capture) ReadInto(r *Record) error {
	if err := c.reader.read(&r.raw); err != nil {
		return err
	}
	r.bootOffset = c.bootOffset
	if r.words != c.maskWords {
		r.words = c.maskWords
		clear(r.Mask[MaskHeadWords:])
	}
	return r.decode()
}

// Read returns the next record, or ctx's error once ctx is done. It
// allocates a Record per call; use [Capture.ReadInto] in loops.
func (c *Capture) Read(ctx context.Context) (*Record, error) {
	r := new(Record)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.SetDeadline(time.Now().Add(50 * time.Millisecond))
		err := c.ReadInto(r)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}
