package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// DefaultReorderWindow is the reordering window when Options leaves it 0.
const DefaultReorderWindow = 2 * time.Millisecond

// inflightWait is how long one wait for a CPU that is writing a record
// lasts before the merge looks again (the commit usually wakes it first).
const inflightWait = 20 * time.Microsecond

// inflightSlot is the size of one CPU's in-flight counter (a cache line).
const inflightSlot = 64

// Kernel ring buffer record header (struct bpf_ringbuf_hdr): a length
// word with two flag bits, then the page offset.
const (
	ringHdrSize    = 8
	ringBusyBit    = 1 << 31
	ringDiscardBit = 1 << 30
)

// ring is one kernel ring buffer map, mapped for reading. Its head is the
// oldest committed record, looked at in place: it is copied out only when
// the merge picks it, and its space goes back to the kernel then.
type ring struct {
	fd   int    // the map's fd, for epoll; -1 for none
	cons []byte // consumer page, read-write
	prod []byte // producer page, then the data pages mapped twice
	data []byte // the data pages, twice: a record never wraps in it

	consPos, prodPos *uintptr
	inflight         *uint64 // records this CPU is writing
	mask             uintptr
	pos              uintptr // consumer position (this reader is the only consumer)

	hasHead bool
	headTs  uint64  // the head's BootNs (0 when the record is too short)
	headOff uintptr // the head's data offset in data
	headLen int
	next    uintptr // the consumer position after the head
}

func mapRing(m *ebpf.Map) (ring, error) {
	fd := m.FD()
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	cons, err := unix.Mmap(fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return ring{}, fmt.Errorf("map consumer page: %w", err)
	}
	prod, err := unix.Mmap(fd, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		_ = unix.Munmap(cons)
		return ring{}, fmt.Errorf("map data pages: %w", err)
	}
	r := ring{
		fd:      fd,
		cons:    cons,
		prod:    prod,
		data:    prod[page:],
		consPos: (*uintptr)(unsafe.Pointer(&cons[0])),
		prodPos: (*uintptr)(unsafe.Pointer(&prod[0])),
		mask:    uintptr(size - 1),
	}
	r.pos = atomic.LoadUintptr(r.consPos)
	return r, nil
}

func (r *ring) unmap() error {
	var err error
	if r.fd >= 0 {
		err = errors.Join(unix.Munmap(r.prod), unix.Munmap(r.cons))
	}
	*r = ring{}
	return err
}

// peek finds the head: it reports false when the ring is empty or its
// oldest record is still being written. Discarded records are skipped.
func (r *ring) peek() bool {
	for {
		prod := atomic.LoadUintptr(r.prodPos)
		if prod-r.pos < ringHdrSize {
			return false
		}
		off := r.pos & r.mask
		word := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if word&ringBusyBit != 0 {
			return false
		}
		n := int(word &^ (ringBusyBit | ringDiscardBit))
		next := r.pos + uintptr(ringHdrSize+(n+7)&^7)
		if next-r.pos > uintptr(len(r.data)/2) || next > prod {
			// Cannot happen with a sane kernel; take what is left so
			// that the reader does not stall on it.
			n = 0
			next = prod
		}
		if word&ringDiscardBit != 0 {
			r.pos = next
			atomic.StoreUintptr(r.consPos, next)
			continue
		}
		r.headOff = off + ringHdrSize
		r.headLen = n
		r.next = next
		r.headTs = 0
		if n >= hdrSize {
			r.headTs = *(*uint64)(unsafe.Pointer(&r.data[r.headOff+offTs]))
		}
		r.hasHead = true
		return true
	}
}

// take copies the head into dst and gives its space back to the kernel.
func (r *ring) take(dst *ringbuf.Record) {
	n := r.headLen
	if cap(dst.RawSample) < n {
		dst.RawSample = make([]byte, n, max(n, 512))
	}
	dst.RawSample = dst.RawSample[:n]
	copy(dst.RawSample, r.data[r.headOff:r.headOff+uintptr(n)])
	r.pos = r.next
	atomic.StoreUintptr(r.consPos, r.pos)
	dst.Remaining = int(atomic.LoadUintptr(r.prodPos) - r.pos)
	r.hasHead = false
}

// merger reads the per-CPU rings and returns their records oldest first.
//
// Each ring holds one CPU's records in the order they were committed, and
// the merge only ever takes a ring's head, so records of one CPU are never
// reordered. Across CPUs it takes the head with the smallest timestamp.
// While some ring is empty, that CPU may be writing a record stamped
// before the oldest head: the programs count the records each CPU is
// writing (incremented before the stamp, decremented after the commit),
// and after reading the heads the merge looks, for each empty ring, at its
// count and then at the ring again. A count of 0 followed by an empty ring
// means any record still to come from that CPU is stamped later than the
// head; otherwise the merge waits for the record, at most the window (a
// program preempted mid-record). Records that
// cause others (a fork before the child's exec, a thread's syscall before
// its next one on another CPU) are committed before their effects are
// stamped, so they are always in order.
type merger struct {
	mu       sync.Mutex // held by the reader; Close waits for it
	rings    []ring
	inflight []byte // the mapped in-flight counters, nil in tests
	epfd     int
	evfd     int          // wakes a blocked read on Close and SetDeadline
	fdmu     sync.RWMutex // keeps evfd open while a wake writes to it
	events   []unix.EpollEvent
	window   time.Duration
	blocked  time.Time // when the merge began to wait for a writing CPU
	batch    time.Duration
	idle     bool // every ring was read to its end since the last batch delay

	deadline atomic.Int64 // unix ns, 0 for none
	closed   atomic.Bool
}

// mapRings maps the rings and the in-flight counters (one slot per ring).
func mapRings(maps []*ebpf.Map, inflight *ebpf.Map, window time.Duration) (*merger, error) {
	n := len(maps) * inflightSlot
	page := os.Getpagesize()
	mem, err := unix.Mmap(inflight.FD(), 0, (n+page-1)/page*page, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map in-flight counters: %w", err)
	}
	rings := make([]ring, 0, len(maps))
	for i, mp := range maps {
		r, err := mapRing(mp)
		if err != nil {
			for i := range rings {
				_ = rings[i].unmap()
			}
			_ = unix.Munmap(mem)
			return nil, fmt.Errorf("ring %d: %w", i, err)
		}
		r.inflight = (*uint64)(unsafe.Pointer(&mem[i*inflightSlot]))
		rings = append(rings, r)
	}
	m, err := newMerger(rings, window)
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, err
	}
	m.inflight = mem
	return m, nil
}

// newMerger takes ownership of rings: on error, and on close, it unmaps
// them. Every ring needs its in-flight counter.
func newMerger(rings []ring, window time.Duration) (*merger, error) {
	m := &merger{epfd: -1, evfd: -1, window: window, rings: rings}
	fail := func(err error) (*merger, error) {
		m.close()
		return nil, err
	}
	var err error
	m.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fail(fmt.Errorf("epoll_create1: %w", err))
	}
	m.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail(fmt.Errorf("eventfd: %w", err))
	}
	if err := unix.EpollCtl(m.epfd, unix.EPOLL_CTL_ADD, m.evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return fail(fmt.Errorf("epoll_ctl eventfd: %w", err))
	}
	for i, r := range m.rings {
		if r.inflight == nil {
			return fail(fmt.Errorf("ring %d has no in-flight counter", i))
		}
		if r.fd < 0 {
			continue
		}
		// Edge-triggered: a ring whose head waits must not keep waking
		// the wait for another ring. The kernel wakes when a record is
		// committed into a ring read to its end, which is the only state
		// in which the merge waits for a ring.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(i)}
		if err := unix.EpollCtl(m.epfd, unix.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
			return fail(fmt.Errorf("epoll_ctl ring %d: %w", i, err))
		}
	}
	m.events = make([]unix.EpollEvent, len(m.rings)+1)
	return m, nil
}

// setDeadline sets the deadline and wakes a blocked read to look at it.
func (m *merger) setDeadline(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
		if ns == 0 {
			ns = 1
		}
	}
	m.deadline.Store(ns)
	m.wake()
}

func (m *merger) wake() {
	m.fdmu.RLock()
	defer m.fdmu.RUnlock()
	if m.evfd >= 0 {
		one := [8]byte{1}
		_, _ = unix.Write(m.evfd, one[:])
	}
}

// read returns the next record in merge order.
func (m *merger) read(dst *ringbuf.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if m.closed.Load() {
			return ErrClosed
		}
		best, empty := -1, false
		for i := range m.rings {
			r := &m.rings[i]
			if !r.hasHead && !r.peek() {
				empty = true
				continue
			}
			if best < 0 || r.headTs < m.rings[best].headTs {
				best = i
			}
		}
		var wait time.Duration = -1 // until a ring gets a record
		if best >= 0 && m.idle {
			// The first record after the rings ran dry: let more
			// come before reading, so that they wake no one.
			m.idle = false
			d := m.batch
			if dl := m.deadline.Load(); dl != 0 {
				d = min(d, time.Until(time.Unix(0, dl)))
			}
			time.Sleep(d)
			continue
		}
		if best >= 0 {
			due, fresh := m.due(empty)
			if fresh {
				continue
			}
			if !due {
				now := time.Now()
				if m.blocked.IsZero() {
					m.blocked = now
				}
				left := m.window - now.Sub(m.blocked)
				due = left <= 0
				wait = min(left, inflightWait)
			}
			if due {
				m.blocked = time.Time{}
				m.rings[best].take(dst)
				return nil
			}
		}
		if dl := m.deadline.Load(); dl != 0 {
			left := time.Until(time.Unix(0, dl))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			if wait < 0 || left < wait {
				wait = left
			}
		}
		if best < 0 && m.batch > 0 {
			m.idle = true
		}
		if err := m.wait(wait); err != nil {
			return err
		}
	}
}

// due reports whether the heads just read may be taken: no empty ring's
// CPU is writing a record. It looks at each empty ring's count and then at
// the ring again; fresh reports that a ring got a record meanwhile.
func (m *merger) due(empty bool) (due, fresh bool) {
	if !empty {
		return true, false
	}
	due = true
	for i := range m.rings {
		r := &m.rings[i]
		if r.hasHead {
			continue
		}
		n := atomic.LoadUint64(r.inflight)
		if r.peek() {
			return false, true
		}
		if n != 0 {
			due = false
		}
	}
	return due, false
}

// wait blocks until a ring that was read to its end gets a record, the
// eventfd is written, or d has passed (d < 0: no limit).
func (m *merger) wait(d time.Duration) error {
	var tsp *unix.Timespec
	if d >= 0 {
		ts := unix.NsecToTimespec(int64(d))
		tsp = &ts
	}
	n, err := epollPwait2(m.epfd, m.events, tsp)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return nil
		}
		return fmt.Errorf("epoll wait: %w", err)
	}
	for _, ev := range m.events[:n] {
		if ev.Fd == -1 {
			var b [8]byte
			_, _ = unix.Read(m.evfd, b[:])
		}
	}
	return nil
}

var noPwait2 atomic.Bool

// epollPwait2 is epoll_pwait2 (timeouts in ns), or epoll_wait with the
// timeout rounded up to ms on kernels before 5.11.
func epollPwait2(epfd int, events []unix.EpollEvent, ts *unix.Timespec) (int, error) {
	if !noPwait2.Load() {
		n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(unsafe.Pointer(ts)), 0, 0)
		if errno == 0 {
			return int(n), nil
		}
		if errno != unix.ENOSYS {
			return 0, errno
		}
		noPwait2.Store(true)
	}
	ms := -1
	if ts != nil {
		ms = int((ts.Nano() + int64(time.Millisecond) - 1) / int64(time.Millisecond))
	}
	return unix.EpollWait(epfd, events, ms)
}

// close wakes a blocked read, waits for it to return and frees the rings.
func (m *merger) close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.wake()
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for i := range m.rings {
		errs = append(errs, m.rings[i].unmap())
	}
	m.rings = nil
	if m.inflight != nil {
		errs = append(errs, unix.Munmap(m.inflight))
		m.inflight = nil
	}
	if m.epfd >= 0 {
		errs = append(errs, unix.Close(m.epfd))
	}
	m.fdmu.Lock()
	if m.evfd >= 0 {
		errs = append(errs, unix.Close(m.evfd))
		m.evfd = -1
	}
	m.fdmu.Unlock()
	return errors.Join(errs...)
}
