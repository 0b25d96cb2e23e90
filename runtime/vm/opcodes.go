package vm

import "strconv"

// Opcode is a VM instruction. Its argument is the parallel entry of
// [Program.Args]; what it means is given next to each opcode.
type Opcode uint8

// The instructions. "acc" is the boolean accumulator, "reg" the value
// register loaded by [OpLoad] and "reg2" the one loaded by [OpLoad2]. Every
// comparison sets acc to false when reg (or reg2) holds no value.
const (
	OpInvalid Opcode = iota

	// Control flow.
	OpTrue        // acc = true
	OpFalse       // acc = false
	OpNot         // acc = !acc
	OpJumpIfFalse // if !acc: pc += arg
	OpJumpIfTrue  // if acc: pc += arg
	OpReturn      // stop; the result is acc

	// Loads.
	OpLoad  // reg = operand arg (extracted once per event)
	OpLoad2 // reg2 = operand arg

	// Any type.
	OpExists // acc = reg has a value

	// Strings (CHARBUF, FSPATH); arg indexes Consts.Strings unless noted.
	OpEqStr
	OpNeStr
	OpLtStr
	OpLeStr
	OpGtStr
	OpGeStr
	OpContainsStr
	OpIContainsStr // the constant is already lower-cased
	OpStartsWithStr
	OpEndsWithStr
	OpGlob     // arg indexes Consts.Globs
	OpIGlob    // arg indexes Consts.Globs; ASCII case is ignored
	OpRegex    // arg indexes Consts.Regexes
	OpInStrSet // arg indexes Consts.StrSets; a list value matches when some element is in the set
	OpAllInStrSet
	OpPmatch // arg indexes Consts.PrefixTrees

	// Byte buffers (BYTEBUF); arg indexes Consts.Bytes unless noted.
	OpEqBytes
	OpNeBytes
	OpContainsBytes
	OpStartsWithBytes
	OpEndsWithBytes
	OpInBytesSet // arg indexes Consts.StrSets (the bytes as strings)

	// Signed integers; arg indexes Consts.Ints unless noted.
	OpEqInt
	OpNeInt
	OpLtInt
	OpLeInt
	OpGtInt
	OpGeInt
	OpInIntSet // arg indexes Consts.IntSets

	// Unsigned integers (UINT*, PORT, ABSTIME, RELTIME); arg indexes Consts.Uints.
	OpEqUint
	OpNeUint
	OpLtUint
	OpLeUint
	OpGtUint
	OpGeUint
	OpInUintSet // arg indexes Consts.UintSets

	// Doubles; arg indexes Consts.Floats.
	OpEqFloat
	OpNeFloat
	OpLtFloat
	OpLeFloat
	OpGtFloat
	OpGeFloat

	// Booleans; arg is 0 or 1.
	OpEqBool
	OpNeBool

	// IP addresses (IPADDR); arg indexes Consts.Addrs unless noted.
	OpEqAddr
	OpNeAddr
	OpInAddrSet // arg indexes Consts.AddrSets

	// IP networks (IPNET fields, whose value is an address); arg indexes
	// Consts.Nets unless noted.
	OpInNet    // the address is in the network (`=`)
	OpNotInNet // the address is not in the network (`!=`)
	OpInNetSet // arg indexes Consts.NetSets: the address is in one of the networks

	// DYNAMIC fields; arg indexes Consts.Dyns.
	OpCmpDyn

	// Field-to-field; arg is a [CmpOp]: reg op reg2.
	OpCmpRegs

	// Modifiers; arg indexes Consts.Mods: the Mod's comparison applied to
	// reg and each of its constants.
	OpOneOf
	OpAnyOf
	OpAllOf

	// OpAllInUintSet is `in` on a list of unsigned integers (such as
	// ka.req.pod.containers.run_as_user): every element is in the set
	// Consts.UintSets[arg]. (Appended here so the earlier codes keep their
	// values in artifacts.)
	OpAllInUintSet

	OpEnd
)

var opNames = [OpEnd + 1]string{
	OpInvalid: "INVALID", OpTrue: "TRUE", OpFalse: "FALSE", OpNot: "NOT",
	OpJumpIfFalse: "JUMP_IF_FALSE", OpJumpIfTrue: "JUMP_IF_TRUE", OpReturn: "RETURN",
	OpLoad: "LOAD", OpLoad2: "LOAD2", OpExists: "EXISTS",
	OpEqStr: "EQ_STR", OpNeStr: "NE_STR", OpLtStr: "LT_STR", OpLeStr: "LE_STR", OpGtStr: "GT_STR", OpGeStr: "GE_STR",
	OpContainsStr: "CONTAINS_STR", OpIContainsStr: "ICONTAINS_STR", OpStartsWithStr: "STARTSWITH_STR",
	OpEndsWithStr: "ENDSWITH_STR", OpGlob: "GLOB", OpIGlob: "IGLOB", OpRegex: "REGEX",
	OpInStrSet: "IN_STR_SET", OpAllInStrSet: "ALL_IN_STR_SET", OpPmatch: "PMATCH",
	OpEqBytes: "EQ_BYTES", OpNeBytes: "NE_BYTES", OpContainsBytes: "CONTAINS_BYTES",
	OpStartsWithBytes: "STARTSWITH_BYTES", OpEndsWithBytes: "ENDSWITH_BYTES", OpInBytesSet: "IN_BYTES_SET",
	OpEqInt: "EQ_INT", OpNeInt: "NE_INT", OpLtInt: "LT_INT", OpLeInt: "LE_INT", OpGtInt: "GT_INT", OpGeInt: "GE_INT",
	OpInIntSet: "IN_INT_SET",
	OpEqUint:   "EQ_UINT", OpNeUint: "NE_UINT", OpLtUint: "LT_UINT", OpLeUint: "LE_UINT", OpGtUint: "GT_UINT",
	OpGeUint: "GE_UINT", OpInUintSet: "IN_UINT_SET",
	OpEqFloat: "EQ_FLOAT", OpNeFloat: "NE_FLOAT", OpLtFloat: "LT_FLOAT", OpLeFloat: "LE_FLOAT",
	OpGtFloat: "GT_FLOAT", OpGeFloat: "GE_FLOAT",
	OpEqBool: "EQ_BOOL", OpNeBool: "NE_BOOL",
	OpEqAddr: "EQ_ADDR", OpNeAddr: "NE_ADDR", OpInAddrSet: "IN_ADDR_SET",
	OpInNet: "IN_NET", OpNotInNet: "NOT_IN_NET", OpInNetSet: "IN_NET_SET",
	OpCmpDyn: "CMP_DYN", OpCmpRegs: "CMP_REGS",
	OpOneOf: "ONEOF", OpAnyOf: "ANYOF", OpAllOf: "ALLOF",
	OpAllInUintSet: "ALL_IN_UINT_SET",
	OpEnd:          "END",
}

// String returns the opcode's mnemonic, e.g. "EQ_STR".
func (op Opcode) String() string {
	if op > OpEnd {
		return "Opcode(" + strconv.Itoa(int(op)) + ")"
	}
	return opNames[op]
}

// CmpOp is a comparison operator, used where the comparison is chosen at
// run time: field-to-field comparisons ([OpCmpRegs]) and DYNAMIC fields
// ([OpCmpDyn]).
type CmpOp uint8

// Comparison operators.
const (
	CmpInvalid CmpOp = iota
	CmpEq
	CmpNe
	CmpLt
	CmpLe
	CmpGt
	CmpGe
	CmpContains
	CmpIContains
	CmpStartsWith
	CmpEndsWith
	CmpGlob
	CmpIGlob
	cmpEnd
)

var cmpNames = [cmpEnd]string{"invalid", "=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith", "endswith", "glob", "iglob"}

// String returns the operator as written in a condition.
func (c CmpOp) String() string {
	if c >= cmpEnd {
		return "CmpOp(" + strconv.Itoa(int(c)) + ")"
	}
	return cmpNames[c]
}
