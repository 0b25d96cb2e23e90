// Command gen writes the catalog's generated tables: the event table
// (events_table.go) from the published Falco event reference, and the x86_64
// syscall numbers (syscalls_x86_64.go) from the kernel's unistd_64.h, topped
// up with golang.org/x/sys's list for syscalls newer than the header.
//
// It is run by `go generate` in compiler/catalog. When an input is missing
// (a machine without the reference files), it says so and leaves the
// committed tables alone.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	events := flag.String("events", "/work/shared/reference/falco-events.md", "Falco event reference (markdown)")
	unistd := flag.String("unistd", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "x86_64 unistd header")
	xsys := flag.String("xsys", "", "x/sys zsysnum_linux_amd64.go (default: located with `go list`)")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if err := run(*events, *unistd, *xsys, *out); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "catalog gen: %v; keeping the committed tables\n", err)
			return
		}
		fmt.Fprintf(os.Stderr, "catalog gen: %v\n", err)
		os.Exit(1)
	}
}

func run(eventsPath, unistdPath, xsysPath, out string) error {
	evs, err := parseEvents(eventsPath)
	if err != nil {
		return err
	}
	ids, err := parseUnistd(unistdPath)
	if err != nil {
		return err
	}
	if xsysPath == "" {
		xsysPath = locateXSys()
	}
	if xsysPath != "" {
		extra, err := parseXSys(xsysPath)
		if err != nil {
			return err
		}
		for name, id := range extra {
			if old, ok := ids[name]; ok && old != id {
				return fmt.Errorf("syscall %s: header says %d, x/sys says %d", name, old, id)
			}
			ids[name] = id
		}
	}
	src, err := eventsSource(evs)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(out, "events_table.go"), src); err != nil {
		return err
	}
	src, err = syscallsSource(evs, ids)
	if err != nil {
		return err
	}
	return write(filepath.Join(out, "syscalls_x86_64.go"), src)
}

func write(path string, src []byte) error {
	b, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	return os.WriteFile(path, b, 0o644)
}

type param struct {
	name, typ string
	flags     []string
}

type event struct {
	name, category string
	syscall, dflt  bool
	params         []param
}

var rowRE = regexp.MustCompile("^(Yes|No) \\| `([<>])` \\| `([^`]+)` \\| ?(.*)$")

// parseEvents reads the markdown tables. For each event it keeps the exit
// row (`<`), which carries the enter parameters too since Falco 0.42, and
// falls back to the enter row for events that only have one.
func parseEvents(path string) ([]event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		list    []event
		index   = map[string]int{}
		section string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		dir, name := m[2], m[3]
		params, err := parseParams(m[4])
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		ev := event{name: name, dflt: m[1] == "Yes", params: params}
		switch section {
		case "Syscall events":
			ev.syscall = true
			ev.category = syscallCategory(name, params)
		case "Tracepoint events":
			ev.category = tracepointCategory[name]
		case "Plugin events":
			ev.category = "plugin"
		case "Metaevents":
			ev.category = "internal"
		default:
			return nil, fmt.Errorf("event %s in unknown section %q", name, section)
		}
		if ev.category == "" {
			ev.category = "other"
		}
		if i, ok := index[name]; ok {
			if dir == "<" {
				list[i] = ev
			}
			continue
		}
		index[name] = len(list)
		list = append(list, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no events found", path)
	}
	return list, nil
}

var paramRE = regexp.MustCompile(`^([A-Z0-9_]+) \*\*([A-Za-z0-9_]+)\*\*:?$`)

func parseParams(s string) ([]param, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var ps []param
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.HasPrefix(item, "*") && !strings.HasPrefix(item, "**") {
			if len(ps) == 0 {
				return nil, fmt.Errorf("flag %q before any parameter", item)
			}
			p := &ps[len(ps)-1]
			p.flags = append(p.flags, strings.Trim(item, "*"))
			continue
		}
		head, firstFlag, hasFlag := strings.Cut(item, ": ")
		m := paramRE.FindStringSubmatch(head)
		if m == nil {
			return nil, fmt.Errorf("cannot parse parameter %q", item)
		}
		if _, ok := paramIdent[m[1]]; !ok {
			return nil, fmt.Errorf("unknown parameter type %q", m[1])
		}
		ps = append(ps, param{name: m[2], typ: m[1]})
		if hasFlag {
			ps[len(ps)-1].flags = append(ps[len(ps)-1].flags, strings.Trim(strings.TrimSpace(firstFlag), "*"))
		}
	}
	return ps, nil
}

// paramIdent maps the reference's parameter type names to the catalog's
// ParamType constants.
var paramIdent = map[string]string{
	"INT8": "ParamInt8", "INT16": "ParamInt16", "INT32": "ParamInt32", "INT64": "ParamInt64",
	"UINT8": "ParamUint8", "UINT16": "ParamUint16", "UINT32": "ParamUint32", "UINT64": "ParamUint64",
	"CHARBUF": "ParamCharBuf", "BYTEBUF": "ParamByteBuf", "ERRNO": "ParamErrno",
	"SOCKADDR": "ParamSockAddr", "SOCKTUPLE": "ParamSockTuple", "FD": "ParamFD", "PID": "ParamPID",
	"FDLIST": "ParamFDList", "FSPATH": "ParamFSPath", "FSRELPATH": "ParamFSRelPath",
	"SYSCALLID": "ParamSyscallID", "SIGTYPE": "ParamSigType", "SIGSET": "ParamSigSet",
	"RELTIME": "ParamRelTime", "ABSTIME": "ParamAbsTime", "DYNAMIC": "ParamDynamic",
	"FLAGS8": "ParamFlags8", "FLAGS16": "ParamFlags16", "FLAGS32": "ParamFlags32",
	"ENUMFLAGS8": "ParamEnumFlags8", "ENUMFLAGS16": "ParamEnumFlags16", "ENUMFLAGS32": "ParamEnumFlags32",
	"UID": "ParamUID", "GID": "ParamGID", "MODE": "ParamMode",
	"BOOL": "ParamBool", "DOUBLE": "ParamDouble", "PORT": "ParamPort",
	"IPV4ADDR": "ParamIPv4Addr", "IPV6ADDR": "ParamIPv6Addr", "IPADDR": "ParamIPAddr",
	"IPV4NET": "ParamIPv4Net", "IPV6NET": "ParamIPv6Net", "IPNET": "ParamIPNet",
	"L4PROTO": "ParamL4Proto", "SOCKFAMILY": "ParamSockFamily",
	"CHARBUFARRAY": "ParamCharBufArray", "CHARBUF_PAIR_ARRAY": "ParamCharBufPairArray",
}

var tracepointCategory = map[string]string{
	"switch":        "scheduler",
	"procexit":      "process",
	"signaldeliver": "signal",
	"page_fault":    "other",
}

// categories is our classification of the detailed syscall events, close to
// the categories Falco's event table gives them. Events not listed here, in
// particular the generic ones, are "other".
var categories = map[string][]string{
	"file": strings.Fields(`open openat openat2 open_by_handle_at creat stat lstat fstat stat64 lstat64
		fstat64 newfstatat lseek llseek getcwd chdir fchdir rename renameat renameat2 symlink symlinkat
		link linkat unlink unlinkat mkdir mkdirat rmdir chmod fchmod fchmodat chown lchown fchown fchownat
		access mount umount umount2 getdents getdents64 flock mknod mknodat quotactl memfd_create fsconfig
		inotify_init inotify_init1 copy_file_range`),
	"io_read":  strings.Fields(`read pread readv preadv recv recvfrom recvmsg recvmmsg`),
	"io_write": strings.Fields(`write pwrite writev pwritev send sendto sendmsg sendmmsg sendfile`),
	"io_other": strings.Fields(`close dup dup2 dup3 fcntl ioctl splice close_range`),
	"net": strings.Fields(`socket bind connect listen accept accept4 shutdown getsockname getpeername
		socketpair setsockopt getsockopt`),
	"IPC":    strings.Fields(`pipe pipe2 eventfd eventfd2 futex semop semctl semget signalfd signalfd4`),
	"wait":   strings.Fields(`epoll_wait poll ppoll select`),
	"sleep":  strings.Fields(`nanosleep`),
	"signal": strings.Fields(`kill tkill tgkill`),
	"time":   strings.Fields(`timerfd_create`),
	"process": strings.Fields(`clone clone3 fork vfork execve execveat setsid setpgid prctl ptrace setns
		unshare chroot capset pidfd_open pidfd_getfd process_vm_readv process_vm_writev seccomp getrlimit
		setrlimit prlimit`),
	"user": strings.Fields(`setuid setgid setresuid setresgid setreuid setregid getuid geteuid getgid
		getegid getresuid getresgid`),
	"memory": strings.Fields(`brk mmap mmap2 munmap mprotect mlock munlock mlockall munlockall mlock2
		userfaultfd`),
	"system": strings.Fields(`init_module finit_module delete_module bpf io_uring_setup io_uring_enter
		io_uring_register keyctl epoll_create epoll_create1`),
}

var categoryOf = func() map[string]string {
	m := map[string]string{}
	for c, names := range categories {
		for _, n := range names {
			if old, ok := m[n]; ok {
				panic(fmt.Sprintf("%s is in both %s and %s", n, old, c))
			}
			m[n] = c
		}
	}
	return m
}()

func syscallCategory(name string, params []param) string {
	if len(params) > 0 && params[0].typ == "SYSCALLID" {
		return "other"
	}
	return categoryOf[name]
}

func eventsSource(evs []event) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by compiler/catalog/internal/gen; DO NOT EDIT.\n\npackage catalog\n\n")
	// Flag name lists are shared between parameters that have the same set.
	lists := map[string]string{}
	var listOrder []string
	for _, ev := range evs {
		for _, p := range ev.params {
			if len(p.flags) == 0 {
				continue
			}
			key := strings.Join(p.flags, ",")
			if _, ok := lists[key]; !ok {
				lists[key] = fmt.Sprintf("flagNames%d", len(listOrder))
				listOrder = append(listOrder, key)
			}
		}
	}
	b.WriteString("var (\n")
	for _, key := range listOrder {
		fmt.Fprintf(&b, "\t%s = []string{", lists[key])
		for i, f := range strings.Split(key, ",") {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(f))
		}
		b.WriteString("}\n")
	}
	b.WriteString(")\n\n")
	b.WriteString("// eventTable lists every event, in the order of Falco's event reference.\n")
	b.WriteString("var eventTable = []Event{\n")
	for _, ev := range evs {
		fmt.Fprintf(&b, "\t{Name: %q, Category: %q, Syscall: %t, Default: %t", ev.name, ev.category, ev.syscall, ev.dflt)
		if len(ev.params) > 0 {
			b.WriteString(", Params: []Param{")
			for i, p := range ev.params {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "{Name: %q, Type: %s", p.name, paramIdent[p.typ])
				if len(p.flags) > 0 {
					fmt.Fprintf(&b, ", Flags: %s", lists[strings.Join(p.flags, ",")])
				}
				b.WriteString("}")
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

var defineRE = regexp.MustCompile(`^#define __NR_([a-z0-9_]+)\s+([0-9]+)\s*$`)

func parseUnistd(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := defineRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n, _ := strconv.Atoi(m[2])
			ids[m[1]] = n
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no syscall numbers found", path)
	}
	return ids, nil
}

var xsysRE = regexp.MustCompile(`^SYS_([A-Z0-9_]+)\s*=\s*([0-9]+)$`)

func parseXSys(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := xsysRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n, _ := strconv.Atoi(m[2])
			ids[strings.ToLower(m[1])] = n
		}
	}
	return ids, nil
}

func locateXSys() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "unix", "zsysnum_linux_amd64.go")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// kernelName maps event names that differ from the x86_64 syscall name.
var kernelName = map[string]string{
	"pread":   "pread64",
	"pwrite":  "pwrite64",
	"prlimit": "prlimit64",
}

func syscallsSource(evs []event, ids map[string]int) ([]byte, error) {
	type entry struct {
		id   int
		name string
	}
	var es []entry
	seen := map[int]string{}
	max := 0
	for _, id := range ids {
		if id > max {
			max = id
		}
	}
	for _, ev := range evs {
		if !ev.syscall {
			continue
		}
		k := ev.name
		if n, ok := kernelName[k]; ok {
			k = n
		}
		id, ok := ids[k]
		if !ok {
			continue
		}
		if other, dup := seen[id]; dup {
			return nil, fmt.Errorf("syscall id %d is both %s and %s", id, other, ev.name)
		}
		seen[id] = ev.name
		es = append(es, entry{id, ev.name})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].id < es[j].id })
	var b bytes.Buffer
	b.WriteString("// Code generated by compiler/catalog/internal/gen; DO NOT EDIT.\n\npackage catalog\n\n")
	fmt.Fprintf(&b, "// MaxSyscallID is one more than the highest x86_64 syscall id known to the\n// generator; every id returned by [SyscallID] is below it.\nconst MaxSyscallID = %d\n\n", max+1)
	b.WriteString("// syscallNames maps x86_64 syscall ids to the event names of the event table.\n")
	b.WriteString("var syscallNames = [MaxSyscallID]string{\n")
	for _, e := range es {
		fmt.Fprintf(&b, "\t%d: %q,\n", e.id, e.name)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}
