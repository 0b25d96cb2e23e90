package kplan

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"testing"

	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// BenchmarkUserJudge measures UserJudge.Mask alone on the events of
// runtime/engine's BenchmarkReplay trace (opens of 400 paths, closes,
// connects by ten processes), under 100 generated rules.
func BenchmarkUserJudge(b *testing.B) {
	rs, ds := rules.Load([]rules.Source{{Name: "gen.yaml", Data: rulegen.Generate(100, 1)}}, nil)
	if rs == nil {
		b.Fatal(ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		b.Fatal(err)
	}
	u := NewUserJudge(p)
	tab := state.NewTable(&state.Options{ProcRoot: b.TempDir(), ProcReadsPerSec: -1})
	r := replay.NewReader(bytes.NewReader(benchTrace(4096)))
	var evs []event.Event
	var ths []*state.Thread
	for {
		var ev event.Event
		var pc event.ProcContext
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if pc.Present() {
			state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		state.ApplyBefore(tab, &ev)
		ev.Params = slices.Clone(ev.Params)
		evs = append(evs, ev)
		ths = append(ths, tab.Get(ev.Tid))
		state.ApplyAfter(tab, &ev)
	}
	// A few events, again and again, so that they stay in the cache as
	// a reader's one reused Event does.
	evs, ths = evs[len(evs)-128:], ths[len(ths)-128:]
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range evs {
			m := u.Mask(&evs[i], ths[i])
			if !m.IsZero() {
				n++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	b.ReportMetric(float64(n)/float64(b.N*len(evs)), "kept/event")
}

// benchTrace is runtime/engine's replayTrace.
func benchTrace(n int) []byte {
	r := rand.New(rand.NewSource(1))
	var b bytes.Buffer
	comms := []string{"bash", "cat", "python3", "gcc", "node", "java", "nginx", "systemd", "sshd", "make"}
	for i, c := range comms {
		fmt.Fprintf(&b, `{"ts":1,"type":"execve","tid":%d,"res":0,"args":{"exe":"/usr/bin/%s"},"proc":{"ppid":1,"comm":%q,"exe":%q,"exepath":"/usr/bin/%s","args":["-x"],"cwd":"/home/u","uid":1000,"euid":1000,"cgroup":"/"}}`+"\n", 1000+i, c, c, c, c)
	}
	dirs := []string{"/usr/lib/x86_64-linux-gnu", "/home/u/src/project", "/tmp/build", "/usr/share/locale", "/var/lib/app", "/proc/self"}
	for i := range n {
		tid := 1000 + r.Intn(len(comms))
		switch k := r.Intn(100); {
		case k < 70:
			fmt.Fprintf(&b, `{"ts":%d,"type":"openat","tid":%d,"res":%d,"args":{"dirfd":-100,"name":"%s/file%d.so","flags":"O_RDONLY|O_CLOEXEC"}}`+"\n",
				i+2, tid, 3+r.Intn(20), dirs[r.Intn(len(dirs))], r.Intn(50))
		case k < 85:
			fmt.Fprintf(&b, `{"ts":%d,"type":"close","tid":%d,"res":0,"args":{"fd":%d}}`+"\n", i+2, tid, 3+r.Intn(20))
		case k < 95:
			fmt.Fprintf(&b, `{"ts":%d,"type":"connect","tid":%d,"res":0,"args":{"fd":5,"tuple":"10.0.0.5:%d->10.0.0.9:%d","addr":"10.0.0.9:%d"}}`+"\n",
				i+2, tid, 30000+r.Intn(20000), 80+r.Intn(3), 80+r.Intn(3))
		default:
			fmt.Fprintf(&b, `{"ts":%d,"type":"openat","tid":%d,"res":4,"args":{"dirfd":-100,"name":"/tmp/build/out%d.o","flags":"O_WRONLY|O_CREAT|O_TRUNC"}}`+"\n",
				i+2, tid, r.Intn(100))
		}
	}
	return b.Bytes()
}
