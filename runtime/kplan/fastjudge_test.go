package kplan

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/internal/rulegen"
	defaultrules "github.com/falcoc/falcoc/rules"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

// TestFastJudge: UserJudge.Mask, with its per-type table and its tables
// of recent values, gives exactly the mask plan.Judger computes from the
// kernel view the judge builds (UserJudge.view), for every event of the
// golden cases and of a generated trace (processes that exec and change
// names, opens, connects, binds, sockets, ptrace), under the default
// rules, generated rules and the socket/exec/ptrace rules of
// TestUserJudgeState. The generated trace has more distinct paths and
// names than the tables have slots, so evictions are exercised.
func TestFastJudge(t *testing.T) {
	def, err := fs.ReadFile(defaultrules.FS, defaultrules.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]byte{
		"default":   def,
		"generated": rulegen.Generate(100, 1),
		"distinct":  rulegen.GenerateDistinct(200, 1),
		// More clauses than 256 bits hold: a wider mask.
		"distinct-wide": rulegen.GenerateDistinct(700, 1),
		"judge":         []byte(judgeRules),
	}
	var traces [][]byte
	files, err := filepath.Glob("../../golden/testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, f := range files {
		arc, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, af := range arc.Files {
			if af.Name == "events.jsonl" {
				traces = append(traces, af.Data)
			}
		}
	}
	traces = append(traces, judgeTrace(20000))
	gen := len(traces) - 1
	for name, src := range sets {
		rs, ds := rules.Load([]rules.Source{{Name: name + ".yaml", Data: src}}, nil)
		if rs == nil {
			t.Fatalf("%s: load: %v", name, ds)
		}
		p, err := prefilter.Build(rs, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		u := NewUserJudge(p)
		if name == "distinct-wide" && p.Tables.MaskWords() <= plan.MaskHeadWords {
			t.Fatalf("%s: %d clauses on a %d-bit mask: not wide", name, len(p.Clauses), 64*p.Tables.MaskWords())
		}
		judged, narrowed := 0, 0
		for ti, tr := range traces {
			tab := state.NewTable(&state.Options{ProcRoot: t.TempDir(), ProcReadsPerSec: -1})
			r := replay.NewReader(bytes.NewReader(tr))
			for {
				var ev event.Event
				var pc event.ProcContext
				err := r.Next(&ev, &pc)
				if err == io.EOF {
					break
				}
				if err != nil {
					if ti == gen {
						t.Fatalf("generated trace: %v", err)
					}
					continue // the golden error cases
				}
				if pc.Present() {
					state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &pc)
				}
				state.ApplyBefore(tab, &ev)
				th := tab.Get(ev.Tid)
				got := u.Mask(&ev, th)
				want := plan.AllClauses
				if v, ok := u.view(&ev, th); ok {
					want = u.j.JudgeView(&v)
					judged++
					if want != u.j.Gate(v.Syscall) {
						narrowed++
					}
				}
				if got != want {
					t.Fatalf("%s: line %d (%s): Mask %v, Judger %v", name, r.Line(), ev.Type(), got.Bits(), want.Bits())
				}
				state.ApplyAfter(tab, &ev)
			}
		}
		t.Logf("%s: %d events judged, %d narrowed beyond the gate (%d clauses, a %d-bit mask)", name, judged, narrowed, len(p.Clauses), 64*p.Tables.MaskWords())
		if narrowed < 1000 {
			t.Errorf("%s: weak test: %d events narrowed beyond the gate", name, narrowed)
		}
	}
}

// judgeTrace writes n events of processes that exec, rename themselves,
// change uid, open, connect, bind, create sockets, send and ptrace.
func judgeTrace(n int) []byte {
	r := rand.New(rand.NewSource(3))
	var b bytes.Buffer
	comms := []string{"bash", "cat", "nc", "proc12", "proc287", "sshd", "proc59", "a-very-long-process-name"}
	for i := range 20 {
		fmt.Fprintf(&b, `{"ts":1,"type":"execve","tid":%d,"res":0,"args":{"exe":"x"},"proc":{"ppid":1,"comm":%q,"exe":"x","exepath":"/usr/bin/x","cwd":"/","uid":%d,"euid":%d,"cgroup":%q}}`+"\n",
			100+i, comms[i%len(comms)], 1000+i%3, 1000+i%3, []string{"/", "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "/user.slice"}[i%3])
	}
	dirs := []string{"/etc", "/srv/app81", "/srv/app7", "/var/lib/svc3", "/opt/svc4", "/dev", "/tmp", "/etc/app12", "/usr/bin"}
	files := []string{"secret.conf", "key.pem", "x", "null", "passwd", "shadow", "a.so", "", "..", "."}
	path := func() string {
		switch r.Intn(10) {
		case 0:
			return "relative/" + files[r.Intn(len(files))]
		case 1:
			return fmt.Sprintf("/tmp/f%d", r.Intn(3000)) // more than the path table's slots
		}
		return dirs[r.Intn(len(dirs))] + "/" + files[r.Intn(len(files))]
	}
	for i := range n {
		tid := 100 + r.Intn(20)
		switch k := r.Intn(100); {
		case k < 50:
			typ := []string{"openat", "open", "openat2", "creat", "unlink", "mkdir"}[r.Intn(6)]
			args := fmt.Sprintf(`"name":%q,"flags":%d`, path(), []int{0, 1, 2, 0o101, 0o1001, 0o2000000}[r.Intn(6)])
			switch typ {
			case "unlink", "mkdir":
				args = fmt.Sprintf(`"path":%q`, path())
			case "creat":
				args = fmt.Sprintf(`"name":%q`, path())
			}
			fmt.Fprintf(&b, `{"ts":%d,"type":%q,"tid":%d,"res":%d,"args":{%s}}`+"\n", i+2, typ, tid, []int{3, 4, -2}[r.Intn(3)], args)
		case k < 60:
			fmt.Fprintf(&b, `{"ts":%d,"type":"socket","tid":%d,"res":%d,"args":{"domain":%q,"type":1,"proto":0}}`+"\n",
				i+2, tid, 3+r.Intn(6), []string{"AF_INET", "AF_INET6", "AF_UNIX", "AF_PACKET"}[r.Intn(4)])
		case k < 72:
			addr := []string{"1.2.3.4:443", "10.0.0.9:80", "[::1]:443", "/run/x.sock", "10.0.0.9:22"}[r.Intn(5)]
			fmt.Fprintf(&b, `{"ts":%d,"type":"connect","tid":%d,"res":%d,"args":{"fd":%d,"addr":%q}}`+"\n",
				i+2, tid, []int{0, -115, -111}[r.Intn(3)], 3+r.Intn(6), addr)
		case k < 78:
			fmt.Fprintf(&b, `{"ts":%d,"type":"bind","tid":%d,"res":%d,"args":{"fd":%d,"addr":%q}}`+"\n",
				i+2, tid, []int{0, -98}[r.Intn(2)], 3+r.Intn(6), []string{"0.0.0.0:22", "0.0.0.0:8080", "[::]:22"}[r.Intn(3)])
		case k < 80:
			// sendto/sendmsg on whatever the descriptor holds (a socket of
			// any family, connected or not, a file, nothing).
			fmt.Fprintf(&b, `{"ts":%d,"type":%q,"tid":%d,"res":%d,"args":{"fd":%d,"size":8}}`+"\n",
				i+2, []string{"sendto", "sendmsg"}[r.Intn(2)], tid, []int{8, -11}[r.Intn(2)], 3+r.Intn(6))
		case k < 82:
			fmt.Fprintf(&b, `{"ts":%d,"type":"ptrace","tid":%d,"res":0,"args":{"request":%q,"pid":5}}`+"\n",
				i+2, tid, []string{"PTRACE_ATTACH", "PTRACE_PEEKDATA", "PTRACE_POKETEXT"}[r.Intn(3)])
		case k < 88:
			prog := []string{"/usr/bin/nc", "/bin/ls", "/usr/bin/proc12", "/tmp/x", "/usr/sbin/sshd"}[r.Intn(5)]
			if r.Intn(3) == 0 {
				// An exec that moves the process to another cgroup.
				fmt.Fprintf(&b, `{"ts":%d,"type":"execve","tid":%d,"res":0,"args":{"exe":"x"},"proc":{"ppid":1,"comm":%q,"exe":"x","exepath":%q,"cwd":"/","uid":0,"euid":0,"cgroup":%q}}`+"\n",
					i+2, tid, comms[r.Intn(len(comms))], prog, []string{"/", "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "/user.slice"}[r.Intn(3)])
				break
			}
			fmt.Fprintf(&b, `{"ts":%d,"type":"execve","tid":%d,"res":%d,"args":{"exe":"x","filename":%q,"comm":%q}}`+"\n",
				i+2, tid, []int{0, 0, -2}[r.Intn(3)], prog, comms[r.Intn(len(comms))])
		case k < 92:
			// More uids and names than the judge's tables have slots.
			fmt.Fprintf(&b, `{"ts":%d,"type":"setuid","tid":%d,"res":0,"args":{"uid":%d}}`+"\n", i+2, tid, []int{0, 1000, 1001, 1042, 1000 + r.Intn(300)}[r.Intn(5)])
		case k < 95:
			comm := comms[r.Intn(len(comms))]
			if r.Intn(2) == 0 {
				comm = fmt.Sprintf("proc%d", r.Intn(400))
			}
			fmt.Fprintf(&b, `{"ts":%d,"type":"prctl","tid":%d,"res":0,"args":{"option":15,"arg2_str":%q}}`+"\n", i+2, tid, comm)
		default:
			fmt.Fprintf(&b, `{"ts":%d,"type":"close","tid":%d,"res":0,"args":{"fd":%d}}`+"\n", i+2, tid, 3+r.Intn(6))
		}
	}
	return b.Bytes()
}

// TestOpenFlagsOf: openFlagsOf gives flags of every class.
func TestOpenFlagsOf(t *testing.T) {
	for c := range 16 {
		if got := plan.OpenClass(openFlagsOf(c)); got != c {
			t.Errorf("class %#b: flags %#o have class %#b", c, openFlagsOf(c), got)
		}
	}
}
