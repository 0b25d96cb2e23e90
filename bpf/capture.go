package bpf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/falcoc/falcoc/compiler/plan"
)

// Errors returned by [Load].
var (
	ErrNotRoot = errors.New("bpf capture needs root (CAP_BPF and CAP_PERFMON)")
	ErrNoBTF   = errors.New("kernel exposes no BTF at /sys/kernel/btf/vmlinux")
	ErrClosed  = errors.New("capture closed")
)

// DefaultRingBufferSize is the size of each CPU's ring buffer when Options
// leaves it 0.
const DefaultRingBufferSize = 8 << 20

// Options configure [Load]. The zero value is usable.
type Options struct {
	// RingBufferSize is the size in bytes of each CPU's ring buffer: a
	// power of two, at least the page size. 0 means
	// DefaultRingBufferSize. The capture holds one buffer per possible
	// CPU, so it pins RingBufferSize times that many CPUs of memory.
	RingBufferSize int
	// ReorderWindow bounds how long the merge waits for a CPU whose ring
	// is empty but which is writing a record that may be older than the
	// records at hand (see the package documentation). 0 means
	// DefaultReorderWindow; negative means no wait (records of different
	// CPUs are then merged only by what is in the buffers).
	ReorderWindow time.Duration
	// BatchDelay trades latency for cost: when the reader has read every
	// ring to its end and a record arrives, it waits BatchDelay before it
	// reads, and the records committed meanwhile do not wake it (a wakeup
	// is most of a sent record's kernel cost). 0 reads at once.
	BatchDelay time.Duration
	// Mode is the initial prefilter mode.
	Mode Mode
	// NoSchedEvents leaves the fork, exec and exit tracepoints detached
	// (benchmarks and tests that want syscall records only). Exec records
	// then lack the new program's path.
	NoSchedEvents bool
	// Fallback forces the fallback of these kernel features even where
	// the kernel has them, to test what an older kernel gets. The
	// environment variable FALCOC_BPF_FALLBACK (a comma-separated list of
	// feature names, or "all") adds to it.
	Fallback []Feature
	// Capacity sizes the prefilter's lookup maps (entries per table set;
	// the maps hold two sets): typically plan.ForLoad of the tables to be
	// loaded. A zero field means the default ([plan.DefaultCapacity]);
	// values are raised to the default and capped at
	// [plan.TableCeiling]. [Capture.SetTables] refuses tables that need
	// more; [Capture.FitTables] makes them fit.
	Capacity Capacity
	// MaskWords is the clause mask's width in 64-bit words: every
	// mask-valued map's value gets this size and the programs this
	// constant (falcoc_mask_words). 0 means [MaskHeadWords] (256 bits);
	// at most [MaskWordsMax].
	MaskWords int
	// Tables, when not nil, are written into the maps while the kernel
	// verifies the programs (see [Capture.SetTables]); Load fails if they
	// do not fit Capacity or MaskWords.
	Tables *Tables
}

// Clause mask widths the kernel program takes (FALCOC_MASK_HEAD_WORDS,
// FALCOC_MASK_WORDS_MAX): a record's header carries the first
// MaskHeadWords words of its mask, a FALCOC_ITEM_MASK item the others.
const (
	MaskHeadWords = plan.MaskHeadWords
	MaskWordsMax  = plan.MaskWordsMax
)

// Capacity is the number of entries of each prefilter table, per set.
type Capacity = plan.Capacity

// Capture is the loaded and attached kernel capture. Its methods are safe
// for concurrent use, except that only one goroutine may read records at a
// time ([Capture.ReadInto], [Capture.Read]).
type Capture struct {
	objs   captureLoaded
	links  []link.Link
	rings  []*ebpf.Map // one ring buffer per possible CPU, indexed by CPU
	reader *merger

	mu         sync.Mutex // serialises table and mode changes
	set        uint32     // the set the programs use
	keys       [2]setKeys // hash and trie keys written into each set
	closed     bool
	bootOffset int64 // wall clock minus boot clock, ns
	rootCgroup uint64
	kernel     KernelInfo
	fallbacks  []Feature
	capacity   Capacity // of the prefilter maps, per set
	maskWords  int      // the clause mask's width in words
}

// CapacityFor is the capacity to load the capture with for tables t:
// the default, or twice what t needs (room for reloads that add rules).
func CapacityFor(t *Tables) Capacity {
	if t == nil {
		return plan.DefaultCapacity
	}
	return plan.ForLoad(t.Needs())
}

// Capacity returns the prefilter maps' capacity, per table set.
func (c *Capture) Capacity() Capacity { return c.capacity }

// FitTables returns t, or when some of its tables need more entries than
// the maps hold, a copy without those dimensions (plan.Tables.WithoutDims:
// sound, the kernel then narrows less) and the dimensions dropped. The
// caller reports them.
//
// Tables with a wider clause mask than the capture's ([Capture.MaskWords])
// are folded onto it (plan.Tables.FoldWords: sound, clauses then share
// bits); folded reports it.
func (c *Capture) FitTables(t *Tables) (fit *Tables, dropped Dim, folded bool) {
	if t == nil {
		return t, 0, false
	}
	if t.MaskWords() > c.maskWords {
		if f, err := t.FoldWords(c.maskWords); err == nil {
			t, folded = f, true
		}
	}
	if d := c.capacity.Over(t.Needs()); d != 0 {
		return t.WithoutDims(d), d, folded
	}
	return t, 0, folded
}

// sizeMaps sets the prefilter maps' entries from capacity (per set; the
// maps hold two sets) and returns the capacity in force.
func sizeMaps(spec *ebpf.CollectionSpec, want Capacity) Capacity {
	f := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return min(plan.TableCeiling, max(v, def))
	}
	d := plan.DefaultCapacity
	c := Capacity{
		Comm: f(want.Comm, d.Comm), UID: f(want.UID, d.UID), Arg0: f(want.Arg0, d.Arg0), Path: f(want.Path, d.Path),
		Sock: f(want.Sock, d.Sock), Exe: f(want.Exe, d.Exe), Suffix: f(want.Suffix, d.Suffix),
	}
	for name, n := range map[string]int{
		captureMapCommTbl: c.Comm, captureMapUidTbl: c.UID, captureMapPtraceTbl: c.Arg0, captureMapPathTbl: c.Path,
		captureMapSockTbl: c.Sock, captureMapExeTbl: c.Exe, captureMapSuffixTbl: c.Suffix,
	} {
		if m := spec.Maps[name]; m != nil {
			m.MaxEntries = uint32(2 * n)
		}
	}
	return c
}

// sizeMasks sets the clause mask's width: the value size of every map
// that holds masks and the programs' falcoc_mask_words. The maps' BTF
// value types become arrays of that many words (the kernel checks that
// the BTF type has the value's size).
func sizeMasks(spec *ebpf.CollectionSpec, words int) error {
	if words < MaskHeadWords || words > MaskWordsMax {
		return fmt.Errorf("clause mask of %d words: want %d to %d", words, MaskHeadWords, MaskWordsMax)
	}
	u64 := &btf.Int{Name: "__u64", Size: 8}
	u32 := &btf.Int{Name: "__u32", Size: 4}
	arr := &btf.Array{Index: u32, Type: u64, Nelems: uint32(words)}
	for _, name := range maskMaps {
		m := spec.Maps[name]
		if m == nil {
			return fmt.Errorf("map %s missing from the object", name)
		}
		m.ValueSize = uint32(8 * words)
		m.Value = arr
	}
	g := spec.Maps[captureMapGate]
	g.ValueSize = uint32(8 + 8*words)
	g.Value = &btf.Struct{Name: "falcoc_gate", Size: g.ValueSize, Members: []btf.Member{
		{Name: "dims", Type: u32, Offset: 0},
		{Name: "flags", Type: u32, Offset: 32},
		{Name: "mask", Type: arr, Offset: 64},
	}}
	return spec.Variables[captureVarFalcocMaskWords].Set(uint32(words))
}

// maskMaps are the maps whose value is a clause mask (the gate's value
// holds one after its dims and flags).
var maskMaps = []string{
	captureMapDflt, captureMapLpmUsed, captureMapCommTbl, captureMapUidTbl, captureMapOpenflags, captureMapPathTbl,
	captureMapExeTbl, captureMapSuffixTbl, captureMapSockTbl, captureMapPtraceTbl,
}

// MaskWords returns the clause mask's width in 64-bit words.
func (c *Capture) MaskWords() int { return c.maskWords }

// Fallbacks lists the features whose fallback is in use: those the kernel
// lacks and those forced by [Options.Fallback] or FALCOC_BPF_FALLBACK.
func (c *Capture) Fallbacks() []Feature { return slices.Clone(c.fallbacks) }

// Uses reports whether the fallback of f is in use.
func (c *Capture) Uses(f Feature) bool { return slices.Contains(c.fallbacks, f) }

// Kernel returns what Load found about the kernel.
func (c *Capture) Kernel() KernelInfo { return c.kernel }

// Load creates the maps and one ring buffer per possible CPU, loads the
// programs, attaches them and maps the ring buffers for reading. The
// tables are opts.Tables, written while the kernel verifies the programs;
// without them nothing but scheduler events is sent until
// [Capture.SetTables]. Verifier failures wrap
// *ebpf.VerifierError (print it with %+v for the whole log).
func Load(opts *Options) (*Capture, error) {
	if opts == nil {
		opts = &Options{}
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	// The ELF is parsed while the kernel's features are read.
	type parsed struct {
		spec *ebpf.CollectionSpec
		err  error
	}
	specc := make(chan parsed, 1)
	go func() {
		spec, err := loadCapture()
		specc <- parsed{spec, err}
	}()
	kernel, err := ProbeFeatures()
	if err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	if !kernel.BTF {
		return nil, fmt.Errorf("%w (kernel %s): falco-run needs a kernel built with CONFIG_DEBUG_INFO_BTF", ErrNoBTF, kernel.Release)
	}
	fallback, size, err := loadSettings(opts)
	if err != nil {
		return nil, err
	}
	// Kernels with memcg accounting need no memlock limit; older ones do,
	// and without CAP_SYS_RESOURCE removing it fails. Try, ignore.
	_ = rlimit.RemoveMemlock()

	ps := <-specc
	spec := ps.spec
	if ps.err != nil {
		return nil, fmt.Errorf("load capture spec: %w", ps.err)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	events := spec.Maps[captureMapEvents]
	events.MaxEntries = uint32(ncpu)
	events.InnerMap.MaxEntries = uint32(size)
	ringSpec := events.InnerMap.Copy()
	spec.Maps[captureMapInflight].MaxEntries = uint32(ncpu)
	capacity := sizeMaps(spec, opts.Capacity)
	words := opts.MaskWords
	if words == 0 {
		words = MaskHeadWords
	}
	if err := sizeMasks(spec, words); err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	// Tables that cannot fit fail before the verifier's work.
	if t := opts.Tables; t != nil {
		if err := t.ValidateCapacity(capacity); err != nil {
			return nil, fmt.Errorf("load prefilter tables: %w", err)
		}
		if w := t.MaskWords(); w > words {
			return nil, fmt.Errorf("load prefilter tables: %w: a mask of %d bits, the capture is loaded for %d (FitTables folds it)", ErrInvalidTables, 64*w, 64*words)
		}
	}
	ia32 := spec.Maps[captureMapIa32Ids]
	for nr, id := range ia32Table() {
		ia32.Contents = append(ia32.Contents, ebpf.MapKV{Key: uint32(nr), Value: id})
	}
	fresh := spec.Maps[captureMapFdmarkFresh]
	for i := range uint32(2) {
		fresh.Contents = append(fresh.Contents, ebpf.MapKV{Key: i, Value: freshFDMark(i == 1)})
	}

	// A wide mask: try the preempt flavour that calls global functions
	// (see FeaturePreemptGlobal), and keep a copy for the static one.
	global := words > MaskHeadWords && kernel.Has[FeaturePreempt] && kernel.Has[FeatureLoop] &&
		!slices.Contains(fallback, FeaturePreempt) && !slices.Contains(fallback, FeatureLoop) &&
		!slices.Contains(fallback, FeaturePreemptGlobal)
	var static *ebpf.CollectionSpec
	if global {
		static = spec.Copy()
	}
	active, err := specialize(spec, kernel, fallback, global)
	if err != nil {
		return nil, fmt.Errorf("load capture: %w", err)
	}
	c, err := loadCaptureWith(spec, opts, &Capture{kernel: kernel, fallbacks: active, capacity: capacity, maskWords: words}, ncpu, ringSpec)
	if err != nil && global {
		if active, err = specialize(static, kernel, fallback, false); err != nil {
			return nil, fmt.Errorf("load capture: %w", err)
		}
		active = append(active, FeaturePreemptGlobal)
		c, err = loadCaptureWith(static, opts, &Capture{kernel: kernel, fallbacks: active, capacity: capacity, maskWords: words}, ncpu, ringSpec)
	}
	return c, err
}

// loadCaptureWith loads spec's maps and programs into c, attaches them,
// and returns c ready; on error nothing stays open.
func loadCaptureWith(spec *ebpf.CollectionSpec, opts *Options, c *Capture, ncpu int, ringSpec *ebpf.MapSpec) (*Capture, error) {
	// While the programs load: the ring buffers, then the tables.
	var mapsErr error
	err := loadObjects(spec, &c.objs, func() {
		mapsErr = c.openRings(ncpu, ringSpec, opts.ReorderWindow)
		if mapsErr == nil && opts.Tables != nil {
			if err := c.SetTables(opts.Tables); err != nil {
				mapsErr = fmt.Errorf("load prefilter tables: %w", err)
			}
		}
	})
	if err != nil {
		c.Close()
		return nil, loadError(err, c.kernel.Release)
	}
	if mapsErr != nil {
		c.Close()
		return nil, mapsErr
	}
	c.reader.batch = max(opts.BatchDelay, 0)
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
	c.bootOffset = bootOffset()
	return c, nil
}

// loadSettings checks opts and returns the features to fall back from
// (opts.Fallback and FALCOC_BPF_FALLBACK) and the ring buffer size.
func loadSettings(opts *Options) (fallback []Feature, size int, err error) {
	fallback = opts.Fallback
	if env := os.Getenv("FALCOC_BPF_FALLBACK"); env == "all" {
		fallback = AllFeatures
	} else if env != "" {
		fs, err := ParseFeatures(env)
		if err != nil {
			return nil, 0, fmt.Errorf("FALCOC_BPF_FALLBACK: %w", err)
		}
		fallback = append(fallback, fs...)
	}
	if opts.Mode > ModeFull {
		return nil, 0, fmt.Errorf("load capture: unknown mode %d", opts.Mode)
	}
	size = opts.RingBufferSize
	if size == 0 {
		size = DefaultRingBufferSize
	}
	if size < os.Getpagesize() || size&(size-1) != 0 {
		return nil, 0, fmt.Errorf("load capture: ring buffer size %d is not a power of two of at least %d", size, os.Getpagesize())
	}
	return fallback, size, nil
}

// specialize fits spec to the kernel: it sets the feature constants and
// makes on_sys_exit the flavour the kernel can load (see capture.c):
// on_sys_exit_preempt where the kernel has the preemption kfuncs
// (on_sys_exit_pglobal instead with global), the plain one where it has
// bpf_loop, else on_sys_exit_noloop. It returns the features whose
// fallback is in use: those the kernel lacks and those in fallback.
func specialize(spec *ebpf.CollectionSpec, kernel KernelInfo, fallback []Feature, global bool) ([]Feature, error) {
	if err := applyFeatures(spec, kernel.Has, fallback); err != nil {
		return nil, err
	}
	var active []Feature
	for _, f := range AllFeatures {
		if !kernel.Has[f] || slices.Contains(fallback, f) {
			active = append(active, f)
		}
	}
	switch {
	case slices.Contains(active, FeatureLoop):
		spec.Programs[captureProgOnSysExit] = spec.Programs[captureProgOnSysExitNoloop]
	case slices.Contains(active, FeaturePreempt):
		// on_sys_exit as it is
	case global:
		spec.Programs[captureProgOnSysExit] = spec.Programs[captureProgOnSysExitPglobal]
	default:
		spec.Programs[captureProgOnSysExit] = spec.Programs[captureProgOnSysExitPreempt]
	}
	if slices.Contains(fallback, FeaturePreemptGlobal) {
		active = append(active, FeaturePreemptGlobal)
	}
	delete(spec.Programs, captureProgOnSysExitNoloop)
	delete(spec.Programs, captureProgOnSysExitPreempt)
	delete(spec.Programs, captureProgOnSysExitPglobal)
	return active, nil
}

// openRings creates one ring buffer per possible CPU and maps them for
// reading.
func (c *Capture) openRings(ncpu int, ringSpec *ebpf.MapSpec, window time.Duration) error {
	for cpu := range ncpu {
		m, err := ebpf.NewMap(ringSpec)
		if err == nil {
			c.rings = append(c.rings, m)
			err = c.objs.Events.Put(uint32(cpu), m)
		}
		if err != nil {
			return fmt.Errorf("ring buffer for cpu %d: %w", cpu, err)
		}
	}
	if window == 0 {
		window = DefaultReorderWindow
	}
	var err error
	if c.reader, err = mapRings(c.rings, c.objs.Inflight, max(window, 0)); err != nil {
		return fmt.Errorf("open ring buffers: %w", err)
	}
	return nil
}

// loadObjects creates spec's maps into objs, then loads its programs
// while during runs (the prefilter tables are written then): the
// verifier's work is most of a load, and it overlaps with filling the
// maps. on_sys_exit, by far the largest program, is verified beside the
// three scheduler programs (the kernel runs each load in its own
// syscall). On error nothing stays open.
func loadObjects(spec *ebpf.CollectionSpec, objs *captureLoaded, during func()) (err error) {
	cache := btf.NewCache()
	mapSpec := spec.Copy()
	mapSpec.Programs = nil
	maps, err := ebpf.NewCollectionWithOptions(mapSpec, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return err
	}
	// The programs take every map, the internal ones (.rodata, .bss,
	// ...) included, from this collection.
	repl := make(map[string]*ebpf.Map, len(maps.Maps))
	for name, m := range maps.Maps {
		repl[name] = m
	}
	groups := [][]string{{captureProgOnSysExit}, {captureProgOnSchedFork, captureProgOnSchedExec, captureProgOnSchedExit}}
	progs := make([]map[string]*ebpf.Program, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, names := range groups {
		ps := spec.Copy()
		ps.Programs = make(map[string]*ebpf.ProgramSpec, len(names))
		for _, n := range names {
			ps.Programs[n] = spec.Programs[n]
		}
		wg.Go(func() {
			coll, err := ebpf.NewCollectionWithOptions(ps, ebpf.CollectionOptions{MapReplacements: repl, Cache: cache})
			if err != nil {
				errs[i] = err
				return
			}
			progs[i] = coll.Programs
			coll.Programs = nil
			coll.Close() // the replacements' clones
		})
	}
	// The maps and variables are objs' from here: SetTables may run.
	err = maps.Assign(&struct {
		*captureMaps
		*captureVariables
	}{&objs.captureMaps, &objs.captureVariables})
	if err == nil {
		objs.internal = maps
		during()
	}
	wg.Wait()
	for _, ps := range progs {
		for name, p := range ps {
			if err == nil {
				err = objs.setProgram(name, p)
			} else {
				p.Close()
			}
		}
	}
	err = errors.Join(append([]error{err}, errs...)...)
	if err != nil {
		if objs.internal == nil { // else objs.Close closes maps
			maps.Close()
		}
		objs.Close()
	}
	return err
}

// setProgram stores p as objs' program called name.
func (o *captureLoaded) setProgram(name string, p *ebpf.Program) error {
	switch name {
	case captureProgOnSysExit:
		o.OnSysExit = p
	case captureProgOnSchedFork:
		o.OnSchedFork = p
	case captureProgOnSchedExec:
		o.OnSchedExec = p
	case captureProgOnSchedExit:
		o.OnSchedExit = p
	default:
		p.Close()
		return fmt.Errorf("unexpected program %s", name)
	}
	return nil
}

// captureLoaded are the objects Load loads: the maps, and one program per
// hook, on_sys_exit being one of the object's two variants (see
// FeatureLoop).
type captureLoaded struct {
	captureMaps
	captureVariables
	OnSysExit   *ebpf.Program `ebpf:"on_sys_exit"`
	OnSchedFork *ebpf.Program `ebpf:"on_sched_fork"`
	OnSchedExec *ebpf.Program `ebpf:"on_sched_exec"`
	OnSchedExit *ebpf.Program `ebpf:"on_sched_exit"`
	// internal holds the maps the programs use and no field names
	// (.rodata, .bss, ...).
	internal *ebpf.Collection
}

func (o *captureLoaded) Close() error {
	if o.internal != nil {
		o.internal.Close()
	}
	return errors.Join(o.captureMaps.Close(), o.OnSysExit.Close(), o.OnSchedFork.Close(),
		o.OnSchedExec.Close(), o.OnSchedExit.Close())
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

// fdMarkFDs is the number of descriptors a process's fd mark covers
// (FDMARK_FDS in capture.c); fdMarkSize is the size of struct fdmark (the
// bytes, poison, ops).
const (
	fdMarkFDs  = 512
	fdMarkSize = fdMarkFDs + 16
)

// freshFDMark is the value of a new fd mark entry: every descriptor
// possibly tracked, poisoned or not.
func freshFDMark(poison bool) []byte {
	b := make([]byte, fdMarkSize)
	for i := range fdMarkFDs {
		b[i] = 1
	}
	if poison {
		b[fdMarkFDs] = 1
	}
	return b
}

// SetFDMarks turns the descriptor marks on or off (full prefilter mode
// only): with them on, the kernel drops a close, dup or fcntl that changes
// nothing in userspace's descriptor table (see fdmarks in capture.c).
// Turn them on only once the descriptor state has been read from /proc.
// While they are off no mark is kept up to date, so turning them on first
// forgets every mark (every descriptor counts as tracked again).
// [Capture.SetMode] to a mode other than full turns them off.
func (c *Capture) SetFDMarks(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return c.setFDMarks(on)
}

func (c *Capture) setFDMarks(on bool) error {
	if !on {
		if err := c.objs.FalcocFdmarks.Set(uint32(0)); err != nil {
			return fmt.Errorf("set fd marks: %w", err)
		}
		return nil
	}
	// The rewrite is a change of the marks for the kernel's memo of
	// untracked closes (close_memo in capture.c): counted before and
	// after, as the programs count theirs.
	if err := bumpVar(c.objs.FalcocMarksUbegin); err != nil {
		return fmt.Errorf("reset fd marks: %w", err)
	}
	var k uint32
	var keys []uint32
	v := make([]byte, fdMarkSize)
	it := c.objs.Fdmarks.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("reset fd marks: %w", err)
	}
	for _, k := range keys {
		if err := c.objs.Fdmarks.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("reset fd marks: %w", err)
		}
	}
	if err := bumpVar(c.objs.FalcocMarksUend); err != nil {
		return fmt.Errorf("reset fd marks: %w", err)
	}
	if err := c.objs.FalcocFdmarks.Set(uint32(1)); err != nil {
		return fmt.Errorf("set fd marks: %w", err)
	}
	return nil
}

// bumpVar adds 1 to a uint64 global only userspace writes.
func bumpVar(v *ebpf.Variable) error {
	var n uint64
	if err := v.Get(&n); err != nil {
		return err
	}
	return v.Set(n + 1)
}

// SetKeepLifecycle makes full mode send every process lifecycle record
// (keep true) or lets it drop the redundant ones (false, the default): the
// parent's return from a fork, which userspace never reads (the fork
// record is its clone event); the child's return, when its fork record
// reached userspace, the child is in the initial pid namespace and in its
// parent's cgroups, and no rule looks at it; the sched_process_exec
// record, when the tables send every execve and execveat exit (which
// carries all of it). See fork_sent in capture.c.
func (c *Capture) SetKeepLifecycle(keep bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	v := uint32(0)
	if keep {
		v = 1
	}
	if err := c.objs.FalcocKeepLifecycle.Set(v); err != nil {
		return fmt.Errorf("set keep lifecycle: %w", err)
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
	if m != ModeFull {
		if err := c.setFDMarks(false); err != nil {
			return err
		}
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
// force. Tables that need more entries than the maps were sized for at
// [Load] are refused (the error wraps ErrInvalidTables and says which
// table): see [Capture.FitTables].
func (c *Capture) SetTables(t *Tables) error {
	if err := t.ValidateCapacity(c.capacity); err != nil {
		return err
	}
	if w := t.MaskWords(); w > c.maskWords {
		return fmt.Errorf("%w: a mask of %d bits, the capture was loaded for %d (FitTables folds it)", ErrInvalidTables, 64*w, 64*c.maskWords)
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
	if err := c.writeArrays(set, t); err != nil {
		return err
	}
	return c.writeHashes(set, t)
}

// writeArrays writes the array maps of a set: gates, default slots and
// open flags classes. The whole set is overwritten.
func (c *Capture) writeArrays(set uint32, t *Tables) error {
	// Arrays: the whole set is overwritten.
	gateKeys := make([]uint32, NumSyscalls)
	flags := make([]uint32, NumSyscalls)
	for id := range NumSyscalls {
		gateKeys[id] = set*NumSyscalls + uint32(id)
		if t.Always[id] {
			flags[id] |= gateCapture
		}
		if t.Captured[id] {
			flags[id] |= gateCaptured
		}
		if g := t.Gate[id]; !g.ZeroIn(c.maskWords) {
			flags[id] |= gateMask
		}
	}
	// A number that, as a 32-bit syscall, means a gated syscall must not
	// be dropped by its x86_64 meaning's empty gate.
	for nr, id := range ia32ToX64 {
		if nr < NumSyscalls && id < NumSyscalls {
			if flags[id]&(gateCapture|gateCaptured|gateMask) != 0 {
				flags[nr] |= gateIA32
			}
		}
	}
	gates := make([]byte, 0, NumSyscalls*(8+8*c.maskWords))
	for id := range NumSyscalls {
		gates = binary.LittleEndian.AppendUint32(gates, uint32(t.DimsPerSyscall[id]))
		gates = binary.LittleEndian.AppendUint32(gates, flags[id])
		gates = c.appendMask(gates, t.Gate[id])
	}
	if _, err := c.objs.Gate.BatchUpdate(gateKeys, batchValues(gates, len(gateKeys)), nil); err != nil {
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
		slotPtraceDefault:    t.Arg0Default,
		slotExeDefault:       t.ExeDefault,
		slotExeUnknown:       t.ExeUnknown,
		slotSuffixDefault:    t.SuffixDefault,
		slotSuffixUnknown:    t.SuffixUnknown,
		slotPathUsed:         dimUsed(t.PathDefault, t.PathUnknown, t.PathExact, t.PathPrefix),
		slotSuffixUsed:       dimUsed(t.SuffixDefault, t.SuffixUnknown, t.Suffix),
	}
	slotKeys := make([]uint32, numSlots)
	var slotVals []byte
	for i := range numSlots {
		slotKeys[i] = set*numSlots + uint32(i)
		slotVals = c.appendMask(slotVals, slots[i])
	}
	if _, err := c.objs.Dflt.BatchUpdate(slotKeys, batchValues(slotVals, len(slotKeys)), nil); err != nil {
		return fmt.Errorf("defaults: %w", err)
	}
	var lpmKeys []uint32
	var lpmVals []byte
	for trie, used := range [2]*[lpmBuckets]Mask{pathBuckets(t), suffixBuckets(t)} {
		for b := range lpmBuckets {
			lpmKeys = append(lpmKeys, (set*2+uint32(trie))*lpmBuckets+uint32(b))
			lpmVals = c.appendMask(lpmVals, used[b])
		}
	}
	if _, err := c.objs.LpmUsed.BatchUpdate(lpmKeys, batchValues(lpmVals, len(lpmKeys)), nil); err != nil {
		return fmt.Errorf("trie buckets: %w", err)
	}
	ofKeys := make([]uint32, numOpenClasses)
	var ofVals []byte
	for i := range numOpenClasses {
		ofKeys[i] = set*numOpenClasses + uint32(i)
		ofVals = c.appendMask(ofVals, t.OpenFlags[i])
	}
	if _, err := c.objs.Openflags.BatchUpdate(ofKeys, batchValues(ofVals, len(ofKeys)), nil); err != nil {
		return fmt.Errorf("open flags: %w", err)
	}
	return nil
}

// dimUsed returns the clauses a table can narrow: those whose bit is
// clear in its default, its unknown mask or one of its entries. Every
// other clause passes every lookup of the table, so the kernel skips the
// lookup when only such clauses are left in an event's mask (the slots
// FALCOC_SLOT_PATH_USED and FALCOC_SLOT_SUFFIX_USED).
func dimUsed(def, unknown Mask, tables ...map[string]Mask) Mask {
	free := def.And(unknown)
	for _, tb := range tables {
		for _, m := range tb {
			free = free.And(m)
		}
	}
	for i := range free {
		free[i] = ^free[i]
	}
	return free
}

// batchValues returns vals, n values of equal size end to end, as a
// slice of n byte arrays: a batch update wants one element per key, and
// the values' size is set at load.
func batchValues(vals []byte, n int) any {
	if n == 0 {
		return vals
	}
	vs := len(vals) / n
	s := reflect.MakeSlice(reflect.SliceOf(reflect.ArrayOf(vs, reflect.TypeFor[byte]())), n, n)
	copy(unsafe.Slice((*byte)(s.UnsafePointer()), n*vs), vals)
	return s.Interface()
}

// appendMask appends m as a kernel mask value: c.maskWords little-endian
// words, those past m's zero.
func (c *Capture) appendMask(b []byte, m Mask) []byte {
	for i := range c.maskWords {
		var w uint64
		if i < len(m) {
			w = m[i]
		}
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

// lpmBuckets is the number of buckets per trie in the lpm_used map: one
// per value of the key's first path byte the kernel looks at.
const lpmBuckets = 256

// lpmUsed returns, per bucket, the clauses a trie lookup can narrow beyond
// its default for a key whose path has byte b at position pos (the
// lpm_used map): the clauses whose bit differs between the default and
// the value of an entry that can match such a key. An entry whose key path
// (keys maps each entry's key path, as the trie holds it, to its value) is
// at most pos bytes long can match a key with any byte there: it counts in
// every bucket. A key with b at pos can only match entries of its bucket
// or such short ones (an LPM entry matches a key only when the entry's
// bytes are a prefix of the key's), so when the event's mask shares no
// clause with its bucket, whatever the lookup returns ANDs the mask as the
// default does, and the kernel uses the default.
func lpmUsed(def Mask, keys map[string]Mask, pos int) *[lpmBuckets]Mask {
	var used [lpmBuckets]Mask
	var all Mask
	for k, v := range keys {
		var d Mask
		for i := range d {
			d[i] = v[i] ^ def[i]
		}
		if len(k) <= pos {
			all = all.Or(d)
			continue
		}
		used[k[pos]] = used[k[pos]].Or(d)
	}
	for b := range used {
		used[b] = used[b].Or(all)
	}
	return &used
}

// pathBuckets is lpmUsed for the path trie: the byte after the path's
// leading '/' (exact entries end in the NUL the kernel's key holds).
func pathBuckets(t *Tables) *[lpmBuckets]Mask {
	keys := make(map[string]Mask, len(t.PathPrefix)+len(t.PathExact))
	for p, v := range t.PathPrefix {
		keys[p] = v
	}
	for p, v := range t.PathExact {
		keys[p+"\x00"] = v
	}
	return lpmUsed(t.PathDefault, keys, 1)
}

// suffixBuckets is lpmUsed for the suffix trie, whose key paths are the
// suffixes reversed: the suffix's last byte.
func suffixBuckets(t *Tables) *[lpmBuckets]Mask {
	keys := make(map[string]Mask, len(t.Suffix))
	for s, v := range t.Suffix {
		r := make([]byte, len(s))
		for i := range len(s) {
			r[i] = s[len(s)-1-i]
		}
		keys[string(r)] = v
	}
	return lpmUsed(t.SuffixDefault, keys, 0)
}

// writeHashes writes the hash and trie entries of a set.
func (c *Capture) writeHashes(set uint32, t *Tables) error {
	// Hashes and tries: the inactive set was cleared, so only the
	// entries go in. Keys are sorted, so loading is deterministic.
	k := &c.keys[set]
	var (
		commKeys []captureFalcocCommKey
		uidKeys  []captureFalcocUidKey
		sockKeys []captureFalcocSockKey
		ptKeys   []captureFalcocPtraceKey
		vals     []byte
	)
	for _, name := range sortedKeys(t.Comm) {
		commKeys = append(commKeys, commKey(set, name))
		vals = c.appendMask(vals, t.Comm[name])
	}
	if err := putAll(c.objs.CommTbl, commKeys, vals, &k.comm); err != nil {
		return fmt.Errorf("comm: %w", err)
	}
	vals = vals[:0]
	for _, uid := range sortedKeys(t.UID) {
		uidKeys = append(uidKeys, captureFalcocUidKey{Set: set, Uid: uid})
		vals = c.appendMask(vals, t.UID[uid])
	}
	if err := putAll(c.objs.UidTbl, uidKeys, vals, &k.uid); err != nil {
		return fmt.Errorf("uid: %w", err)
	}
	vals = vals[:0]
	socks := make([]SockKey, 0, len(t.Sock))
	for sk := range t.Sock {
		socks = append(socks, sk)
	}
	sort.Slice(socks, func(i, j int) bool {
		return socks[i].Family < socks[j].Family || socks[i].Family == socks[j].Family && socks[i].Port < socks[j].Port
	})
	for _, sk := range socks {
		sockKeys = append(sockKeys, captureFalcocSockKey{Set: set, Family: sk.Family, Port: sk.Port})
		vals = c.appendMask(vals, t.Sock[sk])
	}
	for _, fam := range sortedKeys(t.SockFamily) {
		sockKeys = append(sockKeys, captureFalcocSockKey{Set: set, Family: fam, Any: 1})
		vals = c.appendMask(vals, t.SockFamily[fam])
	}
	if err := putAll(c.objs.SockTbl, sockKeys, vals, &k.sock); err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	vals = vals[:0]
	for _, req := range sortedKeys(t.Arg0) {
		ptKeys = append(ptKeys, captureFalcocPtraceKey{Set: set, Request: req})
		vals = c.appendMask(vals, t.Arg0[req])
	}
	if err := putAll(c.objs.PtraceTbl, ptKeys, vals, &k.ptrace); err != nil {
		return fmt.Errorf("ptrace: %w", err)
	}
	for _, tbl := range []struct {
		name          string
		m             *ebpf.Map
		exact, prefix map[string]Mask
		written       *[]captureFalcocPathKey
	}{
		{"path", c.objs.PathTbl, t.PathExact, t.PathPrefix, &k.path},
		{"exe", c.objs.ExeTbl, t.ExeExact, t.ExePrefix, &k.exe},
	} {
		var keys []captureFalcocPathKey
		vals = vals[:0]
		for _, p := range sortedKeys(tbl.prefix) {
			keys = append(keys, pathKey(uint8(set), p, false))
			vals = c.appendMask(vals, tbl.prefix[p])
		}
		for _, p := range sortedKeys(tbl.exact) {
			keys = append(keys, pathKey(uint8(set), p, true))
			vals = c.appendMask(vals, tbl.exact[p])
		}
		if err := putAll(tbl.m, keys, vals, tbl.written); err != nil {
			return fmt.Errorf("%s: %w", tbl.name, err)
		}
	}
	var sufKeys []captureFalcocPathKey
	vals = vals[:0]
	for _, s := range sortedKeys(t.Suffix) {
		sufKeys = append(sufKeys, suffixKey(uint8(set), s))
		vals = c.appendMask(vals, t.Suffix[s])
	}
	if err := putAll(c.objs.SuffixTbl, sufKeys, vals, &k.suffix); err != nil {
		return fmt.Errorf("suffix: %w", err)
	}
	return nil
}

// setKeys are the hash and trie keys written into one set, so that the set
// can be cleared without walking the maps (walking an LPM trie is
// quadratic).
type setKeys struct {
	comm   []captureFalcocCommKey
	uid    []captureFalcocUidKey
	sock   []captureFalcocSockKey
	ptrace []captureFalcocPtraceKey
	path   []captureFalcocPathKey
	exe    []captureFalcocPathKey
	suffix []captureFalcocPathKey
}

// clearSet removes every hash and trie entry written into a set. Array
// entries are left: writeSet overwrites all of them.
func (c *Capture) clearSet(set uint32) error {
	k := &c.keys[set]
	if err := deleteAll(c.objs.CommTbl, k.comm); err != nil {
		return fmt.Errorf("comm: %w", err)
	}
	if err := deleteAll(c.objs.UidTbl, k.uid); err != nil {
		return fmt.Errorf("uid: %w", err)
	}
	if err := deleteAll(c.objs.SockTbl, k.sock); err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	if err := deleteAll(c.objs.PtraceTbl, k.ptrace); err != nil {
		return fmt.Errorf("ptrace: %w", err)
	}
	if err := deleteAll(c.objs.PathTbl, k.path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if err := deleteAll(c.objs.SuffixTbl, k.suffix); err != nil {
		return fmt.Errorf("suffix: %w", err)
	}
	if err := deleteAll(c.objs.ExeTbl, k.exe); err != nil {
		return fmt.Errorf("exe: %w", err)
	}
	*k = setKeys{}
	return nil
}

func deleteAll[K any](m *ebpf.Map, keys []K) error {
	for i := range keys {
		if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return nil
}

// putAll writes keys and values, recording the keys in *written first so
// that a failure half-way still lets clearSet remove what went in.
func putAll[K any](m *ebpf.Map, keys []K, vals []byte, written *[]K) error {
	*written = append(*written, keys...)
	if len(keys) == 0 {
		return nil
	}
	if m.Type() != ebpf.LPMTrie {
		if _, err := m.BatchUpdate(keys, batchValues(vals, len(keys)), nil); err == nil {
			return nil
		} else if !errors.Is(err, ebpf.ErrNotSupported) {
			return err
		}
	}
	vs := len(vals) / len(keys)
	for i := range keys {
		if err := m.Put(&keys[i], vals[i*vs:(i+1)*vs]); err != nil {
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

// Missed returns how many times the kernel skipped a program of the
// capture because the same program was already running on that CPU (the
// kernel's recursion misses, 5.12 and later; 0 before). Each miss is an
// event never seen: a syscall exit, fork, exec or exit. On kernels whose
// syscall tracepoints run with preemption enabled, a program preempted
// mid-run makes the next one on that CPU miss.
func (c *Capture) Missed() (uint64, error) {
	var n uint64
	for _, p := range []*ebpf.Program{c.objs.OnSysExit, c.objs.OnSchedFork, c.objs.OnSchedExec, c.objs.OnSchedExit} {
		st, err := p.Stats()
		if err != nil {
			return 0, fmt.Errorf("program stats: %w", err)
		}
		n += st.RecursionMisses
	}
	return n, nil
}

// LostPerCPU returns, for each possible CPU, how many records its ring
// buffer had no room for (all kinds). Their sum is Counters().Total().Lost.
func (c *Capture) LostPerCPU() ([]uint64, error) {
	out := make([]uint64, len(c.rings))
	var per []captureFalcocCounters
	for k := range uint32(NumKinds) {
		if err := c.objs.Counters.Lookup(k, &per); err != nil {
			return nil, fmt.Errorf("read counters: %w", err)
		}
		for cpu, p := range per {
			if cpu < len(out) {
				out[cpu] += p.Lost
			}
		}
	}
	return out, nil
}

// SetDeadline makes a blocked or later read return os.ErrDeadlineExceeded
// once t has passed and no record is due. The zero time means no deadline.
// It may be called while another goroutine reads: a blocked read wakes and
// looks at the new deadline.
func (c *Capture) SetDeadline(t time.Time) { c.reader.setDeadline(t) }

// Close detaches the programs and frees every kernel object. A blocked read
// returns [ErrClosed]. Closing twice is a no-op.
func (c *Capture) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	var errs []error
	if c.reader != nil {
		errs = append(errs, c.reader.close())
	}
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	for _, m := range c.rings {
		errs = append(errs, m.Close())
	}
	c.rings = nil
	errs = append(errs, c.objs.Close())
	return errors.Join(errs...)
}
