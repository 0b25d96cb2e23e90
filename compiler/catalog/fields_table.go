package catalog

// fieldTable lists every field. (Seed entries; the full table is being written.)
var fieldTable = []Field{
	{Name: "evt.type", Type: TypeString, Class: "evt", Source: "syscall", Desc: "name of the event (syscall)"},
	{Name: "evt.arg", Type: TypeString, Arg: ArgIndexOrKeyRequired, Flags: FlagDotArg, Class: "evt", Source: "syscall", Desc: "one event argument, by name or index, rendered as text"},
	{Name: "proc.name", Type: TypeString, Class: "process", Source: "syscall", Desc: "name of the executable"},
	{Name: "proc.aname", Type: TypeString, Arg: ArgIndexOptional, Flags: FlagNoRHS | FlagNoTransformer, Class: "process", Source: "syscall", Desc: "name of an ancestor"},
	{Name: "fd.name", Type: TypeString, Class: "fd", Source: "syscall", Desc: "full name of the file descriptor"},
	{Name: "user.uid", Type: TypeUint32, Class: "user", Source: "syscall", Desc: "user id"},
	{Name: "fd.sport", Type: TypePort, Class: "fd", Source: "syscall", Desc: "server port"},
	{Name: "fd.net", Type: TypeIPNet, Class: "fd", Source: "syscall", Desc: "ip network"},
}
