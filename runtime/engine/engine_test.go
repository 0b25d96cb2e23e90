package engine_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

const sampleRules = `
- list: shell_binaries
  items: [bash, sh, dash]
- macro: open_read
  condition: (evt.type in (open, openat, openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)
- rule: Sample shadow read
  desc: a sample rule reading /etc/shadow
  condition: open_read and fd.name = /etc/shadow and proc.name in (cat, head)
  output: "Sample read (file=%fd.name proc=%proc.name pname=%proc.pname cmd=%proc.cmdline aname2=%proc.aname[2] uid=%user.uid user=%user.name missing=%fd.sip)"
  priority: WARNING
  tags: [filesystem, sample]
- rule: Any open by cat
  desc: every open by cat
  condition: evt.type = openat and proc.name = cat
  output: "cat opened %fd.name"
  priority: DEBUG
`

const sampleTrace = `
{"ts":"2026-11-26T17:39:55.528217587Z","type":"execve","tid":90,"res":0,"args":{"exe":"/bin/bash"},"proc":{"ppid":1,"comm":"bash","exe":"/bin/bash","exepath":"/bin/bash","args":[],"cwd":"/root","uid":0}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"execve","tid":100,"res":0,"args":{"exe":"/bin/bash"},"proc":{"ppid":90,"comm":"bash","exe":"bash","exepath":"/bin/bash","args":[],"cwd":"/root","uid":0}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"clone","tid":100,"res":101,"args":{}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"execve","tid":101,"res":0,"args":{"exe":"/usr/bin/cat","args":"/etc/shadow"},"proc":{"comm":"cat","exe":"cat","exepath":"/usr/bin/cat","args":["/etc/shadow"]}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/etc/shadow","flags":"O_RDONLY"}}
`

func compile(tb testing.TB, yaml string) *artifact.Artifact {
	tb.Helper()
	art, ds := compiler.Compile([]rules.Source{{Name: "rules.yaml", Data: []byte(yaml)}}, nil)
	if art == nil {
		tb.Fatalf("compile: %v", ds)
	}
	return art
}

type lines struct{ got []string }

func (l *lines) Send(a *output.Alert) {
	l.got = append(l.got, string(output.FormatText(nil, a, &output.Options{Location: time.UTC})))
}

func runTrace(tb testing.TB, e *engine.Engine, trace string) {
	tb.Helper()
	r := replay.NewReader(strings.NewReader(trace))
	var ev event.Event
	var pc event.ProcContext
	for {
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			return
		}
		if err != nil {
			tb.Fatal(err)
		}
		if pc.Present() {
			state.ApplyProc(e.Table(), ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		e.Process(&ev)
	}
}

func usersDir(tb testing.TB) *state.Users {
	dir := tb.TempDir()
	writeFile(tb, dir+"/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
	writeFile(tb, dir+"/etc/group", "root:x:0:\n")
	return state.NewUsers(&state.UsersOptions{Root: dir})
}

func TestRuleMatching(t *testing.T) {
	art := compile(t, sampleRules)
	for _, tc := range []struct {
		name     string
		matchAll bool
		minPrio  output.Priority
		want     []string
	}{
		{"first", false, output.PriorityDebug, []string{
			"17:39:55.528217587: Warning Sample read (file=/etc/shadow proc=cat pname=bash cmd=cat /etc/shadow aname2=bash uid=0 user=root missing=<NA>)",
		}},
		{"all", true, output.PriorityDebug, []string{
			"17:39:55.528217587: Warning Sample read (file=/etc/shadow proc=cat pname=bash cmd=cat /etc/shadow aname2=bash uid=0 user=root missing=<NA>)",
			"17:39:55.528217587: Debug cat opened /etc/shadow",
		}},
		{"min priority keeps warning", true, output.PriorityWarning, []string{
			"17:39:55.528217587: Warning Sample read (file=/etc/shadow proc=cat pname=bash cmd=cat /etc/shadow aname2=bash uid=0 user=root missing=<NA>)",
		}},
		{"min priority drops all", true, output.PriorityError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &lines{}
			e, err := engine.New(art, engine.Options{
				Table: state.NewTable(&state.Options{ProcReadsPerSec: -1}), Users: usersDir(t), Hostname: "h",
				Sink: sink, MatchAll: tc.matchAll, MinPriority: tc.minPrio,
			})
			if err != nil {
				t.Fatal(err)
			}
			runTrace(t, e, sampleTrace)
			e.Flush()
			if diff := cmp.Diff(tc.want, sink.got); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			if s := e.Stats(); s.Events != 5 || s.Alerts != uint64(len(tc.want)) {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// generatedRules returns n rules shaped like real ones: a syscall set, a
// process-name list, a path prefix and a userspace-only residual.
func generatedRules(n int) string {
	var b strings.Builder
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: evt.type in (open, openat, openat2) and evt.is_open_read=true and fd.name startswith /secret%d/ and not proc.name in (a%d, b%d, c%d, d%d)\n  output: \"x %%fd.name %%proc.cmdline\"\n  priority: WARNING\n", i, i, i, i, i, i)
		case 1:
			fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: evt.type in (execve, execveat) and proc.name in (tool%d, other%d) and proc.pname != init\n  output: \"x %%proc.cmdline\"\n  priority: NOTICE\n", i, i, i)
		default:
			fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: evt.type = openat and fd.directory = /etc/conf%d and proc.aname[2] = sshd%d\n  output: \"x %%fd.name\"\n  priority: ERROR\n", i, i, i)
		}
	}
	return b.String()
}

// BenchmarkProcess measures the userspace path of one event that survived
// the kernel: state update, candidate rules in the VM, and (when it
// matches) the alert's rendering. 100 rules are loaded.
func BenchmarkProcess(b *testing.B) {
	art := compile(b, generatedRules(100))
	for _, tc := range []struct {
		name, path string
	}{
		{"nomatch", "/home/user/notes.txt"},
		{"match", "/secret3/key"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := engine.New(art, engine.Options{Table: state.NewTable(&state.Options{ProcReadsPerSec: -1}), Users: usersDir(b), MinPriority: output.PriorityDebug, Sink: discard{}})
			if err != nil {
				b.Fatal(err)
			}
			runTrace(b, e, sampleTrace)
			trace := fmt.Sprintf(`{"ts":1,"type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":%q,"flags":"O_RDONLY"}}`+"\n", tc.path)
			var ev event.Event
			if err := replay.NewReader(strings.NewReader(trace)).Next(&ev, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Process(&ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if tc.name == "match" && e.Stats().Alerts == 0 {
				b.Fatal("no alert")
			}
			if tc.name == "nomatch" && e.Stats().Alerts != 0 {
				b.Fatal("unexpected alert")
			}
		})
	}
}

// BenchmarkReplayDecode measures the JSON replay reader alone.
func BenchmarkReplayDecode(b *testing.B) {
	line := []byte(`{"ts":1,"type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/home/user/notes.txt","flags":"O_RDONLY"}}` + "\n")
	data := bytes.Repeat(line, 10000)
	var ev event.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	n := 0
	for b.Loop() {
		r := replay.NewReader(bytes.NewReader(data))
		for r.Next(&ev, nil) == nil {
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

type discard struct{}

func (discard) Send(*output.Alert) {}
