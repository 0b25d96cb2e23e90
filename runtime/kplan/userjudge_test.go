package kplan

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/prefilter"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
)

const judgeRules = `
- rule: udp send not connected
  desc: d
  condition: evt.type in (sendto, sendmsg) and fd.l4proto = udp and fd.connected = false
  output: o
  priority: NOTICE
- rule: connect 443
  desc: d
  condition: evt.type = connect and evt.rawres >= 0 and fd.rport = 443
  output: o
  priority: NOTICE
- rule: connect ip
  desc: d
  condition: evt.type = connect and evt.res in (SUCCESS, EINPROGRESS) and fd.typechar = 4
  output: o
  priority: NOTICE
- rule: bind 22
  desc: d
  condition: evt.type = bind and evt.res = SUCCESS and fd.lport = 22
  output: o
  priority: NOTICE
- rule: exec nc
  desc: d
  condition: evt.type = execve and evt.res = SUCCESS and proc.exepath = /usr/bin/nc
  output: o
  priority: NOTICE
- rule: attach
  desc: d
  condition: evt.type = ptrace and evt.arg.request = PTRACE_ATTACH
  output: o
  priority: NOTICE
- rule: packet
  desc: d
  condition: evt.type = socket and evt.arg.domain contains AF_PACKET
  output: o
  priority: NOTICE
- rule: dev
  desc: d
  condition: evt.type = open and fd.typechar = f and fd.directory = /dev and not fd.name in (/dev/null)
  output: o
  priority: NOTICE
`

// TestUserJudgeState checks the facts UserJudge takes from the state
// after the event's update: the descriptor's address after connect and
// bind, proc.exepath after exec, the ptrace request, the socket domain;
// and the open's path.
func TestUserJudgeState(t *testing.T) {
	rs, ds := rules.Load([]rules.Source{{Name: "r.yaml", Data: []byte(judgeRules)}}, nil)
	if rs == nil {
		t.Fatalf("load: %v", ds)
	}
	p, err := prefilter.Build(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUserJudge(p)
	tab := state.NewTable(&state.Options{ProcRoot: t.TempDir(), ProcReadsPerSec: -1})
	const proc = `"proc":{"ppid":1,"comm":"x","exe":"x","exepath":"/usr/bin/x","cwd":"/root","uid":0}`
	tests := []struct {
		line string
		want []string
	}{
		{`{"ts":1,"type":"socket","tid":30,"res":3,"args":{"domain":"AF_INET","type":1,"proto":0},` + proc + `}`, nil},
		{`{"ts":2,"type":"connect","tid":30,"res":0,"args":{"fd":3,"tuple":"10.0.0.5:40000->1.2.3.4:443","addr":"1.2.3.4:443"}}`,
			[]string{"connect 443", "connect ip"}},
		// A failed connect leaves the old address: nothing is known.
		{`{"ts":3,"type":"connect","tid":30,"res":-111,"args":{"fd":3,"addr":"1.2.3.4:80"}}`,
			[]string{"connect 443", "connect ip"}},
		{`{"ts":4,"type":"socket","tid":30,"res":5,"args":{"domain":"AF_INET","type":1,"proto":0}}`, nil},
		{`{"ts":4,"type":"socket","tid":30,"res":8,"args":{"domain":"AF_PACKET","type":3,"proto":0}}`, []string{"packet"}},
		{`{"ts":4,"type":"open","tid":30,"res":9,"args":{"fd":9,"name":"/dev/null","flags":1}}`, nil},
		{`{"ts":4,"type":"open","tid":30,"res":10,"args":{"fd":10,"name":"/dev/x","flags":1}}`, []string{"dev"}},
		{`{"ts":5,"type":"connect","tid":30,"res":-115,"args":{"fd":5,"tuple":"10.0.0.5:40001->1.2.3.4:80","addr":"1.2.3.4:80"}}`,
			[]string{"connect ip"}},
		{`{"ts":6,"type":"connect","tid":30,"res":0,"args":{"fd":4,"addr":"/run/x.sock"}}`, nil},
		{`{"ts":7,"type":"bind","tid":30,"res":0,"args":{"fd":6,"addr":"0.0.0.0:22"}}`, []string{"bind 22"}},
		{`{"ts":8,"type":"bind","tid":30,"res":0,"args":{"fd":7,"addr":"0.0.0.0:8080"}}`, nil},
		{`{"ts":9,"type":"ptrace","tid":30,"res":0,"args":{"request":"PTRACE_ATTACH","pid":5}}`, []string{"attach"}},
		{`{"ts":10,"type":"ptrace","tid":30,"res":0,"args":{"request":"PTRACE_PEEKDATA","pid":5}}`, nil},
		{`{"ts":11,"type":"execve","tid":30,"res":0,"args":{"exe":"nc","filename":"/usr/bin/nc","comm":"nc"}}`, []string{"exec nc"}},
		{`{"ts":12,"type":"execve","tid":30,"res":0,"args":{"exe":"ls","filename":"/bin/ls","comm":"ls"}}`, nil},
		// A failed exec: proc.exepath is the old program's, nothing is known.
		{`{"ts":13,"type":"execve","tid":30,"res":-2,"args":{"exe":"nc","filename":"/usr/bin/nc"}}`, []string{"exec nc"}},
	}
	for _, tc := range tests {
		r := replay.NewReader(strings.NewReader(tc.line))
		var ev event.Event
		var pc event.ProcContext
		if err := r.Next(&ev, &pc); err != nil && err != io.EOF {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if pc.Present() {
			state.ApplyProc(tab, ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		state.ApplyBefore(tab, &ev)
		m := u.Mask(&ev, tab.Get(ev.Tid))
		var got []string
		sys, _ := catalog.SyscallID(ev.Info.Name)
		for _, ri := range p.RulesOf(sys, m) {
			got = append(got, p.Rules[ri].Name)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: rules kept (-want +got):\n%s", tc.line, d)
		}
		state.ApplyAfter(tab, &ev)
	}
}
