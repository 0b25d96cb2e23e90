package catalog

import "strings"

var typeNames = [typeEnd]string{
	TypeInvalid: "INVALID",
	TypeString:  "CHARBUF",
	TypeBytes:   "BYTEBUF",
	TypeInt8:    "INT8",
	TypeInt16:   "INT16",
	TypeInt32:   "INT32",
	TypeInt64:   "INT64",
	TypeUint8:   "UINT8",
	TypeUint16:  "UINT16",
	TypeUint32:  "UINT32",
	TypeUint64:  "UINT64",
	TypeBool:    "BOOL",
	TypeIPAddr:  "IPADDR",
	TypeIPNet:   "IPNET",
	TypePort:    "PORT",
	TypeAbsTime: "ABSTIME",
	TypeRelTime: "RELTIME",
	TypeFSPath:  "FSPATH",
	TypeDyn:     "DYNAMIC",
	TypeDouble:  "DOUBLE",
}

// String returns Falco's name for the type, such as "CHARBUF", "UINT32" or
// "IPNET".
func (t Type) String() string {
	if t >= typeEnd {
		return "INVALID"
	}
	return typeNames[t]
}

// TypeByName returns the type Falco calls name (e.g. "CHARBUF").
func TypeByName(name string) (Type, bool) {
	for t := TypeInvalid + 1; t < typeEnd; t++ {
		if typeNames[t] == name {
			return t, true
		}
	}
	return TypeInvalid, false
}

// IsNumeric reports whether values of t are numbers: the integer types,
// PORT, ABSTIME, RELTIME and DOUBLE. BOOL is not numeric.
func (t Type) IsNumeric() bool {
	switch t {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64,
		TypeUint8, TypeUint16, TypeUint32, TypeUint64,
		TypePort, TypeAbsTime, TypeRelTime, TypeDouble:
		return true
	}
	return false
}

// IsString reports whether values of t are text (CHARBUF or FSPATH).
func (t Type) IsString() bool { return t == TypeString || t == TypeFSPath }

var argKindNames = [...]string{
	ArgNone:               "none",
	ArgIndexOptional:      "index (optional)",
	ArgIndexRequired:      "index (required)",
	ArgKeyOptional:        "key (optional)",
	ArgKeyRequired:        "key (required)",
	ArgIndexOrKeyRequired: "index or key (required)",
	ArgIndexOrKeyOptional: "index or key (optional)",
}

// String describes the argument kind, e.g. "key (required)".
func (a ArgKind) String() string {
	if int(a) >= len(argKindNames) {
		return "invalid"
	}
	return argKindNames[a]
}

// Allowed reports whether a field of this kind may take an argument.
func (a ArgKind) Allowed() bool { return a != ArgNone }

// Required reports whether a field of this kind must take an argument.
func (a ArgKind) Required() bool {
	return a == ArgIndexRequired || a == ArgKeyRequired || a == ArgIndexOrKeyRequired
}

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagList, "list"},
	{FlagNoRHS, "no_rhs"},
	{FlagNoTransformer, "no_transformer"},
	{FlagFilterOnly, "filter_only"},
	{FlagPrintOnly, "print_only"},
	{FlagDeprecated, "deprecated"},
	{FlagHidden, "hidden"},
	{FlagDotArg, "dot_arg"},
}

// Names returns the names of the flags that are set, in a fixed order
// (e.g. ["list", "dot_arg"]).
func (f Flags) Names() []string {
	var names []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			names = append(names, n.name)
		}
	}
	return names
}

// String joins [Flags.Names] with "|"; it is "" when no flag is set.
func (f Flags) String() string { return strings.Join(f.Names(), "|") }

// String returns the field's name.
func (f *Field) String() string {
	if f == nil {
		return "<nil>"
	}
	return f.Name
}
