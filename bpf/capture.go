package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Errors returned by [Load].
var (
	ErrNotRoot = errors.New("bpf capture needs root (CAP_BPF and CAP_PERFMON)")
	ErrNoBTF   = errors.New("kernel exposes no BTF at /sys/kernel/btf/vmlinux")
	ErrClosed  = errors.New("capture closed")
)

// DefaultRingBufferSize is the ring buffer size when Options leaves it 0.
const DefaultRingBufferSize = 8 << 20

// Options configure [Load]. The zero value is usable.
type Options struct {
	// RingBufferSize in bytes: a power of two, at least the page size.
	// 0 means DefaultRingBufferSize.
	RingBufferSize int
	// Mode is the initial prefilter mode.
	Mode Mode
	// NoSchedEvents leaves the fork, exec and exit tracepoints detached
	// (benchmarks and tests that want syscall records only). Exec records
	// then lack the new program's path.
	NoSchedEvents bool
}

// Capture is the loaded and attached kernel capture. Its methods are safe
// for concurrent use, except that only one goroutine may read records at a
// time ([Capture.ReadInto], [Capture.Read]).
type Capture struct {
	objs   captureObjects
	links  []link.Link
	reader *ringbuf.Reader

	mu         sync.Mutex // serialises table and mode changes
	set        uint32     // the set the programs use
	closed     bool
	bootOffset int64 // wall clock minus boot clock, ns
	rootCgroup uint64
}

// Load creates the maps, loads the programs, attaches them and opens the
// ring buffer reader. Tables start empty, so nothing but scheduler events
// is sent until [Capture.SetTables]. Verifier failures wrap
// *ebpf.VerifierError (print it with %+v for the whole log).
func Load(opts *Options) (*Capture, error) {
	if opts == nil {
		opts = &Options{}
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBTF, err)
	}
	if opts.Mode > ModeFull {
		return nil, fmt.Errorf("load capture: unknown mode %d", opts.Mode)
	}
	size := opts.RingBufferSize
	if size == 0 {
		size = DefaultRingBufferSize
	}
	if size < os.Getpagesize() || size&(size-1) != 0 {
		return nil, fmt.Errorf("load capture: ring buffer size %d is not a power of two of at least %d", size, os.Getpagesize())
	}
	// Kernels with memcg accounting need no memlock limit; older ones do,
	// and without CAP_SYS_RESOURCE removing it fails. Try, ignore.
	_ = rlimit.RemoveMemlock()

	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("load capture spec: %w", err)
	}
	spec.Maps[captureMapEvents].MaxEntries = uint32(size)

	c := &Capture{}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("load capture programs: %w", err)
	}
	progs := []*ebpf.Program{c.objs.OnSysExit}
	if !opts.NoSchedEvents {
		progs = append(progs, c.objs.OnSchedFork, c.objs.OnSchedExec, c.objs.OnSchedExit)
	}
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("attach %s: %w", p, err)
		}
		c.links = append(c.links, l)
	}
	if err := c.objs.FalcocMode.Set(uint32(opts.Mode)); err != nil {
		c.Close()
		return nil, fmt.Errorf("set mode: %w", err)
	}
	c.rootCgroup = rootCgroupID()
	if err := c.SetCgroupClass(c.rootCgroup, ContainerHost); err != nil {
		c.Close()
		return nil, err
	}
	c.reader, err = ringbuf.NewReader(c.objs.Events)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	c.bootOffset = bootOffset()
	return c, nil
}

// bootOffset returns CLOCK_REALTIME - CLOCK_BOOTTIME in nanoseconds.
func bootOffset() int64 {
	var rt, bt unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	return rt.Nano() - bt.Nano()
}

// rootCgroupID returns the id (inode) of the cgroup v2 root, 1 if none is
// mounted.
func rootCgroupID() uint64 {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return 1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent major:minor root mountpoint opts ... - fstype src opts
		line := s.Text()
		sep := strings.Index(line, " - ")
		if sep < 0 || !strings.HasPrefix(line[sep+3:], "cgroup2 ") {
			continue
		}
		fields := strings.Fields(line[:sep])
		if len(fields) < 5 || fields[3] != "/" {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(fields[4], &st) == nil {
			return st.Ino
		}
	}
	return 1
}

// RootCgroupID is the cgroup v2 root's id, registered as [ContainerHost]
// by [Load].
func (c *Capture) RootCgroupID() uint64 { return c.rootCgroup }

// SetCgroupClass records the class of a cgroup id (as returned by
// bpf_get_current_cgroup_id, the cgroup v2 inode number).
func (c *Capture) SetCgroupClass(id uint64, class ContainerClass) error {
	if err := c.objs.Cgroups.Put(id, uint32(class)); err != nil {
		return fmt.Errorf("set cgroup %d class: %w", id, err)
	}
	return nil
}

// DeleteCgroup forgets a cgroup id; its tasks become "unknown".
func (c *Capture) DeleteCgroup(id uint64) error {
	if err := c.objs.Cgroups.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete cgroup %d: %w", id, err)
	}
	return nil
}

// SetMode changes the prefilter mode; it takes effect for the next syscall.
func (c *Capture) SetMode(m Mode) error {
	if m > ModeFull {
		return fmt.Errorf("set mode: unknown mode %d", m)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if err := c.objs.FalcocMode.Set(uint32(m)); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	return nil
}

// SetTables replaces the prefilter tables atomically: the new set is
// written into the maps' inactive half, then one index flips, then the
// call waits for an RCU grace period (so no program still runs with the
// old set) and clears the old half. Every event is judged by either the
// complete old set or the complete new one. On error the old set stays in
// force.
func (c *Capture) SetTables(t *Tables) error {
	if err := t.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	next := c.set ^ 1
	if err := c.clearSet(next); err != nil {
		return fmt.Errorf("set tables: clear inactive set: %w", err)
	}
	if err := c.writeSet(next, t); err != nil {
		return fmt.Errorf("set tables: %w", err)
	}
	if err := c.objs.FalcocSet.Set(next); err != nil {
		return fmt.Errorf("set tables: flip: %w", err)
	}
	old := c.set
	c.set = next
	if err := c.barrier(); err != nil {
		return fmt.Errorf("set tables: wait for running programs: %w", err)
	}
	if err := c.clearSet(old); err != nil {
		return fmt.Errorf("set tables: clear old set: %w", err)
	}
	return nil
}

// barrier waits until every program that started before it has finished:
// updating a map-in-map element makes the kernel wait for an RCU grace
// period, and the tracing programs run under RCU.
func (c *Capture) barrier() error {
	return c.objs.Barrier.Put(uint32(0), c.objs.BarrierInner)
}

func (c *Capture) writeSet(set uint32, t *Tables) error {
	// Arrays: the whole set is overwritten.
	gateKeys := make([]uint32, NumSyscalls)
	gates := make([]captureFalcocGate, NumSyscalls)
	for id := range NumSyscalls {
		gateKeys[id] = set*NumSyscalls + uint32(id)
		g := captureFalcocGate{Mask: cmask(t.Gate[id]), Dims: uint32(t.DimsPerSyscall[id])}
		if t.Always[id] {
			g.Flags |= gateCapture
		}
		if t.Captured[id] {
			g.Flags |= gateCaptured
		}
		gates[id] = g
	}
	if _, err := c.objs.Gate.BatchUpdate(gateKeys, gates, nil); err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	slots := map[int]Mask{
		slotCommDefault:      t.CommDefault,
		slotUIDDefault:       t.UIDDefault,
		slotContainerHost:    t.ContainerHost,
		slotContainerInside:  t.ContainerInside,
		slotContainerUnknown: t.ContainerUnknown,
		slotPathDefault:      t.PathDefault,
		slotPathUnknown:      t.PathUnknown,
		slotSockDefault:      t.SockDefault,
		slotSockUnknown:      t.SockUnknown,
		slotPtraceDefault:    t.PtraceDefault,
		slotExeDefault:       t.ExeDefault,
		slotExeUnknown:       t.ExeUnknown,
	}
	slotKeys := make([]uint32, numSlots)
	slotVals := make([]captureFalcocMask, numSlots)
	for i := range numSlots {
		slotKeys[i] = set*numSlots + uint32(i)
		slotVals[i] = cmask(slots[i])
	}
	if _, err := c.objs.Dflt.BatchUpdate(slotKeys, slotVals, nil); err != nil {
		return fmt.Errorf("defaults: %w", err)
	}
	ofKeys := make([]uint32, numOpenClasses)
	ofVals := make([]captureFalcocMask, numOpenClasses)
	for i := range numOpenClasses {
		ofKeys[i] = set*numOpenClasses + uint32(i)
		ofVals[i] = cmask(t.OpenFlags[i])
	}
	if _, err := c.objs.Openflags.BatchUpdate(ofKeys, ofVals, nil); err != nil {
		return fmt.Errorf("open flags: %w", err)
	}

	// Hashes: the inactive set was cleared, so only the entries go in.
	for _, k := range sortedKeys(t.Comm) {
		if err := c.objs.CommTbl.Put(commKey(set, k), cmask(t.Comm[k])); err != nil {
			return fmt.Errorf("comm %q: %w", k, err)
		}
	}
	for _, k := range sortedKeys(t.UID) {
		if err := c.objs.UidTbl.Put(captureFalcocUidKey{Set: set, Uid: k}, cmask(t.UID[k])); err != nil {
			return fmt.Errorf("uid %d: %w", k, err)
		}
	}
	for k, m := range t.Sock {
		if err := c.objs.SockTbl.Put(captureFalcocSockKey{Set: set, Family: k.Family, Port: k.Port}, cmask(m)); err != nil {
			return fmt.Errorf("sock %d/%d: %w", k.Family, k.Port, err)
		}
	}
	for fam, m := range t.SockFamily {
		if err := c.objs.SockTbl.Put(captureFalcocSockKey{Set: set, Family: fam, Any: 1}, cmask(m)); err != nil {
			return fmt.Errorf("sock family %d: %w", fam, err)
		}
	}
	for k, m := range t.Ptrace {
		if err := c.objs.PtraceTbl.Put(captureFalcocPtraceKey{Set: set, Request: k}, cmask(m)); err != nil {
			return fmt.Errorf("ptrace %d: %w", k, err)
		}
	}
	for _, tbl := range []struct {
		m             *ebpf.Map
		exact, prefix map[string]Mask
	}{{c.objs.PathTbl, t.PathExact, t.PathPrefix}, {c.objs.ExeTbl, t.ExeExact, t.ExePrefix}} {
		for p, m := range tbl.prefix {
			if err := tbl.m.Put(pathKey(uint8(set), p, false), cmask(m)); err != nil {
				return fmt.Errorf("path prefix %q: %w", p, err)
			}
		}
		for p, m := range tbl.exact {
			if err := tbl.m.Put(pathKey(uint8(set), p, true), cmask(m)); err != nil {
				return fmt.Errorf("path %q: %w", p, err)
			}
		}
	}
	return nil
}

// clearSet removes every hash and trie entry of a set. Array entries are
// left: writeSet overwrites all of them.
func (c *Capture) clearSet(set uint32) error {
	if err := clearWhere(c.objs.CommTbl, func(k *captureFalcocCommKey) bool { return k.Set == set }); err != nil {
		return fmt.Errorf("comm: %w", err)
	}
	if err := clearWhere(c.objs.UidTbl, func(k *captureFalcocUidKey) bool { return k.Set == set }); err != nil {
		return fmt.Errorf("uid: %w", err)
	}
	if err := clearWhere(c.objs.SockTbl, func(k *captureFalcocSockKey) bool { return k.Set == set }); err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	if err := clearWhere(c.objs.PtraceTbl, func(k *captureFalcocPtraceKey) bool { return k.Set == set }); err != nil {
		return fmt.Errorf("ptrace: %w", err)
	}
	for _, m := range []*ebpf.Map{c.objs.PathTbl, c.objs.ExeTbl} {
		if err := clearWhere(m, func(k *captureFalcocPathKey) bool { return uint32(k.Set) == set }); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	return nil
}

func clearWhere[K any](m *ebpf.Map, match func(*K) bool) error {
	var (
		key    K
		val    captureFalcocMask
		doomed []K
	)
	it := m.Iterate()
	for it.Next(&key, &val) {
		if match(&key) {
			doomed = append(doomed, key)
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	for i := range doomed {
		if err := m.Delete(&doomed[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return nil
}

// StageCounts are the kernel counters of one syscall or record kind.
type StageCounts struct {
	Calls         uint64 // hook invocations
	GatePass      uint64 // passed the gate
	PrefilterDrop uint64 // dropped by a dimension
	Sent          uint64 // written to the ring buffer
	Lost          uint64 // ring buffer full
}

func (s *StageCounts) add(o StageCounts) {
	s.Calls += o.Calls
	s.GatePass += o.GatePass
	s.PrefilterDrop += o.PrefilterDrop
	s.Sent += o.Sent
	s.Lost += o.Lost
}

// Counters are the kernel counters summed over CPUs. ByKind is indexed by
// syscall id, or KindFork, KindExec, KindExit.
type Counters struct {
	ByKind [NumKinds]StageCounts
}

// Total sums all kinds.
func (c *Counters) Total() StageCounts {
	var t StageCounts
	for i := range c.ByKind {
		t.add(c.ByKind[i])
	}
	return t
}

// Counters reads the kernel counters.
func (c *Capture) Counters() (Counters, error) {
	var out Counters
	var per []captureFalcocCounters
	for k := range uint32(NumKinds) {
		if err := c.objs.Counters.Lookup(k, &per); err != nil {
			return out, fmt.Errorf("read counters: %w", err)
		}
		for _, p := range per {
			out.ByKind[k].add(StageCounts{p.Calls, p.GatePass, p.PrefilterDrop, p.Sent, p.Lost})
		}
	}
	return out, nil
}

// SetDeadline makes a blocked or later read return os.ErrDeadlineExceeded
// once t has passed. The zero time means no deadline.
func (c *Capture) SetDeadline(t time.Time) { c.reader.SetDeadline(t) }

// Close detaches the programs and frees every kernel object. A blocked read
// returns [ErrClosed].
func (c *Capture) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	var errs []error
	if c.reader != nil {
		errs = append(errs, c.reader.Close())
	}
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	errs = append(errs, c.objs.Close())
	return errors.Join(errs...)
}
