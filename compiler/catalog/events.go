package catalog

//go:generate go run ./internal/gen -out .

// ParamType is the type of an event parameter, named after Falco's
// parameter types (PT_*).
type ParamType uint8

// Event parameter types.
const (
	ParamInvalid          ParamType = iota
	ParamInt8                       // INT8
	ParamInt16                      // INT16
	ParamInt32                      // INT32
	ParamInt64                      // INT64
	ParamUint8                      // UINT8
	ParamUint16                     // UINT16
	ParamUint32                     // UINT32
	ParamUint64                     // UINT64
	ParamCharBuf                    // CHARBUF: a NUL-terminated string
	ParamByteBuf                    // BYTEBUF: a binary buffer
	ParamErrno                      // ERRNO: a return value, negative errno on failure
	ParamSockAddr                   // SOCKADDR: a socket address
	ParamSockTuple                  // SOCKTUPLE: both ends of a connection
	ParamFD                         // FD: a file descriptor number
	ParamPID                        // PID: a process or thread id
	ParamFDList                     // FDLIST: a list of file descriptors (poll)
	ParamFSPath                     // FSPATH: a path, absolute or relative to the cwd
	ParamFSRelPath                  // FSRELPATH: a path relative to a directory fd
	ParamSyscallID                  // SYSCALLID: a syscall id (generic events)
	ParamSigType                    // SIGTYPE: a signal number
	ParamSigSet                     // SIGSET: a signal mask
	ParamRelTime                    // RELTIME: a duration in ns
	ParamAbsTime                    // ABSTIME: ns since the epoch
	ParamDynamic                    // DYNAMIC: the type depends on another parameter
	ParamFlags8                     // FLAGS8: a bit set with named bits
	ParamFlags16                    // FLAGS16
	ParamFlags32                    // FLAGS32
	ParamEnumFlags8                 // ENUMFLAGS8: one of a set of named values
	ParamEnumFlags16                // ENUMFLAGS16
	ParamEnumFlags32                // ENUMFLAGS32
	ParamUID                        // UID: a user id
	ParamGID                        // GID: a group id
	ParamMode                       // MODE: file mode bits
	ParamBool                       // BOOL
	ParamDouble                     // DOUBLE
	ParamPort                       // PORT
	ParamIPv4Addr                   // IPV4ADDR
	ParamIPv6Addr                   // IPV6ADDR
	ParamIPAddr                     // IPADDR
	ParamIPv4Net                    // IPV4NET
	ParamIPv6Net                    // IPV6NET
	ParamIPNet                      // IPNET
	ParamL4Proto                    // L4PROTO
	ParamSockFamily                 // SOCKFAMILY
	ParamCharBufArray               // CHARBUFARRAY
	ParamCharBufPairArray           // CHARBUF_PAIR_ARRAY
	paramEnd
)

var paramTypeNames = [paramEnd]string{
	ParamInvalid: "INVALID", ParamInt8: "INT8", ParamInt16: "INT16", ParamInt32: "INT32",
	ParamInt64: "INT64", ParamUint8: "UINT8", ParamUint16: "UINT16", ParamUint32: "UINT32",
	ParamUint64: "UINT64", ParamCharBuf: "CHARBUF", ParamByteBuf: "BYTEBUF", ParamErrno: "ERRNO",
	ParamSockAddr: "SOCKADDR", ParamSockTuple: "SOCKTUPLE", ParamFD: "FD", ParamPID: "PID",
	ParamFDList: "FDLIST", ParamFSPath: "FSPATH", ParamFSRelPath: "FSRELPATH",
	ParamSyscallID: "SYSCALLID", ParamSigType: "SIGTYPE", ParamSigSet: "SIGSET",
	ParamRelTime: "RELTIME", ParamAbsTime: "ABSTIME", ParamDynamic: "DYNAMIC",
	ParamFlags8: "FLAGS8", ParamFlags16: "FLAGS16", ParamFlags32: "FLAGS32",
	ParamEnumFlags8: "ENUMFLAGS8", ParamEnumFlags16: "ENUMFLAGS16", ParamEnumFlags32: "ENUMFLAGS32",
	ParamUID: "UID", ParamGID: "GID", ParamMode: "MODE", ParamBool: "BOOL", ParamDouble: "DOUBLE",
	ParamPort: "PORT", ParamIPv4Addr: "IPV4ADDR", ParamIPv6Addr: "IPV6ADDR", ParamIPAddr: "IPADDR",
	ParamIPv4Net: "IPV4NET", ParamIPv6Net: "IPV6NET", ParamIPNet: "IPNET", ParamL4Proto: "L4PROTO",
	ParamSockFamily: "SOCKFAMILY", ParamCharBufArray: "CHARBUFARRAY",
	ParamCharBufPairArray: "CHARBUF_PAIR_ARRAY",
}

// String returns Falco's name for the type, such as "FD" or "FLAGS32".
func (t ParamType) String() string {
	if t >= paramEnd {
		return "INVALID"
	}
	return paramTypeNames[t]
}

// Valid reports whether t is one of the defined parameter types.
func (t ParamType) Valid() bool { return t > ParamInvalid && t < paramEnd }

// IsFlags reports whether values of t are bit sets or enumerations with
// named values (FLAGS*, ENUMFLAGS*, MODE).
func (t ParamType) IsFlags() bool {
	switch t {
	case ParamFlags8, ParamFlags16, ParamFlags32, ParamEnumFlags8, ParamEnumFlags16, ParamEnumFlags32, ParamMode:
		return true
	}
	return false
}

// Param is one parameter of an event.
type Param struct {
	Name string // as written after evt.arg., e.g. "flags"
	Type ParamType
	// Flags are the names of the values of a FLAGS* or ENUMFLAGS*
	// parameter, as Falco renders them (e.g. "O_RDWR"). Shared between
	// events: do not modify.
	Flags []string
}

// Event describes one event type: a syscall, a tracepoint or a
// metaevent. Events are immutable and safe for concurrent use.
type Event struct {
	Name string // the evt.type value, e.g. "openat" or "procexit"
	// Category is our classification of the event: "file", "net", "IPC",
	// "memory", "process", "sleep", "system", "signal", "user", "time",
	// "wait", "io_read", "io_write", "io_other", "scheduler", "plugin",
	// "internal" or "other". Generic syscall events are "other".
	Category string
	// Params are the parameters of the exit event, which since Falco 0.42
	// also carries the parameters of the enter event. For events that
	// only exist in one direction (tracepoints, metaevents) they are that
	// event's parameters.
	Params []Param
	// Syscall is true for syscall events and false for tracepoint,
	// plugin and metaevents.
	Syscall bool
	// Default is true when Falco captures the event by default; I/O
	// events such as read and write are not.
	Default bool
	// ID is the event's dense index, 1 to NumEvents, for tables indexed
	// by event type on the per-event path; 0 for an Event that is not
	// the catalog's (a test's own).
	ID int
}

// Param returns the position of the parameter called name.
func (e *Event) Param(name string) (int, bool) {
	if e == nil {
		return 0, false
	}
	for i := range e.Params {
		if e.Params[i].Name == name {
			return i, true
		}
	}
	return 0, false
}

// EventByName returns the event whose evt.type is name.
func EventByName(name string) (*Event, bool) {
	e, ok := eventByName[name]
	return e, ok
}

// Events returns every event in a stable order (that of Falco's event
// reference: syscalls, then tracepoints, plugin events and metaevents).
// The slice must not be modified.
func Events() []*Event { return eventList }

// NumEvents is the number of catalog events: IDs run from 1 to it.
func NumEvents() int { return len(eventList) }

var eventList, eventByName = indexEvents(eventTable)

func indexEvents(t []Event) ([]*Event, map[string]*Event) {
	l := make([]*Event, len(t))
	m := make(map[string]*Event, len(t))
	for i := range t {
		t[i].ID = i + 1
		l[i] = &t[i]
		m[t[i].Name] = &t[i]
	}
	return l, m
}
