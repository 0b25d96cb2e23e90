package catalog

import "strconv"

// ptraceRequests are the Linux (x86_64) values of the ptrace requests the
// ptrace event's request parameter names. PTRACE_UNKNOWN has no Linux
// value and is absent. The runtime keeps its own copy of these values (in
// runtime/event, which the compiler must not import); a test there checks
// that both agree for every name.
var ptraceRequests = map[string]uint64{
	"PTRACE_TRACEME": 0, "PTRACE_PEEKTEXT": 1, "PTRACE_PEEKDATA": 2, "PTRACE_PEEKUSR": 3,
	"PTRACE_POKETEXT": 4, "PTRACE_POKEDATA": 5, "PTRACE_POKEUSR": 6, "PTRACE_CONT": 7,
	"PTRACE_KILL": 8, "PTRACE_SINGLESTEP": 9, "PTRACE_GETREGS": 12, "PTRACE_SETREGS": 13,
	"PTRACE_GETFPREGS": 14, "PTRACE_SETFPREGS": 15, "PTRACE_ATTACH": 16, "PTRACE_DETACH": 17,
	"PTRACE_GETFPXREGS": 18, "PTRACE_SETFPXREGS": 19, "PTRACE_OLDSETOPTIONS": 21,
	"PTRACE_SYSCALL": 24, "PTRACE_GET_THREAD_AREA": 25, "PTRACE_SET_THREAD_AREA": 26,
	"PTRACE_ARCH_PRCTL": 30, "PTRACE_SYSEMU": 31, "PTRACE_SYSEMU_SINGLESTEP": 32,
	"PTRACE_SINGLEBLOCK": 33, "PTRACE_SETOPTIONS": 0x4200, "PTRACE_GETEVENTMSG": 0x4201,
	"PTRACE_GETSIGINFO": 0x4202, "PTRACE_SETSIGINFO": 0x4203, "PTRACE_GETREGSET": 0x4204,
	"PTRACE_SETREGSET": 0x4205, "PTRACE_SEIZE": 0x4206, "PTRACE_INTERRUPT": 0x4207,
	"PTRACE_LISTEN": 0x4208, "PTRACE_PEEKSIGINFO": 0x4209, "PTRACE_GETSIGMASK": 0x420a,
	"PTRACE_SETSIGMASK": 0x420b,
}

// PtraceRequestValue returns the Linux value of a ptrace request name
// ("PTRACE_ATTACH" is 16); false for a name without one.
func PtraceRequestValue(name string) (uint64, bool) {
	v, ok := ptraceRequests[name]
	return v, ok
}

// PtraceRequestNames lists the request names of the ptrace event, in the
// event table's order (the order in which a value's name is looked up).
func PtraceRequestNames() []string {
	ev, ok := EventByName("ptrace")
	if !ok {
		return nil
	}
	i, ok := ev.Param("request")
	if !ok {
		return nil
	}
	return ev.Params[i].Flags
}

// PtraceRequestText returns evt.arg.request for request value v as the
// runtime renders it: the first name in the event table's order whose
// value is v, or the decimal number when no name has that value.
func PtraceRequestText(v uint64) string {
	for _, n := range PtraceRequestNames() {
		if x, ok := ptraceRequests[n]; ok && x == v {
			return n
		}
	}
	return strconv.FormatUint(v, 10)
}
