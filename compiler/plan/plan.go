package plan

import (
	"math/bits"
	"slices"
)

// Mask is a clause mask: bit i stands for kernel clause i. A plan uses
// its first [Tables.Words] words (the kernel mask's width, 256 to
// [MaskBitsMax] bits); the others are zero. It has the layout of the
// kernel's struct falcoc_mask.
type Mask [MaskWordsMax]uint64

// Clause mask widths: a plan's mask has [MaskBits] bits when its clauses
// fit (as many as the record header carries), and up to [MaskBitsMax]
// bits, in steps of [MaskBits], when they do not; only past that are
// clauses folded together (bpf/headers/falcoc_abi.h:
// FALCOC_MASK_HEAD_WORDS, FALCOC_MASK_WORDS_MAX).
const (
	MaskBits      = 256
	MaskHeadWords = MaskBits / 64
	MaskWordsMax  = 32
	MaskBitsMax   = 64 * MaskWordsMax
)

// AllClauses is the mask with every bit set: nothing judged, every rule a
// candidate.
var AllClauses = func() (m Mask) {
	for i := range m {
		m[i] = ^uint64(0)
	}
	return m
}()

// IsZero reports whether no bit is set.
func (m Mask) IsZero() bool {
	var x uint64
	for _, w := range m {
		x |= w
	}
	return x == 0
}

// ZeroIn reports whether no bit is set in the first words words (the
// plan's width: the others are zero or not looked at).
func (m *Mask) ZeroIn(words int) bool {
	if words <= MaskHeadWords {
		return m[0]|m[1]|m[2]|m[3] == 0
	}
	var x uint64
	for _, w := range m[:min(words, MaskWordsMax)] {
		x |= w
	}
	return x == 0
}

// Has reports whether bit i is set; out-of-range bits are never set.
func (m *Mask) Has(i int) bool {
	if i < 0 || i >= MaskBitsMax {
		return false
	}
	return m[i/64]&(1<<(i%64)) != 0
}

// With returns m with bit i set; out-of-range bits are ignored.
func (m Mask) With(i int) Mask {
	if i >= 0 && i < MaskBitsMax {
		m[i/64] |= 1 << (i % 64)
	}
	return m
}

// Set sets bit i in place; out-of-range bits are ignored.
func (m *Mask) Set(i int) {
	if i >= 0 && i < MaskBitsMax {
		m[i/64] |= 1 << (i % 64)
	}
}

// And returns m & o.
func (m Mask) And(o Mask) Mask {
	for i := range m {
		m[i] &= o[i]
	}
	return m
}

// Intersects reports whether m and o have a bit in common.
func (m *Mask) Intersects(o *Mask) bool {
	var x uint64
	for i := range m {
		x |= m[i] & o[i]
	}
	return x != 0
}

// IntersectsIn is Intersects over the first words words.
func (m *Mask) IntersectsIn(o *Mask, words int) bool {
	if words <= MaskHeadWords {
		return m[0]&o[0]|m[1]&o[1]|m[2]&o[2]|m[3]&o[3] != 0
	}
	var x uint64
	for i := range min(words, MaskWordsMax) {
		x |= m[i] & o[i]
	}
	return x != 0
}

// AndIn sets the first words words of m to m AND o, a word at a time.
func (m *Mask) AndIn(o *Mask, words int) {
	if words <= MaskHeadWords {
		m[0] &= o[0]
		m[1] &= o[1]
		m[2] &= o[2]
		m[3] &= o[3]
		return
	}
	for i := range min(words, MaskWordsMax) {
		m[i] &= o[i]
	}
}

// SetIn copies the first words words of o into m, a word at a time (the
// others are left as they are).
func (m *Mask) SetIn(o *Mask, words int) {
	if words <= MaskHeadWords {
		m[0], m[1], m[2], m[3] = o[0], o[1], o[2], o[3]
		return
	}
	copy(m[:min(words, MaskWordsMax)], o[:])
}

// Or returns m | o.
func (m Mask) Or(o Mask) Mask {
	for i := range m {
		m[i] |= o[i]
	}
	return m
}

// Bits returns the set bits in increasing order.
func (m Mask) Bits() []int {
	var out []int
	for w, x := range m {
		for x != 0 {
			b := bits.TrailingZeros64(x)
			out = append(out, w*64+b)
			x &= x - 1
		}
	}
	return out
}

// WordsFor returns the mask words that hold bits 0 to n-1: a multiple of
// [MaskHeadWords], at least that.
func WordsFor(n int) int {
	w := (n + MaskBits - 1) / MaskBits * MaskHeadWords
	return min(max(w, MaskHeadWords), MaskWordsMax)
}

// Dim is a set of prefilter dimensions. The values are those of the
// kernel ABI (FALCOC_DIM_*).
type Dim uint32

// Dimensions.
const (
	DimComm      Dim = 1 << iota // task comm, exact
	DimUID                       // effective uid
	DimContainer                 // container class of the task's cgroup
	DimOpenFlags                 // open flags class (open, openat, openat2, creat)
	DimPath                      // first path argument (longest prefix match)
	DimSock                      // socket family and port of the caller's address
	DimArg0                      // first argument (ptrace request, socket domain); FALCOC_DIM_PTRACE
	DimExe                       // exec'd program's path
	DimSuffix                    // end of the open family's path (longest suffix match)
)

var dimNames = []struct {
	d    Dim
	name string
}{
	{DimComm, "comm"}, {DimUID, "uid"}, {DimContainer, "container"}, {DimOpenFlags, "openflags"},
	{DimPath, "path"}, {DimSock, "sock"}, {DimArg0, "arg0"}, {DimExe, "exe"}, {DimSuffix, "suffix"},
}

// String lists the dimensions: "comm|path".
func (d Dim) String() string {
	s := ""
	for _, n := range dimNames {
		if d&n.d != 0 {
			if s != "" {
				s += "|"
			}
			s += n.name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Open flags classes: [Tables.OpenFlags] is indexed by an OR of these, as
// the kernel computes it from the flags argument.
const (
	OpenRead   = 1 << 0 // O_RDONLY or O_RDWR
	OpenWrite  = 1 << 1 // O_WRONLY or O_RDWR
	OpenCreate = 1 << 2 // O_CREAT or O_TMPFILE
	OpenTrunc  = 1 << 3 // O_TRUNC
)

// PathMax is the longest path, in bytes, the kernel matches against the
// path table; a longer one is unknown.
const PathMax = 253

// SuffixMax is the longest suffix the suffix table holds: the kernel
// keys the last SuffixMax bytes of a path, reversed.
const SuffixMax = 64

// CommMax is the longest task name the kernel keeps.
const CommMax = 15

// Default table capacities (per table set): the kernel's maps get these
// sizes when the tables need no more (the sizes in bpf/capture.c);
// bigger tables get maps sized from them at load ([Capacity]).
const (
	MaxComm   = 4096
	MaxUID    = 4096
	MaxArg0   = 128
	MaxPath   = 8192
	MaxSock   = 4096 // exact and per-family entries together
	MaxExe    = 8192
	MaxSuffix = 4096
)

// TableCeiling is the most entries one lookup table may have (per table
// set): the planner drops a dimension whose table would need more (a plan
// note says so), and [Tables.Validate] rejects such tables. The kernel's
// memory for a table is linear in its entries; at this ceiling a comm
// table's two sets take about 50 MB.
const TableCeiling = 1 << 18

// Capacity is the number of entries of each lookup table, per table set.
// The path and exe tables count their exact and prefix entries together,
// the socket table its exact and per-family entries.
type Capacity struct {
	Comm, UID, Arg0, Path, Sock, Exe, Suffix int
}

// DefaultCapacity is the capacity of the maps when the tables need no
// more.
var DefaultCapacity = Capacity{Comm: MaxComm, UID: MaxUID, Arg0: MaxArg0, Path: MaxPath, Sock: MaxSock, Exe: MaxExe, Suffix: MaxSuffix}

// MaxCapacity is [TableCeiling] for every table.
var MaxCapacity = Capacity{Comm: TableCeiling, UID: TableCeiling, Arg0: TableCeiling, Path: TableCeiling, Sock: TableCeiling, Exe: TableCeiling, Suffix: TableCeiling}

// Needs returns the entries t puts in each table.
func (t *Tables) Needs() Capacity {
	return Capacity{
		Comm: len(t.Comm), UID: len(t.UID), Arg0: len(t.Arg0),
		Path: len(t.PathExact) + len(t.PathPrefix), Sock: len(t.Sock) + len(t.SockFamily),
		Exe: len(t.ExeExact) + len(t.ExePrefix), Suffix: len(t.Suffix),
	}
}

// Over returns the dimensions whose tables need more entries than c has.
func (c Capacity) Over(need Capacity) Dim {
	var d Dim
	for _, x := range []struct {
		dim       Dim
		need, cap int
	}{
		{DimComm, need.Comm, c.Comm}, {DimUID, need.UID, c.UID}, {DimArg0, need.Arg0, c.Arg0},
		{DimPath, need.Path, c.Path}, {DimSock, need.Sock, c.Sock}, {DimExe, need.Exe, c.Exe},
		{DimSuffix, need.Suffix, c.Suffix},
	} {
		if x.need > x.cap {
			d |= x.dim
		}
	}
	return d
}

// ForLoad returns the capacity to size the kernel's maps with for tables
// that need need: per table the default, or twice the need when that is
// more (room for reloads that add rules), at most [TableCeiling].
func ForLoad(need Capacity) Capacity {
	f := func(def, n int) int { return min(TableCeiling, max(def, 2*n)) }
	d := DefaultCapacity
	return Capacity{
		Comm: f(d.Comm, need.Comm), UID: f(d.UID, need.UID), Arg0: f(d.Arg0, need.Arg0), Path: f(d.Path, need.Path),
		Sock: f(d.Sock, need.Sock), Exe: f(d.Exe, need.Exe), Suffix: f(d.Suffix, need.Suffix),
	}
}

// WithoutDims returns a copy of t in which the dimensions d are not
// consulted on any syscall and their tables are empty: sound, since a
// dimension that is not looked up narrows nothing (every clause passes
// it). Used when tables exceed the kernel maps' capacity.
func (t *Tables) WithoutDims(d Dim) *Tables {
	out := *t
	out.DimsPerSyscall = make(map[int]Dim, len(t.DimsPerSyscall))
	for id, x := range t.DimsPerSyscall {
		if x &^= d; x != 0 {
			out.DimsPerSyscall[id] = x
		}
	}
	if d&DimComm != 0 {
		out.Comm, out.CommDefault = nil, Mask{}
	}
	if d&DimUID != 0 {
		out.UID, out.UIDDefault = nil, Mask{}
	}
	if d&DimArg0 != 0 {
		out.Arg0, out.Arg0Default = nil, Mask{}
	}
	if d&DimPath != 0 {
		out.PathExact, out.PathPrefix, out.PathDefault, out.PathUnknown = nil, nil, Mask{}, Mask{}
	}
	if d&DimSock != 0 {
		out.Sock, out.SockFamily, out.SockDefault, out.SockUnknown = nil, nil, Mask{}, Mask{}
	}
	if d&DimExe != 0 {
		out.ExeExact, out.ExePrefix, out.ExeDefault, out.ExeUnknown = nil, nil, Mask{}, Mask{}
	}
	if d&DimSuffix != 0 {
		out.Suffix, out.SuffixDefault, out.SuffixUnknown = nil, Mask{}, Mask{}
	}
	return &out
}

// Tables is the prefilter as data, mirroring the kernel's maps (bpf.Tables
// is built from it by runtime/kplan). For every lookup table, the mask
// stored for a key (or for the longest matching path entry) holds every
// clause that can be true for a value matching that key, clauses that do
// not constrain the dimension included; Default is used for values that
// match no key, Unknown when the kernel cannot see or trust the value. A
// dimension is consulted only for the syscalls whose DimsPerSyscall entry
// names it.
type Tables struct {
	// Words is the width of the masks in 64-bit words: a multiple of
	// [MaskHeadWords] up to [MaskWordsMax]; 0 means [MaskHeadWords].
	// Every bit of every mask is below 64*Words.
	Words int

	Gate           map[int]Mask
	DimsPerSyscall map[int]Dim
	// Always lists syscalls sent even when no clause survives: the
	// userspace state needs them (see mapping.go).
	Always map[int]bool
	// Captured lists the syscalls of every enabled syscall rule (sent when
	// the prefilter is off).
	Captured map[int]bool

	Comm        map[string]Mask
	CommDefault Mask

	UID        map[uint32]Mask
	UIDDefault Mask

	ContainerHost, ContainerInside, ContainerUnknown Mask

	OpenFlags [16]Mask

	// PathExact and PathPrefix: an exact entry beats a prefix entry of the
	// same length, the longest match wins.
	PathExact, PathPrefix    map[string]Mask
	PathDefault, PathUnknown Mask

	// Sock is keyed by the family and port of the address the caller
	// passed (connect, bind); SockFamily is the default per family,
	// SockDefault for families without an entry, SockUnknown for an
	// address the kernel could not read.
	Sock                     map[SockKey]Mask
	SockFamily               map[uint16]Mask
	SockDefault, SockUnknown Mask

	// Arg0 is keyed by the low 32 bits of the first syscall argument
	// (ptrace's request, socket's and socketpair's domain). One table
	// serves every syscall whose DimsPerSyscall names [DimArg0]: an
	// entry's mask holds, for each such syscall, that syscall's clauses
	// possible for the value, and the gate keeps only the syscall's own.
	Arg0        map[uint32]Mask
	Arg0Default Mask

	// ExeExact and ExePrefix match the exec'd program's path like
	// PathExact and PathPrefix; ExeUnknown is used for a path the kernel
	// cannot trust ([ExeKnown]).
	ExeExact, ExePrefix    map[string]Mask
	ExeDefault, ExeUnknown Mask

	// Suffix matches the end of the open family's path: the path the
	// path table would match ([PathKnown]), its trailing '/' dropped. The
	// entry that is the longest suffix of the path wins; SuffixDefault
	// is used when none is, SuffixUnknown for a path the kernel cannot
	// trust. Keys are 1 to [SuffixMax] bytes.
	Suffix                       map[string]Mask
	SuffixDefault, SuffixUnknown Mask
}

// MaskWords returns t.Words, [MaskHeadWords] when 0.
func (t *Tables) MaskWords() int {
	if t.Words <= 0 {
		return MaskHeadWords
	}
	return t.Words
}

// SockKey is a socket table key: address family and port (0 for families
// without ports).
type SockKey struct {
	Family, Port uint16
}

// Plan is the kernel prefilter of a rule set: the clauses, their mask
// bits, which rules each belongs to, and the tables. It is immutable once
// built and safe for concurrent reads.
//
// Mask bits are numbered per syscall: a bit stands for at most one clause
// on any one syscall, but clauses that share no syscall may share a bit
// (a connect clause and an openat clause). A dimension table's entry sets
// a bit when any clause with that bit can be true for the entry's values,
// so sharing is sound: it only widens where the clauses' syscalls are
// judged with a dimension both read. When no more clauses are planned
// than the mask's width (Tables.Words) holds, clause i has bit i.
type Plan struct {
	// Rules are the planned rules: the enabled syscall rules, in rule-set
	// order.
	Rules []RulePlan
	// Clauses are indexed by bit.
	Clauses []Clause
	Tables  Tables
	// Notes record plan-wide widenings (merged clauses, dropped
	// dimensions), in the order they happened.
	Notes []string
}

// RulePlan is what the planner made of one rule.
type RulePlan struct {
	Name string
	// Clauses are the indexes (into [Plan.Clauses]) of this rule's
	// clauses (possibly shared with other rules after folding),
	// increasing.
	Clauses []int
	// Syscalls are the syscall ids the rule can match.
	Syscalls []int
	// Unbounded is true when the rule has no bounded event-type set: its
	// gate is every captured syscall.
	Unbounded bool
	// Kernel lists what the kernel checks, one line per clause.
	Kernel []string
	// Residual lists the comparisons only userspace can decide (the VM
	// always evaluates the whole condition on events that pass).
	Residual []string
	// Widened says how the rule's clauses were widened to fit, if at all.
	Widened []string
}

// Clause is one kernel clause.
type Clause struct {
	// Bit is the clause's mask bit, below the mask's width (64 times
	// Tables.MaskWords); no other clause on one of Syscalls has it.
	Bit int
	// Rules are indexes into [Plan.Rules]: more than one after merging.
	Rules []int
	// Syscalls are the ids whose gate has Bit for this clause.
	Syscalls []int
	// Text renders the clause's per-dimension constraints.
	Text string
}

// RulesOf returns the indexes (into [Plan.Rules]) of the rules that have
// a clause on syscall sys whose bit is in m, increasing: the rules
// userspace must evaluate for an event of sys that carries m.
func (p *Plan) RulesOf(sys int, m Mask) []int {
	seen := make(map[int]bool)
	var out []int
	for i := range p.Clauses {
		c := &p.Clauses[i]
		if !m.Has(c.Bit) || !slices.Contains(c.Syscalls, sys) {
			continue
		}
		for _, r := range c.Rules {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sortInts(out)
	return out
}

// Bits returns the mask of the bits of the given clauses (indexes into
// [Plan.Clauses]; out-of-range ones are ignored).
func (p *Plan) Bits(clauses []int) Mask {
	var m Mask
	for _, c := range clauses {
		if c >= 0 && c < len(p.Clauses) {
			m = m.With(p.Clauses[c].Bit)
		}
	}
	return m
}

// RuleMasks returns, for each rule name (in the caller's order, e.g. an
// artifact's rules), the clause bits the plan gives that rule, on any of
// its syscalls. A rule the plan does not cover (disabled, another source)
// gets every bit, so that a consumer filtering rules by the kernel's mask
// never skips it. Bits are numbered per syscall, so a rule with clauses
// on several syscalls may be evaluated for an event whose bit another
// rule's clause on that syscall kept: sound, a little userspace work.
func (p *Plan) RuleMasks(names []string) []Mask {
	byName := make(map[string][]int, len(p.Rules))
	for _, rp := range p.Rules {
		byName[rp.Name] = rp.Clauses
	}
	masks := make([]Mask, len(names))
	for i, n := range names {
		cl, ok := byName[n]
		if !ok {
			masks[i] = AllClauses
			continue
		}
		masks[i] = p.Bits(cl)
	}
	return masks
}

// Sizes of the kernel's table keys and values, in bytes, as in the kernel
// ABI (bpf/headers/falcoc_abi.h): struct falcoc_mask, falcoc_gate,
// falcoc_comm_key, falcoc_uid_key, falcoc_ptrace_key, falcoc_sock_key and
// falcoc_path_key (the path, exe and suffix tries).
const (
	commKeyBytes = 4 + CommMax + 1
	u32KeyBytes  = 8
	sockKeyBytes = 12
	pathKeyBytes = 4 + 1 + PathMax + 2
)

// KernelTableBytes is the size of the keys and values of the entries t
// puts in the kernel's maps, for one table set: what grows with the rule
// set. The maps' fixed parts (the per-syscall gate and default arrays,
// preallocated whatever the rules) and the kernel's per-entry overhead
// are not counted, except the gate entries of the captured syscalls.
func KernelTableBytes(t *Tables) int {
	maskBytes := 8 * t.MaskWords()
	gateBytes := maskBytes + 8
	n := len(t.Gate) * (4 + gateBytes)
	n += len(t.Comm) * (commKeyBytes + maskBytes)
	n += (len(t.UID) + len(t.Arg0)) * (u32KeyBytes + maskBytes)
	n += (len(t.Sock) + len(t.SockFamily)) * (sockKeyBytes + maskBytes)
	n += (len(t.PathExact) + len(t.PathPrefix) + len(t.ExeExact) + len(t.ExePrefix) + len(t.Suffix)) * (pathKeyBytes + maskBytes)
	return n
}
