package vm

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Kind says which member of a [Value] holds the value.
type Kind uint8

// Value kinds.
const (
	// KindNone is the zero Kind: no value.
	KindNone Kind = iota
	// KindString is text (CHARBUF, FSPATH): Value.S.
	KindString
	// KindBytes is a byte buffer (BYTEBUF): Value.B.
	KindBytes
	// KindInt is a signed integer (INT8..INT64): Value.I.
	KindInt
	// KindUint is an unsigned integer (UINT8..UINT64, PORT, ABSTIME, RELTIME,
	// u32 ids): Value.U.
	KindUint
	// KindBool is a boolean: Value.U is 1 for true and 0 for false.
	KindBool
	// KindAddr is an IP address (IPADDR, and the address of an IPNET field):
	// Value.A.
	KindAddr
	// KindList is a list of strings (list fields such as proc.args with no
	// argument, fd.types): Value.L.
	KindList
	// KindDouble is a floating point number (DOUBLE), stored with
	// math.Float64bits in Value.U.
	KindDouble
	kindEnd
)

var kindNames = [kindEnd]string{"none", "string", "bytes", "int", "uint", "bool", "addr", "list", "double"}

// String returns the kind's name: "string", "uint", ...
func (k Kind) String() string {
	if k >= kindEnd {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Value is a typed field value. Only the member selected by Kind is
// meaningful. Values handed to the VM by an [Env] are borrowed: the VM reads
// them while evaluating the current event and keeps no reference after the
// next [VM.BeginEvent]; an Env may therefore point S, B and L at its own
// reusable buffers.
type Value struct {
	Kind Kind
	S    string
	B    []byte
	I    int64
	U    uint64
	A    netip.Addr
	L    []string
}

// Bool returns the value of a KindBool value.
func (v *Value) Bool() bool { return v.U != 0 }

// SetBool makes v the boolean b.
func (v *Value) SetBool(b bool) {
	*v = Value{Kind: KindBool}
	if b {
		v.U = 1
	}
}

// String renders the value for diagnostics and tests.
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return strconv.Quote(v.S)
	case KindBytes:
		return fmt.Sprintf("%q", v.B)
	case KindInt:
		return strconv.FormatInt(v.I, 10)
	case KindUint:
		return strconv.FormatUint(v.U, 10)
	case KindBool:
		return strconv.FormatBool(v.U != 0)
	case KindAddr:
		return v.A.String()
	case KindList:
		return fmt.Sprintf("%q", v.L)
	case KindDouble:
		return fmt.Sprintf("double(%#x)", v.U)
	}
	return "<none>"
}

// Env supplies the field values of the event being evaluated. The VM calls
// Extract at most once per field per event (see [VM.BeginEvent]).
//
// id indexes Program.Fields, the artifact's table of distinct base field
// references (a catalog field name plus its argument). Extract fills v and
// returns true, or returns false when the field has no value for this
// event; as in Falco every comparison on a missing field is then false,
// `!=` and `exists` included.
//
// The VM passes the same *Value for the same id until the next event; the
// Env may reuse v.B and v.L's backing arrays (v[:0]) to avoid allocating.
type Env interface {
	Extract(id int, v *Value) bool
}

// FieldRef is one entry of the field table: a base catalog field and its
// argument. Transformers are not part of a FieldRef: the VM applies them on
// top of base values.
type FieldRef struct {
	// Name is the catalog field name, without the argument: "proc.aname",
	// "evt.arg".
	Name string
	// Arg is the argument as written (`proc.aname[2]` → "2",
	// `evt.arg.flags` → "flags"); meaningful when HasArg is true.
	Arg    string
	HasArg bool
	// Index is Arg parsed as a non-negative integer for fields taking an
	// index, -1 otherwise.
	Index int
}

// String renders the reference as it is written in a condition:
// "proc.name", "proc.aname[2]".
func (f FieldRef) String() string {
	if !f.HasArg {
		return f.Name
	}
	return f.Name + "[" + f.Arg + "]"
}
