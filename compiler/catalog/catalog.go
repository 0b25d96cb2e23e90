// Package catalog is the single source of truth for the fields of the
// condition language and for the event table: names, types, argument kinds,
// classes, descriptions, and which events provide each field.
//
// The checker types conditions against it, the runtime has one extractor per
// entry, and `falcoc fields` prints it. Everything here is immutable and safe
// for concurrent use.
package catalog

// Type is the type of a field's value, named after Falco's parameter types.
type Type uint8

// Field types.
const (
	TypeInvalid Type = iota
	TypeString       // CHARBUF
	TypeBytes        // BYTEBUF
	TypeInt8
	TypeInt16
	TypeInt32
	TypeInt64
	TypeUint8
	TypeUint16
	TypeUint32
	TypeUint64
	TypeBool
	TypeIPAddr  // IPADDR
	TypeIPNet   // IPNET
	TypePort    // PORT (uint16)
	TypeAbsTime // ABSTIME (ns since epoch)
	TypeRelTime // RELTIME (ns)
	TypeFSPath  // FSPATH (a string)
	TypeDyn     // DYNAMIC: the type depends on the argument
	TypeDouble
	typeEnd
)

// ArgKind says whether and how a field takes an argument.
type ArgKind uint8

// Argument kinds.
const (
	ArgNone          ArgKind = iota
	ArgIndexOptional         // proc.aname, proc.aname[2]
	ArgIndexRequired
	ArgKeyOptional        // proc.env, proc.env[HOME]
	ArgKeyRequired        // evt.arg.flags, evt.arg[flags], container.label[x]
	ArgIndexOrKeyRequired // evt.arg[0] or evt.arg.name
	ArgIndexOrKeyOptional // proc.aenv, proc.aenv[2], proc.aenv[HOME]
)

// Flags are properties of a field.
type Flags uint16

// Field flags.
const (
	FlagList          Flags = 1 << iota // the value is a list: only in, intersects, exists
	FlagNoRHS                           // may not be used as val() on the right-hand side
	FlagNoTransformer                   // may not be wrapped in a transformer
	FlagFilterOnly                      // only in conditions, not in outputs
	FlagPrintOnly                       // only in outputs, not in conditions
	FlagDeprecated                      // Falco warns when a rule uses it
	FlagHidden                          // not listed by `falcoc fields`
	FlagDotArg                          // the argument may also be written after a dot: evt.arg.flags
)

// Field describes one field of the condition language.
type Field struct {
	Name  string // e.g. "proc.aname"
	Type  Type
	Arg   ArgKind
	Flags Flags
	Class string // e.g. "process", "fd", "evt", "container"
	// Source is the event source the field belongs to: "syscall" or "k8s_audit".
	Source string
	Desc   string
}
