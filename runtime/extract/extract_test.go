package extract

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// ref parses a field as written in a condition: "proc.aname[3]",
// "evt.arg.flags", "proc.name".
func ref(t testing.TB, s string) vm.FieldRef {
	t.Helper()
	name, arg, hasArg := s, "", false
	if i := strings.IndexByte(s, '['); i >= 0 && strings.HasSuffix(s, "]") {
		name, arg, hasArg = s[:i], s[i+1:len(s)-1], true
	}
	f, dotArg, hasDot, ok := catalog.Lookup(name)
	if !ok {
		t.Fatalf("no field %s", s)
	}
	if hasDot {
		arg, hasArg = dotArg, true
	}
	r := vm.FieldRef{Name: f.Name, Arg: arg, HasArg: hasArg, Index: -1}
	if n, err := strconv.Atoi(arg); err == nil && hasArg {
		r.Index = n
	}
	return r
}

// Every catalog field of the syscall source has an extractor or is
// listed as unsupported, with a reason; nothing else is registered.
func TestEveryFieldHasExtractor(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range catalog.Fields() {
		if f.Source != catalog.SourceSyscall {
			continue
		}
		seen[f.Name] = true
		_, has := registry[f.Name]
		reason, unsup := unsupported[f.Name]
		switch {
		case has && unsup:
			t.Errorf("%s has an extractor and is listed as unsupported", f.Name)
		case !has && !unsup:
			t.Errorf("%s has no extractor and is not listed as unsupported", f.Name)
		case unsup && reason == "":
			t.Errorf("%s is unsupported without a reason", f.Name)
		}
	}
	for name := range registry {
		if !seen[name] {
			t.Errorf("extractor for %s, which is not a syscall field of the catalog", name)
		}
	}
	for name := range unsupported {
		if !seen[name] {
			t.Errorf("unsupported entry %s is not a syscall field of the catalog", name)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tab := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	tests := []struct {
		ref  vm.FieldRef
		want string
	}{
		{vm.FieldRef{Name: "proc.nope"}, "field proc.nope: unknown field"},
		{vm.FieldRef{Name: "proc.aname", Arg: "x", HasArg: true}, `field proc.aname[x]: argument "x" is not a non-negative index`},
		{vm.FieldRef{Name: "proc.aname", Arg: "-1", HasArg: true}, `field proc.aname[-1]: argument "-1" is not a non-negative index`},
		{vm.FieldRef{Name: "evt.arg", Arg: "nosuchparam", HasArg: true}, `field evt.arg[nosuchparam]: no event has a parameter "nosuchparam"`},
		{vm.FieldRef{Name: "evt.arg"}, "field evt.arg: an argument is required"},
		{vm.FieldRef{Name: "proc.name", Arg: "1", HasArg: true}, "field proc.name[1]: takes no argument"},
		{vm.FieldRef{Name: "evt.type.is", Arg: "opne", HasArg: true}, `field evt.type.is[opne]: unknown event type "opne"`},
		{vm.FieldRef{Name: "evt.abspath", Arg: "middle", HasArg: true}, `field evt.abspath[middle]: argument "middle" must be src or dst`},
		{vm.FieldRef{Name: "container.mount", Arg: "[", HasArg: true}, `field container.mount[[]: argument "[" is not a valid pattern`},
	}
	for _, tc := range tests {
		_, err := New([]vm.FieldRef{{Name: "proc.name"}, tc.ref}, Deps{Table: tab})
		if err == nil {
			t.Errorf("New(%s): no error, want %q", tc.ref, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("New(%s) = %q\nwant %q", tc.ref, err.Error(), tc.want)
		}
	}
	if _, err := New(nil, Deps{}); err == nil || err.Error() != "extract: no state table" {
		t.Errorf("New without table: %v", err)
	}
	if _, err := New([]vm.FieldRef{{Name: "fd.cip.name"}}, Deps{Table: tab}); err != nil {
		t.Errorf("unsupported fields must still resolve: %v", err)
	}
	// A k8s_audit field shares the artifact's field table: always missing here.
	env, err := New([]vm.FieldRef{{Name: "ka.verb"}}, Deps{Table: tab})
	if err != nil {
		t.Fatalf("New(ka.verb): %v", err)
	}
	info, _ := catalog.EventByName("execve")
	env.Reset(&event.Event{Info: info})
	var v vm.Value
	if env.Extract(0, &v) {
		t.Errorf("ka.verb on a syscall event = %v, want missing", v)
	}
	if !errors.Is(func() error { _, err := New([]vm.FieldRef{{Name: "x.y"}}, Deps{Table: tab}); return err }(), ErrUnknownField) {
		t.Error("unknown field error is not ErrUnknownField")
	}
}

type fakeContainers map[string]*Container

func (f fakeContainers) Container(id string) (*Container, bool) {
	c, ok := f[id]
	return c, ok
}

const dockerID = "3f8a9c2d1b0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90"

func testDeps(t testing.TB) Deps {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
		"group":  "root:x:0:\nalice:x:1000:\nwww-data:x:33:\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(etc, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Deps{
		Table: state.NewTable(&state.Options{ProcReadsPerSec: -1}),
		// The container's own /etc is read through /proc/<pid>/root,
		// which does not exist for a replay: its users are missing.
		Users: state.NewUsers(&state.UsersOptions{Root: root, ProcRoot: filepath.Join(root, "proc")}),
		Containers: fakeContainers{dockerID[:12]: {
			ID: dockerID[:12], FullID: dockerID, Name: "web", Type: "docker", Image: "nginx:1.27",
			ImageRepository: "nginx", ImageTag: "1.27", Privileged: true,
			Mounts: []Mount{{Source: "/var/run/docker.sock", Dest: "/var/run/docker.sock", Mode: "", RW: true, Propagation: "rprivate"}},
			Labels: map[string]string{"b": "2", "a": "1"}, PodName: "web-0", PodNamespace: "prod",
			PodSandboxID: "aaaaaaaaaaaabbbbbbbbbbbb",
		}},
		Hostname: "node1",
		Start:    1_000,
	}
}

// The trace builds: systemd(1) → sshd(100) → bash(200) → python3(300),
// and an nginx process (500) in a docker container.
const treeTrace = `# the tree
{"ts": 1000, "type": "clone", "tid": 1, "res": 100, "args": {"flags": 17}, "proc": {"comm": "systemd", "exe": "/sbin/init", "exepath": "/usr/lib/systemd/systemd", "cwd": "/", "uid": 0, "gid": 0}}
{"ts": 2000, "type": "execve", "tid": 100, "res": 0, "args": {"exe": "/usr/sbin/sshd", "args": ["-D"], "filename": "/usr/sbin/sshd"}}
{"ts": 3000, "type": "clone", "tid": 100, "res": 200, "args": {"flags": "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"}}
{"ts": 4000, "type": "execve", "tid": 200, "res": 0, "args": {"exe": "-bash", "filename": "/bin/bash", "env": ["HOME=/home/alice", "TERM=xterm"], "uid": 1000, "gid": 1000, "loginuid": 1000, "tty": 34816}}
{"ts": 5000, "type": "chdir", "tid": 200, "res": 0, "args": {"path": "/home/alice"}}
{"ts": 6000, "type": "clone", "tid": 200, "res": 300, "args": {"flags": 17}}
{"ts": 7000, "type": "execve", "tid": 300, "res": 0, "args": {"exe": "python3", "args": ["x.py", "--fast"], "filename": "/usr/bin/python3", "env": ["HOME=/home/alice"]}}
{"ts": 8000, "type": "chdir", "tid": 300, "res": 0, "args": {"path": "work"}}
{"ts": 9000, "type": "openat", "tid": 300, "res": 3, "args": {"dirfd": "AT_FDCWD", "name": "data/in.txt", "flags": "O_RDONLY|O_CLOEXEC"}}
{"ts": 10000, "type": "openat", "tid": 300, "res": 4, "args": {"dirfd": -100, "name": "/etc", "flags": "O_RDONLY|O_DIRECTORY"}}
{"ts": 11000, "type": "openat", "tid": 300, "res": 5, "args": {"dirfd": 4, "name": "hosts", "flags": "O_WRONLY|O_CREAT|O_TRUNC", "mode": 493}}
{"ts": 12000, "type": "dup2", "tid": 300, "res": 7, "args": {"oldfd": 5, "newfd": 7}}
{"ts": 13000, "type": "socket", "tid": 300, "res": 6, "args": {"domain": "AF_INET", "type": 1, "proto": 0}}
{"ts": 14000, "type": "connect", "tid": 300, "res": 0, "args": {"fd": 6, "tuple": "10.0.0.5:40000->93.184.216.34:443"}}
{"ts": 15000, "type": "close", "tid": 300, "res": 0, "args": {"fd": 5}}
{"ts": 16000, "type": "openat", "tid": 300, "res": -2, "args": {"dirfd": "AT_FDCWD", "name": "missing.txt", "flags": "O_RDONLY"}}
{"ts": 17000, "type": "openat", "tid": 500, "res": 3, "args": {"dirfd": "AT_FDCWD", "name": "/var/log/nginx/access.log", "flags": "O_WRONLY|O_APPEND"}, "proc": {"ppid": 1, "comm": "nginx", "exe": "nginx", "args": ["-g", "daemon off;"], "cwd": "/", "uid": 33, "gid": 33, "cgroup": "/system.slice/docker-` + dockerID + `.scope"}}
{"ts": 18000, "type": "ptrace", "tid": 300, "res": 0, "args": {"request": "PTRACE_ATTACH", "pid": 500}}
`

// value renders an extracted value for comparison.
func value(v *vm.Value, ok bool) string {
	if !ok {
		return "<missing>"
	}
	switch v.Kind {
	case vm.KindString:
		return v.S
	case vm.KindList:
		return "[" + strings.Join(v.L, "|") + "]"
	}
	return v.String()
}

// runTrace replays trace and extracts, after each event's ApplyBefore,
// the fields asked for at that event (by 0-based position).
func runTrace(t *testing.T, deps Deps, trace string, want map[int]map[string]string) {
	t.Helper()
	var refs []vm.FieldRef
	ids := map[string]int{}
	for _, fields := range want {
		for f := range fields {
			if _, ok := ids[f]; !ok {
				ids[f] = len(refs)
				refs = append(refs, ref(t, f))
			}
		}
	}
	env, err := New(refs, deps)
	if err != nil {
		t.Fatal(err)
	}
	r := replay.NewReader(strings.NewReader(trace))
	var ev event.Event
	var ctx event.ProcContext
	for i := 0; ; i++ {
		err := r.Next(&ev, &ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		state.ApplyProc(deps.Table, ev.Ts, ev.Tid, ev.Pid, &ctx)
		state.ApplyBefore(deps.Table, &ev)
		env.Reset(&ev)
		if fields, ok := want[i]; ok {
			got := map[string]string{}
			for f := range fields {
				var v vm.Value
				got[f] = value(&v, env.Extract(ids[f], &v))
			}
			if d := cmp.Diff(fields, got); d != "" {
				t.Errorf("event %d (%s, line %d) (-want +got):\n%s", i, ev.Type(), r.Line(), d)
			}
		}
		state.ApplyAfter(deps.Table, &ev)
	}
}

func TestProcessTree(t *testing.T) {
	runTrace(t, testDeps(t), treeTrace, map[int]map[string]string{
		3: { // bash's execve: the new image is visible
			"proc.name": "bash", "proc.exe": "-bash", "proc.exepath": "/bin/bash", "proc.pname": "sshd",
			"proc.cmdline": "bash", "user.uid": "1000", "user.name": "alice", "user.homedir": "/home/alice",
			"user.shell": "/bin/zsh", "group.name": "alice", "user.loginuid": "1000", "user.loginname": "alice",
			"proc.tty": "34816", "proc.env[TERM]": "xterm", "proc.env": "HOME=/home/alice TERM=xterm",
			"evt.res": "SUCCESS", "evt.rawres": "0", "evt.failed": "false",
		},
		8: { // python opens a relative path
			"proc.name": "python3", "proc.pname": "bash", "proc.aname[0]": "python3", "proc.aname[1]": "bash",
			"proc.aname[2]": "sshd", "proc.aname[3]": "systemd", "proc.aname[4]": "<missing>",
			"proc.aname": "[bash|sshd|systemd]", "proc.apid[2]": "100", "proc.aexepath[3]": "/usr/lib/systemd/systemd",
			"proc.cmdline": "python3 x.py --fast", "proc.args": "x.py --fast", "proc.args[1]": "--fast",
			"proc.pcmdline": "bash", "proc.exeline": "python3 x.py --fast", "proc.cmdnargs": "2",
			"proc.cwd": "/home/alice/work/", "proc.pid": "300", "proc.ppid": "200", "proc.loginshellid": "200",
			"fd.num": "3", "fd.name": "/home/alice/work/data/in.txt", "fd.nameraw": "data/in.txt",
			"fd.directory": "/home/alice/work/data", "fd.filename": "in.txt", "fd.type": "file", "fd.typechar": "f",
			"evt.type": "openat", "evt.arg.flags": "O_RDONLY|O_CLOEXEC", "evt.arg.fd": "<f>/home/alice/work/data/in.txt",
			"evt.arg[1]": "AT_FDCWD", "evt.rawarg.flags": "524288", "evt.is_open_read": "true",
			"evt.is_open_write": "false", "evt.num": "9", "evt.rawtime": "9000", "evt.reltime": "8000",
			"evt.deltatime": "1000", "evt.time.iso8601": "1970-01-01T00:00:00.000009000+0000", "evt.rawtime.s": "0", "evt.rawtime.ns": "9000", "evt.dir": "<", "evt.hostname": "node1", "evt.category": "file",
			"container.id": "host", "container.name": "host", "container.type": "host", "container.image": "<missing>",
			"evt.args": "fd=3(<f>/home/alice/work/data/in.txt) dirfd=-100(AT_FDCWD) name=data/in.txt flags=524288(O_RDONLY|O_CLOEXEC)",
		},
		10: { // openat relative to a directory fd
			"fd.name": "/etc/hosts", "fd.nameraw": "hosts", "evt.is_open_write": "true", "evt.is_open_exec": "true",
			"evt.arg.dirfd": "<d>/etc", "evt.abspath.dst": "/etc/hosts",
		},
		11: {"fd.num": "7", "fd.name": "/etc/hosts", "evt.arg.res": "<f>/etc/hosts"}, // after dup2
		13: { // connect
			"fd.name": "10.0.0.5:40000->93.184.216.34:443", "fd.type": "ipv4", "fd.typechar": "4",
			"fd.cip": "10.0.0.5", "fd.sip": "93.184.216.34", "fd.lip": "10.0.0.5", "fd.rip": "93.184.216.34",
			"fd.cport": "40000", "fd.sport": "443", "fd.lport": "40000", "fd.rport": "443", "fd.l4proto": "tcp",
			"fd.sockfamily": "ip", "fd.is_server": "false", "fd.connected": "true", "fd.snet": "93.184.216.34",
			"fd.directory": "<missing>", "evt.arg.tuple": "10.0.0.5:40000->93.184.216.34:443",
		},
		14: {"fd.name": "/etc/hosts", "evt.arg.fd": "<f>/etc/hosts"}, // close: still there
		15: { // a failed open still names the file
			"fd.name": "/home/alice/work/missing.txt", "evt.res": "ENOENT", "evt.rawres": "-2", "evt.failed": "true",
			"evt.arg.fd": "ENOENT", "fd.num": "-2",
		},
		16: { // the container process
			"container.id": dockerID[:12], "container.full_id": dockerID, "container.type": "docker",
			"container.name": "web", "container.image.repository": "nginx", "container.privileged": "true",
			"container.labels": "a:1,b:2", "container.label.b": "2", "k8s.pod.name": "web-0", "k8s.ns.name": "prod",
			"k8s.pod.sandbox_id": "aaaaaaaaaaaa", "container.mount.dest[/var/run/docker.sock]": "/var/run/docker.sock",
			"container.mount.source[/var/run/*]": "/var/run/docker.sock", "container.mount[0]": "/var/run/docker.sock:/var/run/docker.sock::true:rprivate",
			"user.uid": "33", "user.name": "<NA>", "proc.cmdline": "nginx -g daemon off;", "proc.pname": "systemd",
			"evt.is_open_write": "true", "fd.name": "/var/log/nginx/access.log", "k8s.rc.name": "<missing>",
			// Deprecated upstream: Falco's container plugin gives nothing.
			"container.healthcheck": "<missing>", "proc.is_container_healthcheck": "<missing>",
		},
		17: {"evt.arg.request": "PTRACE_ATTACH", "evt.arg.pid": "nginx", "evt.rawarg.request": "16", "fd.name": "<missing>",
			"evt.is_open_read": "<missing>", "evt.type.is.ptrace": "1", "evt.type.is.open": "0"},
	})
}
