package extract

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// sampleArgs are arguments for the fields that require one.
var sampleArgs = map[string]string{
	"evt.type.is": "openat", "evt.arg": "fd", "evt.rawarg": "flags", "evt.abspath": "dst",
	"thread.cgroup": "cpu", "container.mount": "0", "container.mount.source": "0", "container.mount.dest": "0",
	"container.mount.mode": "0", "container.mount.rdwr": "0", "container.mount.propagation": "0",
	"container.label": "a", "k8s.pod.label": "a", "k8s.rc.label": "a", "k8s.svc.label": "a",
	"k8s.ns.label": "a", "k8s.rs.label": "a", "k8s.deployment.label": "a", "evt.around": "1",
}

func kindFor(t catalog.Type) vm.Kind {
	switch t {
	case catalog.TypeString, catalog.TypeFSPath:
		return vm.KindString
	case catalog.TypeBytes:
		return vm.KindBytes
	case catalog.TypeInt8, catalog.TypeInt16, catalog.TypeInt32, catalog.TypeInt64:
		return vm.KindInt
	case catalog.TypeUint8, catalog.TypeUint16, catalog.TypeUint32, catalog.TypeUint64,
		catalog.TypePort, catalog.TypeAbsTime, catalog.TypeRelTime:
		return vm.KindUint
	case catalog.TypeBool:
		return vm.KindBool
	case catalog.TypeIPAddr, catalog.TypeIPNet:
		return vm.KindAddr
	case catalog.TypeDouble:
		return vm.KindDouble
	}
	return vm.KindNone
}

// Every extractor returns the kind its catalog type says (a list for
// ancestor and list fields without an index), on every event of a trace,
// without panicking; and most fields have a value somewhere.
func TestExtractorKinds(t *testing.T) {
	type entry struct {
		f   *catalog.Field
		ref vm.FieldRef
	}
	var entries []entry
	var refs []vm.FieldRef
	for _, f := range catalog.Fields() {
		if f.Source != catalog.SourceSyscall {
			continue
		}
		variants := []vm.FieldRef{{Name: f.Name, Index: -1}}
		if a, ok := sampleArgs[f.Name]; ok {
			variants = []vm.FieldRef{{Name: f.Name, Arg: a, HasArg: true, Index: -1}}
		} else if f.Arg == catalog.ArgIndexOptional || f.Arg == catalog.ArgIndexOrKeyOptional {
			variants = append(variants, vm.FieldRef{Name: f.Name, Arg: "1", HasArg: true, Index: 1})
		} else if f.Arg == catalog.ArgKeyOptional {
			variants = append(variants, vm.FieldRef{Name: f.Name, Arg: "HOME", HasArg: true, Index: -1})
		}
		for _, r := range variants {
			entries = append(entries, entry{f, r})
			refs = append(refs, r)
		}
	}
	deps := testDeps(t)
	env, err := New(refs, deps)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, len(refs))
	c := deps.Containers.(fakeContainers)[dockerID[:12]]
	c.ImageID, c.ImageDigest, c.HealthCheck, c.LivenessProbe, c.ReadinessProbe = "sha256:1", "sha256:2", "nginx -t", "curl -f", "curl -r"
	c.StartTS, c.IP, c.CNIJSON, c.PodUID, c.PodIP, c.PodCNIJSON = 500, "172.17.0.2", "{}", "uid-1", "10.1.0.2", "{}"
	c.PodLabels = map[string]string{"a": "x"}
	r := replay.NewReader(strings.NewReader(treeTrace + extraTrace))
	var ev event.Event
	var ctx event.ProcContext
	for {
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
		for id, e := range entries {
			var v vm.Value
			if !env.Extract(id, &v) {
				continue
			}
			seen[id] = true
			want := kindFor(e.f.Type)
			list := e.f.Flags&catalog.FlagList != 0 ||
				(!e.ref.HasArg && (e.f.Arg == catalog.ArgIndexOptional || e.f.Arg == catalog.ArgIndexOrKeyOptional) && e.f.Flags&catalog.FlagNoRHS != 0) ||
				(!e.ref.HasArg && e.f.Name == "proc.aargs")
			switch {
			case e.f.Type == catalog.TypeDyn:
			case list && v.Kind == vm.KindList:
			case v.Kind != want:
				t.Errorf("%s on %s: kind %s, want %s", e.ref, ev.Type(), v.Kind, want)
			}
		}
		state.ApplyAfter(deps.Table, &ev)
	}
	var never []string
	for id, e := range entries {
		_, unsup := unsupported[e.f.Name]
		if !seen[id] && !unsup {
			never = append(never, e.ref.String())
		}
	}
	// Fields that need events or metadata the trace does not have.
	t.Logf("never extracted on the trace: %s", strings.Join(never, " "))
}

// extraTrace reaches the fields treeTrace does not.
const extraTrace = `{"ts": 19000, "type": "setsid", "tid": 300, "res": 300}
{"ts": 20000, "type": "execve", "tid": 300, "res": 0, "args": {"exe": "sleep", "args": ["1"], "filename": "/bin/sleep", "pgid": 300, "vpgid": 300, "exe_ino": 77, "exe_ino_ctime": 10, "exe_ino_mtime": 11, "fdlimit": 1024, "vm_size": 100, "vm_rss": 50, "vm_swap": 0, "pgft_maj": 1, "pgft_min": 2, "cgroups": ["cpu=/user.slice", "memory=/user.slice"], "flags": "EXE_UPPER_LAYER"}}
{"ts": 21000, "type": "openat", "tid": 300, "res": 0, "args": {"dirfd": -100, "name": "/dev/null", "flags": "O_RDONLY"}}
{"ts": 22000, "type": "read", "tid": 300, "args": {"res": 3, "fd": 0, "data": "abc", "size": 3}}
{"ts": 23000, "type": "renameat", "tid": 300, "res": 0, "args": {"olddirfd": -100, "oldpath": "a", "newdirfd": -100, "newpath": "/tmp/b"}}
{"ts": 24000, "type": "mkdirat", "tid": 300, "res": 0, "args": {"dirfd": -100, "path": "d", "mode": 493}}
{"ts": 25000, "type": "container", "tid": 0, "args": {"json": "{}"}}
`
