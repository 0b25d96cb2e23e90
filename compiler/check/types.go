package check

import (
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// typeName is Falco's name of a field type, used in messages.
func typeName(t catalog.Type) string {
	switch t {
	case catalog.TypeString:
		return "CHARBUF"
	case catalog.TypeBytes:
		return "BYTEBUF"
	case catalog.TypeInt8:
		return "INT8"
	case catalog.TypeInt16:
		return "INT16"
	case catalog.TypeInt32:
		return "INT32"
	case catalog.TypeInt64:
		return "INT64"
	case catalog.TypeUint8:
		return "UINT8"
	case catalog.TypeUint16:
		return "UINT16"
	case catalog.TypeUint32:
		return "UINT32"
	case catalog.TypeUint64:
		return "UINT64"
	case catalog.TypeBool:
		return "BOOL"
	case catalog.TypeIPAddr:
		return "IPADDR"
	case catalog.TypeIPNet:
		return "IPNET"
	case catalog.TypePort:
		return "PORT"
	case catalog.TypeAbsTime:
		return "ABSTIME"
	case catalog.TypeRelTime:
		return "RELTIME"
	case catalog.TypeFSPath:
		return "FSPATH"
	case catalog.TypeDyn:
		return "DYNAMIC"
	case catalog.TypeDouble:
		return "DOUBLE"
	}
	return "INVALID"
}

// typeClass groups types by the operators they accept (flt_is_comparable).
type typeClass uint8

const (
	classInvalid typeClass = iota
	classNumeric
	classBool
	classString
	classBuffer
	classIPAddr
	classIPNet
	classDyn
)

func classOf(t catalog.Type) typeClass {
	switch t {
	case catalog.TypeInt8, catalog.TypeInt16, catalog.TypeInt32, catalog.TypeInt64,
		catalog.TypeUint8, catalog.TypeUint16, catalog.TypeUint32, catalog.TypeUint64,
		catalog.TypePort, catalog.TypeAbsTime, catalog.TypeRelTime, catalog.TypeDouble:
		return classNumeric
	case catalog.TypeBool:
		return classBool
	case catalog.TypeString, catalog.TypeFSPath:
		return classString
	case catalog.TypeBytes:
		return classBuffer
	case catalog.TypeIPAddr:
		return classIPAddr
	case catalog.TypeIPNet:
		return classIPNet
	case catalog.TypeDyn:
		return classDyn
	}
	return classInvalid
}

// classWord is the word used in "'op' operator not supported for X filters".
func (c typeClass) word() string {
	switch c {
	case classNumeric:
		return "numeric"
	case classBool:
		return "boolean"
	case classString:
		return "string"
	case classBuffer:
		return "buffer"
	case classIPAddr:
		return "ip address"
	case classIPNet:
		return "ip network"
	}
	return "invalid"
}

func isString(t catalog.Type) bool { return classOf(t) == classString }

// opAllowed reports whether op applies to values of class c, following
// the operator table of the language reference (§1.3).
func opAllowed(op syntax.Op, c typeClass) bool {
	switch op {
	case syntax.OpExists, syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpIn, syntax.OpIntersects:
		return true
	}
	switch c {
	case classDyn:
		return true
	case classNumeric:
		switch op {
		case syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe:
			return true
		}
	case classString:
		switch op {
		case syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe,
			syntax.OpContains, syntax.OpIContains, syntax.OpStartsWith, syntax.OpEndsWith,
			syntax.OpGlob, syntax.OpIGlob, syntax.OpRegex, syntax.OpPmatch:
			return true
		}
	case classBuffer:
		switch op {
		case syntax.OpContains, syntax.OpBContains, syntax.OpStartsWith, syntax.OpBStartsWith, syntax.OpEndsWith:
			return true
		}
	}
	return false
}

// knownOp reports whether op is one of the language's operators.
func knownOp(op syntax.Op) bool {
	switch op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpLt, syntax.OpLe, syntax.OpGt, syntax.OpGe,
		syntax.OpContains, syntax.OpIContains, syntax.OpBContains, syntax.OpStartsWith,
		syntax.OpBStartsWith, syntax.OpEndsWith, syntax.OpGlob, syntax.OpIGlob, syntax.OpRegex,
		syntax.OpIn, syntax.OpIntersects, syntax.OpPmatch, syntax.OpExists:
		return true
	}
	return false
}

// listOp reports whether op takes a list of values on its right.
func listOp(op syntax.Op) bool {
	return op == syntax.OpIn || op == syntax.OpIntersects || op == syntax.OpPmatch
}

// modifiable reports whether op accepts oneof/anyof/allof (§1.4).
func modifiable(op syntax.Op) bool {
	switch op {
	case syntax.OpEq, syntax.OpEqEq, syntax.OpNe, syntax.OpContains, syntax.OpIContains,
		syntax.OpBContains, syntax.OpStartsWith, syntax.OpBStartsWith, syntax.OpEndsWith,
		syntax.OpGlob, syntax.OpIGlob, syntax.OpRegex:
		return true
	}
	return false
}

// comparable reports whether a field of type r may be the right-hand side
// of a comparison whose left side has type l.
func comparableTypes(l, r catalog.Type) bool {
	if l == r || l == catalog.TypeDyn || r == catalog.TypeDyn {
		return true
	}
	cl, cr := classOf(l), classOf(r)
	switch cl {
	case classNumeric, classString:
		return cl == cr
	case classIPAddr, classIPNet:
		return cr == classIPAddr || cr == classIPNet
	}
	return false
}
