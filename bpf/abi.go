package bpf

import (
	"fmt"

	"github.com/falcoc/falcoc/compiler/plan"
)

// Mask is a clause mask: bit i stands for kernel clause i. It is the
// plan's mask type, with the layout of the kernel's struct falcoc_mask;
// a capture uses its first [Capture.MaskWords] words.
type Mask = plan.Mask

// MaskBits is the width of the narrowest mask (the record header's).
const MaskBits = plan.MaskBits

// AllClauses is the mask with every bit set.
var AllClauses = plan.AllClauses

// MaskOf returns a mask with the given bits set.
func MaskOf(bits ...int) Mask {
	var m Mask
	for _, b := range bits {
		m = m.With(b)
	}
	return m
}

// Mode selects how much the kernel filters.
type Mode uint8

// Modes, matching FALCOC_MODE_* in headers/falcoc_abi.h.
const (
	// ModeOff sends every syscall of the captured set ([Tables.Captured],
	// [Tables.Always] and every syscall with a non-zero gate).
	ModeOff Mode = iota
	// ModeEvttype sends the syscalls whose gate mask is non-zero (and
	// [Tables.Always]): Falco's filtering by event type.
	ModeEvttype
	// ModeFull also applies the per-dimension tables.
	ModeFull
)

func (m Mode) String() string {
	switch m {
	case ModeOff:
		return "off"
	case ModeEvttype:
		return "evttype"
	case ModeFull:
		return "full"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Dim is a set of prefilter dimensions, as read by one syscall.
type Dim = plan.Dim

// Dimensions, matching FALCOC_DIM_* in headers/falcoc_abi.h.
const (
	DimComm      = plan.DimComm      // task comm, exact
	DimUID       = plan.DimUID       // effective uid
	DimContainer = plan.DimContainer // container class of the task's cgroup
	DimOpenFlags = plan.DimOpenFlags // open flags class (open family only)
	DimPath      = plan.DimPath      // first path argument (LPM trie)
	DimSock      = plan.DimSock      // socket family and port
	DimPtrace    = plan.DimArg0      // first argument: ptrace request, socket domain
	DimExe       = plan.DimExe       // execve/execveat: the new program's path
	DimSuffix    = plan.DimSuffix    // open family: the path's end (LPM trie on the reversed path)
	dimAll       = DimComm | DimUID | DimContainer | DimOpenFlags | DimPath | DimSock | DimPtrace | DimExe | DimSuffix
)

// Open flags classes: OpenFlags in [Tables] is indexed by an OR of these.
const (
	OpenRead   = 1 << 0
	OpenWrite  = 1 << 1
	OpenCreate = 1 << 2 // O_CREAT or O_TMPFILE
	OpenTrunc  = 1 << 3
)

// ContainerClass is what the cgroup table says about a cgroup id.
type ContainerClass uint32

// Container classes, matching FALCOC_CGROUP_* in headers/falcoc_abi.h. A
// cgroup id missing from the table is unknown.
const (
	ContainerHost      ContainerClass = 0
	ContainerContainer ContainerClass = 1
)

// Kinds of record besides syscall ids (0 to NumSyscalls-1).
const (
	NumSyscalls = 512
	KindFork    = 512
	KindExec    = 513
	KindExit    = 514
	NumKinds    = 515
)

// PathMax is the longest path (in bytes) matched against the path and exe
// tables; a longer path is unknown.
const PathMax = 253

// Header flags, matching FALCOC_F_* in headers/falcoc_abi.h.
const (
	FlagPathUnknown   = 1 << 0 // a path dimension judged the path: relative, not normalised, too long or unreadable
	FlagExeUnknown    = 1 << 1
	FlagArgvTruncated = 1 << 2
	FlagEnvTruncated  = 1 << 3
	FlagCompat        = 1 << 4
	FlagSockUnknown   = 1 << 5
)

// Bits of [ExecInfo.Flags] (FALCOC_EXEC_* in headers/falcoc_abi.h).
const (
	ExecMemfd    = 1 << 0 // the executable is a memfd
	ExecWritable = 1 << 1 // the task's credentials may write the executable
	ExecUpper    = 1 << 2 // on overlayfs, in the upper (writable) layer
	ExecLower    = 1 << 3 // on overlayfs, only in a lower layer
)

// Item types and other ABI constants (headers/falcoc_abi.h).
const (
	itemPath      = 1
	itemPath2     = 2
	itemOpen      = 3
	itemArgv      = 4
	itemEnv       = 5
	itemSockaddr  = 6
	itemLocalAddr = 7
	itemExec      = 8
	itemFork      = 9
	itemExecTP    = 10
	itemExit      = 11
	itemExe       = 12
	itemExePath   = 13
	itemFDPair    = 14
	itemMask      = 15
	numItemTypes  = 16

	gateCapture  = 1 << 0
	gateCaptured = 1 << 1
	gateIA32     = 1 << 2
	gateMask     = 1 << 3

	slotCommDefault      = 0
	slotUIDDefault       = 1
	slotContainerHost    = 2
	slotContainerInside  = 3
	slotContainerUnknown = 4
	slotPathDefault      = 5
	slotPathUnknown      = 6
	slotSockDefault      = 7
	slotSockUnknown      = 8
	slotPtraceDefault    = 9
	slotExeDefault       = 10
	slotExeUnknown       = 11
	slotSuffixDefault    = 12
	slotSuffixUnknown    = 13
	slotPathUsed         = 14
	slotSuffixUsed       = 15
	numSlots             = 16
	numOpenClasses       = 16
	hdrSize              = 176
	itemHdrSize          = 8
)
