package scap

import "fmt"

// Block types (libscap's scap_savefile.h). The *Int values are the
// numbers used before libscap's first release, still accepted.
const (
	blockSHB          = 0x0A0D0D0A
	shbMagic          = 0x1A2B3C4D
	blockMI           = 0x201
	blockMIInt        = 0x8002ABCD
	blockPLV1         = 0x202
	blockPLV1Int      = 0x8000ABCD
	blockPLV2         = 0x207
	blockPLV2Int      = 0x8013ABCD
	blockPLV3         = 0x209
	blockPLV3Int      = 0x8014ABCD
	blockPLV4         = 0x210
	blockPLV5         = 0x211
	blockPLV6         = 0x212
	blockPLV7         = 0x213
	blockPLV8         = 0x214
	blockPLV9         = 0x215
	blockFDL          = 0x203
	blockFDLInt       = 0x8001ABCD
	blockFDLV2        = 0x218
	blockEV           = 0x204
	blockEVInt        = 0x8010ABCD
	blockEVV2         = 0x216
	blockEVV2Large    = 0x221
	blockIL           = 0x205
	blockILInt        = 0x8011ABCD
	blockILV2         = 0x219
	blockUL           = 0x206
	blockULInt        = 0x8012ABCD
	blockULV2         = 0x220
	blockEVF          = 0x208
	blockEVFV2        = 0x217
	blockEVFV2Large   = 0x222
	currentMajor      = 1
	currentMinor      = 2
	blockHeaderLen    = 8
	blockTrailerLen   = 4
	evtHeaderLen      = 26 // ts 8, tid 8, len 4, type 2, nparams 4
	evtHeaderLenV1    = 22 // without nparams
	maxSmallEventBody = 1 << 16
)

// Limits of what the reader accepts (libscap's, where it has them).
const (
	// MaxBlock is the largest block the reader accepts: a capture with a
	// larger one is reported as corrupt rather than allocated.
	MaxBlock = 256 << 20
	// MaxLargeEvent is the largest event of a large-payload block.
	MaxLargeEvent = 64 << 20
	maxPath       = 1024 // SCAP_MAX_PATH_SIZE
	maxArgs       = 4096 // SCAP_MAX_ARGS_SIZE
	maxEnv        = 4096 // SCAP_MAX_ENV_SIZE
	maxCgroups    = 4096 // SCAP_MAX_CGROUPS_SIZE
	maxCredStr    = 256  // MAX_CREDENTIALS_STR_LEN
)

// Event table flags and categories (ppm_events_public.h).
const (
	efUnused       = 1 << 6
	efOldVersion   = 1 << 9
	efLargePayload = 1 << 11
	ecSyscall      = 1 << 9
	ecTracepoint   = 1 << 10
	ecPlugin       = 1 << 11
	ecMetaevent    = 1 << 12
	ecIter         = 1 << 13
)

// FormatError is a capture that does not follow the format: Offset is
// the byte offset (in the decompressed stream) of the block or field at
// fault.
type FormatError struct {
	Offset int64
	// Block names the block being read ("section header", "process
	// list", "event", ...).
	Block string
	Msg   string
	// Decompressed is true when Offset counts the bytes of a gzip
	// capture once decompressed.
	Decompressed bool
}

func (e *FormatError) Error() string {
	if e.Decompressed {
		return fmt.Sprintf("offset %d (decompressed): %s: %s", e.Offset, e.Block, e.Msg)
	}
	return fmt.Sprintf("offset %d: %s: %s", e.Offset, e.Block, e.Msg)
}

func blockName(t uint32) string {
	switch t {
	case blockSHB:
		return "section header"
	case blockMI, blockMIInt:
		return "machine info"
	case blockPLV1, blockPLV1Int, blockPLV2, blockPLV2Int, blockPLV3, blockPLV3Int,
		blockPLV4, blockPLV5, blockPLV6, blockPLV7, blockPLV8, blockPLV9:
		return "process list"
	case blockFDL, blockFDLInt, blockFDLV2:
		return "fd list"
	case blockEV, blockEVInt, blockEVV2, blockEVV2Large, blockEVF, blockEVFV2, blockEVFV2Large:
		return "event"
	case blockIL, blockILInt, blockILV2:
		return "interface list"
	case blockUL, blockULInt, blockULV2:
		return "user list"
	}
	return fmt.Sprintf("block type %#x", t)
}

// plVersion returns the version (1..9) of a process list block type, 0
// for another type.
func plVersion(t uint32) int {
	switch t {
	case blockPLV1, blockPLV1Int:
		return 1
	case blockPLV2, blockPLV2Int:
		return 2
	case blockPLV3, blockPLV3Int:
		return 3
	case blockPLV4:
		return 4
	case blockPLV5:
		return 5
	case blockPLV6:
		return 6
	case blockPLV7:
		return 7
	case blockPLV8:
		return 8
	case blockPLV9:
		return 9
	}
	return 0
}

func isEventBlock(t uint32) bool {
	switch t {
	case blockEV, blockEVInt, blockEVV2, blockEVV2Large, blockEVF, blockEVFV2, blockEVFV2Large:
		return true
	}
	return false
}

// Event codes the reader and decoder treat specially.
const (
	ppmeNotificationE        = 280
	ppmeInfrastructureEventE = 286
)
