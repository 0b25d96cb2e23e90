package extract

import "testing"

// More state updates, checked through the fields rules read.
const opsTrace = `{"ts": 1, "type": "socket", "tid": 10, "res": 3, "args": {"domain": "AF_INET6", "type": 1, "proto": 6}, "proc": {"comm": "srv", "exe": "/srv", "cwd": "/", "uid": 0, "gid": 0, "ppid": 1}}
{"ts": 2, "type": "bind", "tid": 10, "res": 0, "args": {"fd": 3, "addr": "[::]:8080"}}
{"ts": 3, "type": "listen", "tid": 10, "res": 0, "args": {"fd": 3, "backlog": 5}}
{"ts": 4, "type": "accept4", "tid": 10, "res": 4, "args": {"tuple": "[2001:db8::1]:51000->[2001:db8::2]:8080", "flags": 0}}
{"ts": 5, "type": "clone", "tid": 10, "res": 11, "args": {"flags": "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"}}
{"ts": 6, "type": "fcntl", "tid": 11, "res": 9, "args": {"fd": 4, "cmd": "F_DUPFD_CLOEXEC", "arg": 9}}
{"ts": 7, "type": "pipe2", "tid": 10, "res": 0, "args": {"fd1": 5, "fd2": 6, "ino": 777, "flags": 0}}
{"ts": 8, "type": "memfd_create", "tid": 10, "res": 7, "args": {"name": "payload", "flags": "MFD_CLOEXEC"}}
{"ts": 9, "type": "prctl", "tid": 11, "res": 0, "args": {"option": "PR_SET_NAME", "arg2_str": "worker"}}
{"ts": 10, "type": "setuid", "tid": 10, "res": 0, "args": {"uid": 1000}}
{"ts": 11, "type": "close_range", "tid": 10, "res": 0, "args": {"first": 5, "last": 6, "flags": 0}}
{"ts": 12, "type": "read", "tid": 10, "args": {"res": 0, "fd": 5, "size": 10}}
{"ts": 13, "type": "execve", "tid": 10, "res": 0, "args": {"exe": "/memfd:payload", "filename": "/proc/self/fd/7", "trusted_exepath": "/memfd:payload (deleted)"}}
{"ts": 14, "type": "socketpair", "tid": 10, "res": 0, "args": {"fd1": 20, "fd2": 21, "domain": "AF_UNIX", "type": 1, "proto": 0}}
{"ts": 15, "type": "connect", "tid": 10, "res": 0, "args": {"fd": 20, "tuple": "/run/app.sock"}}
{"ts": 16, "type": "openat", "tid": 10, "res": 30, "args": {"dirfd": -100, "name": "/tmp/x", "flags": "O_RDWR|O_CREAT|O_F_CREATED", "mode": 384}, "proc": {"comm": "renamed", "cap_effective": "CAP_SYS_ADMIN"}}
`

func TestStateUpdates(t *testing.T) {
	runTrace(t, testDeps(t), opsTrace, map[int]map[string]string{
		1: {"fd.name": ":::8080", "fd.type": "ipv6", "fd.is_server": "true", "fd.lport": "8080"},
		3: {"fd.num": "4", "fd.name": "2001:db8::1:51000->2001:db8::2:8080", "fd.cip": "2001:db8::1", "fd.sip": "2001:db8::2",
			"fd.is_server": "true", "fd.rport": "51000", "fd.lip": "2001:db8::2", "fd.l4proto": "tcp"},
		5: {"fd.num": "4", "fd.name": "2001:db8::1:51000->2001:db8::2:8080", "thread.tid": "11", "proc.pid": "10",
			"thread.ismain": "false", "proc.nthreads": "2"},
		6:  {"evt.arg.fd1": "<p>pipe:[777]"},
		7:  {"fd.name": "memfd:payload", "fd.type": "memfd", "fd.typechar": "m"},
		8:  {"proc.name": "worker", "proc.aname[0]": "worker"},
		9:  {"user.uid": "1000", "user.name": "alice"},
		10: {"evt.arg.first": "5"},
		11: {"fd.name": "<missing>", "fd.num": "5"},
		12: {"proc.is_exe_from_memfd": "true", "proc.exepath": "/memfd:payload (deleted)", "thread.tid": "10",
			"proc.nthreads": "1", "proc.exe": "/memfd:payload"},
		14: {"fd.name": "/run/app.sock", "fd.type": "unix", "fd.sockfamily": "unix", "fd.typechar": "u"},
		15: {"evt.is_open_create": "true", "evt.is_open_read": "true", "evt.is_open_write": "true", "evt.is_open_exec": "false",
			"proc.name": "renamed", "thread.cap_effective": "CAP_SYS_ADMIN", "user.uid": "1000"},
	})
}
