package catalog

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rulesFields are the 90 distinct fields the upstream stable, incubating
// and sandbox rule files use, with their Falco types.
var rulesFields = []struct{ name, typ string }{
	// stable
	{"container.id", "CHARBUF"}, {"container.image.repository", "CHARBUF"}, {"container.privileged", "BOOL"},
	{"container.start_ts", "ABSTIME"}, {"evt.arg.domain", "CHARBUF"}, {"evt.arg.flags", "CHARBUF"},
	{"evt.arg.linkpath", "CHARBUF"}, {"evt.arg.newpath", "CHARBUF"}, {"evt.arg.oldpath", "CHARBUF"},
	{"evt.arg.request", "CHARBUF"}, {"evt.arg.target", "CHARBUF"}, {"evt.args", "CHARBUF"},
	{"evt.is_open_read", "BOOL"}, {"evt.is_open_write", "BOOL"}, {"evt.num", "UINT64"},
	{"evt.rawres", "INT64"}, {"evt.res", "CHARBUF"}, {"evt.type", "CHARBUF"}, {"fd.connected", "BOOL"},
	{"fd.directory", "CHARBUF"}, {"fd.filename", "CHARBUF"}, {"fd.ip", "IPADDR"}, {"fd.l4proto", "CHARBUF"},
	{"fd.lport", "PORT"}, {"fd.name", "CHARBUF"}, {"fd.name_changed", "BOOL"}, {"fd.nameraw", "CHARBUF"},
	{"fd.net", "IPNET"}, {"fd.num", "INT64"}, {"fd.rport", "PORT"}, {"fd.sip", "IPADDR"},
	{"fd.sip.name", "CHARBUF"}, {"fd.snet", "IPNET"}, {"fd.sport", "PORT"}, {"fd.type", "CHARBUF"},
	{"fd.typechar", "CHARBUF"}, {"group.gid", "UINT32"}, {"group.name", "CHARBUF"}, {"k8s.ns.name", "CHARBUF"},
	{"proc.aexepath", "CHARBUF"}, {"proc.aname", "CHARBUF"}, {"proc.args", "CHARBUF"}, {"proc.cmdline", "CHARBUF"},
	{"proc.cwd", "CHARBUF"}, {"proc.duration", "RELTIME"}, {"proc.exe", "CHARBUF"},
	{"proc.exe_ino.ctime", "ABSTIME"}, {"proc.exe_ino.ctime_duration_proc_start", "ABSTIME"},
	{"proc.exe_ino.mtime", "ABSTIME"}, {"proc.exepath", "CHARBUF"}, {"proc.is_exe_from_memfd", "BOOL"},
	{"proc.is_exe_upper_layer", "BOOL"}, {"proc.name", "CHARBUF"}, {"proc.pcmdline", "CHARBUF"},
	{"proc.pexe", "CHARBUF"}, {"proc.pexepath", "CHARBUF"}, {"proc.pname", "CHARBUF"}, {"proc.sname", "CHARBUF"},
	{"proc.tty", "UINT32"}, {"thread.cap_effective", "CHARBUF"}, {"user.loginname", "CHARBUF"},
	{"user.loginuid", "INT64"}, {"user.name", "CHARBUF"}, {"user.uid", "UINT32"},
	// incubating
	{"evt.arg.cmd", "CHARBUF"}, {"evt.arg.fd", "CHARBUF"}, {"evt.arg.filename", "CHARBUF"},
	{"evt.arg.mode", "CHARBUF"}, {"evt.arg.name", "CHARBUF"}, {"evt.arg.path", "CHARBUF"},
	{"evt.arg.uid", "CHARBUF"}, {"fd.cip.name", "CHARBUF"}, {"fd.lip.name", "CHARBUF"},
	{"fd.rip.name", "CHARBUF"}, {"fd.port", "PORT"}, {"fd.rnet", "IPNET"}, {"fd.sockfamily", "CHARBUF"},
	{"proc.aexe", "CHARBUF"}, {"proc.env", "CHARBUF"}, {"proc.vpid", "INT64"},
	{"thread.cap_permitted", "CHARBUF"},
	// sandbox
	{"container.mount.dest", "CHARBUF"}, {"container.mounts", "CHARBUF"}, {"evt.buffer", "BYTEBUF"},
	{"evt.is_open_exec", "BOOL"}, {"fd.cip", "IPADDR"}, {"fd.cnet", "IPNET"}, {"fd.rip", "IPADDR"},
	{"k8s.pod.name", "CHARBUF"}, {"proc.is_vpgid_leader", "BOOL"},
}

func TestCatalogRulesFields(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range rulesFields {
		if seen[tc.name] {
			t.Errorf("%s listed twice", tc.name)
		}
		seen[tc.name] = true
		f, arg, hasArg, ok := Lookup(tc.name)
		if !ok {
			t.Errorf("Lookup(%q) failed", tc.name)
			continue
		}
		if got := f.Type.String(); got != tc.typ {
			t.Errorf("%s: type %s, want %s", tc.name, got, tc.typ)
		}
		if want, isArg := strings.CutPrefix(tc.name, "evt.arg."); isArg {
			if f.Name != "evt.arg" || !hasArg || arg != want {
				t.Errorf("Lookup(%q) = %s, %q, %t; want evt.arg, %q, true", tc.name, f.Name, arg, hasArg, want)
			}
		} else if f.Name != tc.name || hasArg {
			t.Errorf("Lookup(%q) = %s, %q, %t; want the field itself", tc.name, f.Name, arg, hasArg)
		}
	}
	if len(seen) != 90 {
		t.Errorf("%d distinct rule fields, want 90", len(seen))
	}
}

// TestCatalogFalcoFields checks every field of Falco's supported-fields
// reference (testdata/falco_fields.txt: name and type) against the table.
func TestCatalogFalcoFields(t *testing.T) {
	file, err := os.Open("testdata/falco_fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	n := 0
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, _ := strings.Cut(line, " ")
		n++
		wantList := false
		if inner, ok := strings.CutPrefix(typ, "LIST("); ok {
			typ, wantList = strings.TrimSuffix(inner, ")"), true
		}
		f, ok := byName[name]
		if !ok {
			t.Errorf("%s is missing", name)
			continue
		}
		if got := f.Type.String(); got != typ {
			t.Errorf("%s: type %s, want %s", name, got, typ)
		}
		if got := f.Flags&FlagList != 0; got != wantList {
			t.Errorf("%s: list %t, want %t", name, got, wantList)
		}
		if f.Flags&FlagHidden != 0 {
			t.Errorf("%s is documented by Falco but hidden", name)
		}
		if f.Source != SourceSyscall {
			t.Errorf("%s: source %q, want syscall", name, f.Source)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 260 {
		t.Errorf("only %d reference fields read", n)
	}
}

func TestCatalogTable(t *testing.T) {
	classes := map[string]string{
		ClassEvt: SourceSyscall, ClassSyscall: SourceSyscall, ClassProcess: SourceSyscall,
		ClassUser: SourceSyscall, ClassGroup: SourceSyscall, ClassFD: SourceSyscall,
		ClassFSPath: SourceSyscall, ClassFDList: SourceSyscall, ClassContainer: SourceSyscall,
		ClassK8sAudit: SourceK8sAudit, ClassJSONEvent: SourceK8sAudit,
	}
	seen := map[string]bool{}
	for _, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("duplicate field %s", f.Name)
		}
		seen[f.Name] = true
		if src, ok := classes[f.Class]; !ok || src != f.Source {
			t.Errorf("%s: class %q with source %q", f.Name, f.Class, f.Source)
		}
		if f.Type <= TypeInvalid || f.Type >= typeEnd {
			t.Errorf("%s: invalid type %d", f.Name, f.Type)
		}
		if f.Desc == "" || strings.Contains(f.Desc, "\n") {
			t.Errorf("%s: description %q is not one line", f.Name, f.Desc)
		}
		if f.Flags&FlagDotArg != 0 && !f.Arg.Allowed() {
			t.Errorf("%s: dotted argument on a field without argument", f.Name)
		}
		if byName[f.Name] != f {
			t.Errorf("%s: index points elsewhere", f.Name)
		}
	}
	for _, name := range []string{"evt.dir", "evt.latency", "evt.latency.s", "evt.latency.ns", "evt.latency.human", "evt.wait_latency"} {
		f, ok := byName[name]
		if !ok || f.Flags&FlagDeprecated == 0 {
			t.Errorf("%s should be a deprecated field", name)
		}
	}
}

func TestCatalogFieldProperties(t *testing.T) {
	tests := []struct {
		name  string
		typ   Type
		arg   ArgKind
		flags Flags
	}{
		{"evt.arg", TypeString, ArgIndexOrKeyRequired, FlagDotArg},
		{"evt.rawarg", TypeDyn, ArgKeyRequired, FlagDotArg | FlagNoRHS | FlagNoTransformer},
		{"evt.type.is", TypeUint32, ArgKeyRequired, FlagDotArg},
		{"evt.dir", TypeString, ArgNone, FlagDeprecated | FlagHidden},
		{"proc.env", TypeString, ArgKeyOptional, 0},
		{"proc.args", TypeString, ArgIndexOptional, 0},
		{"proc.aname", TypeString, ArgIndexOptional, FlagNoRHS | FlagNoTransformer},
		{"proc.apid", TypeInt64, ArgIndexOptional, FlagNoRHS | FlagNoTransformer},
		{"proc.aexe", TypeString, ArgIndexOptional, FlagNoRHS | FlagNoTransformer},
		{"proc.aexepath", TypeString, ArgIndexOptional, FlagNoRHS | FlagNoTransformer},
		{"proc.acmdline", TypeString, ArgIndexOptional, FlagNoRHS | FlagNoTransformer},
		{"proc.aenv", TypeString, ArgIndexOrKeyOptional, FlagNoRHS | FlagNoTransformer},
		{"thread.cgroup", TypeString, ArgKeyRequired, FlagDotArg},
		{"fd.types", TypeString, ArgIndexOptional, FlagList},
		{"container.label", TypeString, ArgKeyRequired, FlagDotArg},
		{"container.mount.dest", TypeString, ArgIndexOrKeyRequired, 0},
		{"k8s.pod.label", TypeString, ArgKeyRequired, FlagDotArg},
		{"ka.user.groups", TypeString, ArgNone, FlagList},
		{"ka.req.pod.containers.privileged", TypeString, ArgIndexOptional, FlagList},
		{"ka.req.pod.volumes.hostpath", TypeString, ArgIndexOptional, FlagList},
		{"jevt.value", TypeString, ArgKeyRequired, 0},
		{"jevt.rawtime", TypeString, ArgNone, 0}, // text in the json plugin
		{"json.value", TypeString, ArgKeyRequired, 0},
		{"ka.req.pod.containers.run_as_user", TypeString, ArgIndexOptional, FlagList},
		{"ka.req.pod.initContainers.privileged", TypeString, ArgIndexOptional, FlagList},
		{"ka.req.volume.hostpath", TypeString, ArgKeyRequired, 0},
	}
	for _, tc := range tests {
		f, ok := byName[tc.name]
		if !ok {
			t.Errorf("%s is missing", tc.name)
			continue
		}
		got := []string{f.Type.String(), f.Arg.String(), f.Flags.String()}
		want := []string{tc.typ.String(), tc.arg.String(), tc.flags.String()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestCatalogLookup(t *testing.T) {
	type result struct {
		Field  string
		Arg    string
		HasArg bool
		OK     bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"proc.name", result{"proc.name", "", false, true}},
		{"evt.arg", result{"evt.arg", "", false, true}},
		{"evt.arg.flags", result{"evt.arg", "flags", true, true}},
		{"evt.rawarg.res", result{"evt.rawarg", "res", true, true}},
		{"evt.type.is.open", result{"evt.type.is", "open", true, true}},
		{"evt.type", result{"evt.type", "", false, true}},
		{"k8s.pod.label.app", result{"k8s.pod.label", "app", true, true}},
		{"k8s.pod.label.app.kubernetes.io/name", result{"k8s.pod.label", "app.kubernetes.io/name", true, true}},
		{"container.label.com.x", result{"container.label", "com.x", true, true}},
		{"container.label.com.docker.compose.project", result{"container.label", "com.docker.compose.project", true, true}},
		{"thread.cgroup.cpuacct", result{"thread.cgroup", "cpuacct", true, true}},
		{"evt.abspath.src", result{"evt.abspath", "src", true, true}},
		// Exact names win over dotted arguments.
		{"container.mount.dest", result{"container.mount.dest", "", false, true}},
		{"fd.sip.name", result{"fd.sip.name", "", false, true}},
		{"ka.verb", result{"ka.verb", "", false, true}},
		// Unknown names.
		{"proc.nope", result{}},
		{"proc.name.x", result{}},
		{"evt.arg.", result{}},
		{"container.mount.x", result{}},
		{"", result{}},
		{".", result{}},
		{"evt", result{}},
		{"nope", result{}},
	}
	for _, tc := range tests {
		f, arg, hasArg, ok := Lookup(tc.in)
		got := result{Arg: arg, HasArg: hasArg, OK: ok}
		if f != nil {
			got.Field = f.Name
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestCatalogTypeHelpers(t *testing.T) {
	tests := []struct {
		t       Type
		name    string
		numeric bool
	}{
		{TypeInvalid, "INVALID", false},
		{TypeString, "CHARBUF", false},
		{TypeBytes, "BYTEBUF", false},
		{TypeInt16, "INT16", true},
		{TypeInt64, "INT64", true},
		{TypeUint32, "UINT32", true},
		{TypeUint64, "UINT64", true},
		{TypeBool, "BOOL", false},
		{TypeIPAddr, "IPADDR", false},
		{TypeIPNet, "IPNET", false},
		{TypePort, "PORT", true},
		{TypeAbsTime, "ABSTIME", true},
		{TypeRelTime, "RELTIME", true},
		{TypeFSPath, "FSPATH", false},
		{TypeDyn, "DYNAMIC", false},
		{TypeDouble, "DOUBLE", true},
		{typeEnd, "INVALID", false},
		{Type(200), "INVALID", false},
	}
	for _, tc := range tests {
		if got := tc.t.String(); got != tc.name {
			t.Errorf("Type(%d).String() = %q, want %q", tc.t, got, tc.name)
		}
		if got := tc.t.IsNumeric(); got != tc.numeric {
			t.Errorf("%s.IsNumeric() = %t, want %t", tc.name, got, tc.numeric)
		}
		if tc.t > TypeInvalid && tc.t < typeEnd {
			if got, ok := TypeByName(tc.name); !ok || got != tc.t {
				t.Errorf("TypeByName(%q) = %d, %t", tc.name, got, ok)
			}
		}
	}
	if _, ok := TypeByName("INVALID"); ok {
		t.Error("TypeByName(INVALID) succeeded")
	}
	if got := (FlagList | FlagDotArg).String(); got != "list|dot_arg" {
		t.Errorf("Flags.String() = %q", got)
	}
	if got := Flags(0).String(); got != "" {
		t.Errorf("Flags(0).String() = %q", got)
	}
	if got := ArgKind(99).String(); got != "invalid" {
		t.Errorf("ArgKind(99).String() = %q", got)
	}
	var nilField *Field
	if got := nilField.String(); got != "<nil>" {
		t.Errorf("nil Field String() = %q", got)
	}
	if got := byName["proc.aname"].String(); got != "proc.aname" {
		t.Errorf("Field.String() = %q", got)
	}
}
