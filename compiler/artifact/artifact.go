// Package artifact reads and writes .fbc files: the compiled form of a
// rule set that falco-run loads.
//
// A file is a fixed header followed by a body:
//
//	offset  size  field
//	0       4     magic "FBC1"
//	4       2     format version, little endian (FormatVersion)
//	6       2     reserved, zero
//	8       8     body length in bytes, little endian
//	16      32    SHA-256 of the body
//	48      ...   body
//
// The body is the length of the raw encoding (an unsigned varint), then
// the raw encoding compressed with DEFLATE (RFC 1951). The raw encoding
// is a sequence of sections in a fixed order, each built from
// unsigned varints (lengths, counts, indices), signed varints, and
// length-prefixed byte strings (encoding/binary varints):
//
//	versions   compiler version, engine version
//	fields     the field table
//	operands   the operand table (fields and transformers)
//	constants  strings, bytes, numbers, addresses, networks, sets, globs,
//	           regexes, prefix trees, dynamic comparisons, modifiers
//	rules      per rule: name, desc, priority, source, tags, enabled,
//	           output and its template, condition as written, compiled
//	           condition, event types, bytecode with locations, file
//	           and line of the definition
//	syscalls   the syscall names the rules need
//	plan       the kernel prefilter plan (see plan.go), or its absence
//
// Writing is deterministic: the same [Artifact] gives the same bytes.
// Reading checks the magic, the format and engine versions, the length
// and the checksum, bounds-checks every count and length, and validates
// every program, so that no input makes it panic.
package artifact

import (
	"errors"

	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Magic starts every .fbc file.
const Magic = "FBC1"

// FormatVersion is the version of the encoding this package writes and
// reads.
const FormatVersion = 7

// EngineVersion is the Falco engine version whose semantics the artifact's
// programs follow (Falco 0.44); an artifact built for another engine
// version is refused.
const EngineVersion = "0.62.0"

// HeaderSize is the size of the fixed header.
const HeaderSize = 48

// Errors returned (wrapped, with context) by [Read].
var (
	ErrMagic     = errors.New("not a falcoc artifact (bad magic)")
	ErrVersion   = errors.New("unsupported artifact version")
	ErrTruncated = errors.New("truncated artifact")
	ErrChecksum  = errors.New("artifact checksum mismatch")
	// ErrMalformed is returned for a body that passes the checksum but
	// does not decode (a hostile or buggy writer).
	ErrMalformed = errors.New("malformed artifact")
)

// Artifact is a compiled rule set. Every rule's Program shares Consts.
// An Artifact returned by [Read] is validated and its pool prepared; it
// must not be modified and is then safe for concurrent reads.
type Artifact struct {
	// CompilerVersion is the version of falcoc that wrote the artifact.
	CompilerVersion string
	// EngineVersion is the Falco engine version (see [EngineVersion]).
	EngineVersion string
	Rules         []Rule
	Consts        *vm.Consts
	// Syscalls are the names of the syscalls the rules can match, sorted.
	Syscalls []string
	// Plan is the kernel prefilter: the clauses per rule and the tables
	// the eBPF program consults; nil when the artifact has none.
	Plan *plan.Plan
}

// Rule is one compiled rule.
type Rule struct {
	Name string
	Desc string
	// Priority is the rule's priority, numbered as compiler/rules does:
	// 0 Emergency, 1 Alert, 2 Critical, 3 Error, 4 Warning, 5 Notice,
	// 6 Informational, 7 Debug.
	Priority int
	Source   string
	Tags     []string
	Enabled  bool
	// Output is the output format; Template its compiled form.
	Output   string
	Template vm.Template
	// Condition is the condition as written; Compiled the canonical text
	// of what was compiled (lists, macros and exceptions expanded,
	// constants folded).
	Condition string
	Compiled  string
	// EventTypes are the evt.type values the rule can match, sorted; nil
	// means every event type.
	EventTypes []string
	Program    *vm.Program
	// File and Line locate the rule's definition (Line is 1-based, 0 when
	// unknown). The instruction locations of Program are positions in the
	// condition texts the rules loader parsed, identified by their origin.
	File string
	Line int
}
