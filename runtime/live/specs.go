package live

import (
	"strings"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/catalog"
)

// src says where a parameter's value comes from in a record.
type src uint8

const (
	srcArg0 src = iota // syscall arguments 0 to 5
	srcArg1
	srcArg2
	srcArg3
	srcArg4
	srcArg5
	srcPath     // the first path item
	srcPath2    // the second path item
	srcExe      // the exe item (a failed execve's filename)
	srcOFlags   // the open item's flags (creat: O_WRONLY|O_CREAT|O_TRUNC)
	srcOMode    // the open item's mode
	srcODirfd   // the open item's dirfd
	srcOResolve // the open item's resolve flags
	srcAddr     // the sockaddr item
	srcTuple    // local address -> sockaddr (connect, sendto, sendmsg)
	srcTupleIn  // sockaddr (the peer) -> local address (accept)
	srcTid      // the header's thread id
	srcPid      // the header's process id
	srcPpid     // the header's parent process id
	srcVtid     // the header's thread id in the task's pid namespace
	srcVpid     // the header's process id in the task's pid namespace
	srcFD1      // the first descriptor of the fd pair item (pipe, socketpair)
	srcFD2      // the second
)

var srcNames = map[string]src{
	"a0": srcArg0, "a1": srcArg1, "a2": srcArg2, "a3": srcArg3, "a4": srcArg4, "a5": srcArg5,
	"path": srcPath, "path2": srcPath2, "exe": srcExe,
	"oflags": srcOFlags, "omode": srcOMode, "odirfd": srcODirfd, "oresolve": srcOResolve,
	"addr": srcAddr, "tuple": srcTuple, "tuple_in": srcTupleIn,
	"tid": srcTid, "pid": srcPid, "ppid": srcPpid, "vtid": srcVtid, "vpid": srcVpid,
	"fd1": srcFD1, "fd2": srcFD2,
}

// specs says, per event, which parameters a syscall record fills and
// from where ("param=source"). The return value parameter ("res" or
// "fd") is always filled from the record's return value. Parameters the
// kernel side does not capture (a pipe's inode, socketpair's socket
// addresses) stay unset.
var specs = map[string][]string{
	"open":         {"name=path", "flags=oflags", "mode=omode"},
	"openat":       {"dirfd=odirfd", "name=path", "flags=oflags", "mode=omode"},
	"openat2":      {"dirfd=odirfd", "name=path", "flags=oflags", "mode=omode", "resolve=oresolve"},
	"creat":        {"name=path", "mode=omode"},
	"close":        {"fd=a0"},
	"close_range":  {"first=a0", "last=a1", "flags=a2"},
	"dup":          {"oldfd=a0"},
	"dup2":         {"oldfd=a0", "newfd=a1"},
	"dup3":         {"oldfd=a0", "newfd=a1", "flags=a2"},
	"fcntl":        {"fd=a0", "cmd=a1", "arg=a2"},
	"chdir":        {"path=path"},
	"fchdir":       {"fd=a0"},
	"socket":       {"domain=a0", "type=a1", "proto=a2"},
	"socketpair":   {"domain=a0", "type=a1", "proto=a2", "fd1=fd1", "fd2=fd2"},
	"connect":      {"fd=a0", "addr=addr", "tuple=tuple"},
	"bind":         {"fd=a0", "addr=addr"},
	"listen":       {"fd=a0", "backlog=a1"},
	"accept":       {"tuple=tuple_in"},
	"accept4":      {"tuple=tuple_in", "flags=a3"},
	"sendto":       {"fd=a0", "size=a2", "tuple=tuple"},
	"sendmsg":      {"fd=a0", "tuple=tuple"},
	"pipe":         {"fd1=fd1", "fd2=fd2"},
	"pipe2":        {"fd1=fd1", "fd2=fd2", "flags=a1"},
	"memfd_create": {"name=path", "flags=a1"},
	"ptrace":       {"request=a0", "pid=a1", "addr=a2", "data=a3"},
	"symlink":      {"target=path", "linkpath=path2"},
	"symlinkat":    {"target=path", "linkdirfd=a1", "linkpath=path2"},
	"link":         {"oldpath=path", "newpath=path2"},
	"linkat":       {"olddir=a0", "oldpath=path", "newdir=a2", "newpath=path2", "flags=a4"},
	"unlink":       {"path=path"},
	"unlinkat":     {"dirfd=a0", "name=path", "flags=a2"},
	"mkdir":        {"path=path", "mode=a1"},
	"mkdirat":      {"dirfd=a0", "path=path", "mode=a2"},
	"rmdir":        {"path=path"},
	"rename":       {"oldpath=path", "newpath=path2"},
	"renameat":     {"olddirfd=a0", "oldpath=path", "newdirfd=a2", "newpath=path2"},
	"renameat2":    {"olddirfd=a0", "oldpath=path", "newdirfd=a2", "newpath=path2", "flags=a4"},
	"chmod":        {"filename=path", "mode=a1"},
	"fchmod":       {"fd=a0", "mode=a1"},
	"fchmodat":     {"dirfd=a0", "filename=path", "mode=a2"},
	"chown":        {"path=path", "uid=a1", "gid=a2"},
	"fchownat":     {"dirfd=a0", "pathname=path", "uid=a2", "gid=a3", "flags=a4"},
	"chroot":       {"path=path"},
	"mknod":        {"path=path", "mode=a1", "dev=a2"},
	"mknodat":      {"dirfd=a0", "path=path", "mode=a2", "dev=a3"},
	"mount":        {"dev=path", "dir=path2", "flags=a3"},
	"umount2":      {"name=path", "flags=a1"},
	"setuid":       {"uid=a0"},
	"setgid":       {"gid=a0"},
	"setresuid":    {"ruid=a0", "euid=a1", "suid=a2"},
	"setreuid":     {"ruid=a0", "euid=a1"},
	"setresgid":    {"rgid=a0", "egid=a1", "sgid=a2"},
	"setregid":     {"rgid=a0", "egid=a1"},
	"prctl":        {"option=a0", "arg2_str=path", "arg2_int=a1"},
	"unshare":      {"flags=a0"},
	"init_module":  {"length=a1"},
	"finit_module": {"fd=a0", "flags=a2"},
	"kill":         {"pid=a0", "sig=a1"},
	"tgkill":       {"pid=a0", "tid=a1", "sig=a2"},
	"execve":       {"filename=exe"},
	// The child's side of a fork (its ids in its own pid namespace: a
	// container's init is 1); the parent's side comes from the fork
	// record.
	"clone":    {"flags=a0", "tid=tid", "pid=pid", "ptid=ppid", "vtid=vtid", "vpid=vpid"},
	"clone3":   {"tid=tid", "pid=pid", "ptid=ppid", "vtid=vtid", "vpid=vpid"},
	"fork":     {"tid=tid", "pid=pid", "ptid=ppid", "vtid=vtid", "vpid=vpid"},
	"vfork":    {"tid=tid", "pid=pid", "ptid=ppid", "vtid=vtid", "vpid=vpid"},
	"execveat": {},
}

// fill is one resolved parameter source.
type fill struct {
	param int
	src   src
	typ   catalog.ParamType
}

// plan is how the records of one syscall become events.
type plan struct {
	info  *catalog.Event
	fills []fill
}

// buildPlans resolves specs against the catalog for every x86_64
// syscall id. Syscalls without specs only get their return value. Names
// that do not resolve are reported in bad (a test keeps it empty).
func buildPlans() (plans [bpf.NumSyscalls]*plan, bad []string) {
	for id := range bpf.NumSyscalls {
		name, ok := catalog.SyscallName(id)
		if !ok {
			continue
		}
		info, ok := catalog.EventByName(name)
		if !ok {
			continue
		}
		p := &plan{info: info}
		for _, s := range specs[name] {
			pn, sn, _ := strings.Cut(s, "=")
			i, ok := info.Param(pn)
			from, known := srcNames[sn]
			if !ok || !known {
				bad = append(bad, name+": "+s)
				continue
			}
			p.fills = append(p.fills, fill{param: i, src: from, typ: info.Params[i].Type})
		}
		plans[id] = p
	}
	for name := range specs {
		if _, ok := catalog.SyscallID(name); !ok {
			bad = append(bad, name+": not an x86_64 syscall")
		}
	}
	return plans, bad
}
