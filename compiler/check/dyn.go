package check

import "github.com/falcoc/falcoc/compiler/catalog"

// paramFieldType maps an event parameter type to the field type its raw
// value has (evt.rawarg). Types without a scalar rendering map to
// TypeDyn, which accepts every operator and keeps values as text.
func paramFieldType(t catalog.ParamType) catalog.Type {
	switch t {
	case catalog.ParamInt8:
		return catalog.TypeInt8
	case catalog.ParamInt16:
		return catalog.TypeInt16
	case catalog.ParamInt32:
		return catalog.TypeInt32
	case catalog.ParamInt64, catalog.ParamErrno, catalog.ParamFD, catalog.ParamPID:
		return catalog.TypeInt64
	case catalog.ParamUint8, catalog.ParamFlags8, catalog.ParamEnumFlags8, catalog.ParamSigType,
		catalog.ParamL4Proto, catalog.ParamSockFamily:
		return catalog.TypeUint8
	case catalog.ParamUint16, catalog.ParamFlags16, catalog.ParamEnumFlags16, catalog.ParamSyscallID:
		return catalog.TypeUint16
	case catalog.ParamUint32, catalog.ParamFlags32, catalog.ParamEnumFlags32, catalog.ParamUID,
		catalog.ParamGID, catalog.ParamMode, catalog.ParamSigSet:
		return catalog.TypeUint32
	case catalog.ParamUint64:
		return catalog.TypeUint64
	case catalog.ParamCharBuf:
		return catalog.TypeString
	case catalog.ParamFSPath, catalog.ParamFSRelPath:
		return catalog.TypeFSPath
	case catalog.ParamByteBuf:
		return catalog.TypeBytes
	case catalog.ParamRelTime:
		return catalog.TypeRelTime
	case catalog.ParamAbsTime:
		return catalog.TypeAbsTime
	case catalog.ParamBool:
		return catalog.TypeBool
	case catalog.ParamDouble:
		return catalog.TypeDouble
	case catalog.ParamPort:
		return catalog.TypePort
	case catalog.ParamIPv4Addr, catalog.ParamIPv6Addr, catalog.ParamIPAddr:
		return catalog.TypeIPAddr
	case catalog.ParamIPv4Net, catalog.ParamIPv6Net, catalog.ParamIPNet:
		return catalog.TypeIPNet
	}
	return catalog.TypeDyn
}

// dynType resolves the type of a DYNAMIC field from its argument: for
// evt.rawarg.NAME, the type of the first event parameter called NAME in
// the event table. It returns TypeDyn when the argument names no
// parameter or is an index.
func dynType(op *Operand) catalog.Type {
	if !op.HasArg || op.Index >= 0 {
		return catalog.TypeDyn
	}
	for _, e := range catalog.Events() {
		if i, ok := e.Param(op.Arg); ok {
			return paramFieldType(e.Params[i].Type)
		}
	}
	return catalog.TypeDyn
}
