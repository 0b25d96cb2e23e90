package agent_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/agent"
	"github.com/falcoc/falcoc/runtime/output"
)

const testRules = `
- rule: shadow read
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "%proc.name read %fd.name"
  priority: WARNING
`

const testTrace = `{"ts":"2026-11-26T17:39:55.528217587Z","type":"execve","tid":101,"res":0,"args":{"exe":"/usr/bin/cat"},"proc":{"ppid":1,"comm":"cat","exe":"cat","exepath":"/usr/bin/cat","args":["/etc/shadow"],"cwd":"/root","uid":0}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/etc/shadow","flags":"O_RDONLY"}}
{"ts":"2026-11-26T17:39:55.528217587Z","type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/etc/hosts","flags":"O_RDONLY"}}
`

func compile(t *testing.T) *artifact.Artifact {
	t.Helper()
	art, ds := compiler.Compile([]rules.Source{{Name: "r.yaml", Data: []byte(testRules)}}, nil)
	if art == nil {
		t.Fatalf("compile: %v", ds)
	}
	return art
}

func newOutputs(t *testing.T, w *bytes.Buffer) *output.Outputs {
	t.Helper()
	outs, err := output.New(output.Config{}, output.NewStdout(w, false))
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// TestReplay runs the agent with the replay source, with and without the
// kernel plan's judgement: one alert, and the counters on the log.
func TestReplay(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	if err := os.WriteFile(trace, []byte(testTrace), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []bpf.Mode{bpf.ModeFull, bpf.ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			var alerts, log bytes.Buffer
			a, err := agent.New(agent.Options{
				Rules: compile(t), Trace: trace, Syscall: true, Prefilter: mode,
				Outputs: newOutputs(t, &alerts), MinPriority: output.PriorityDebug, Log: &log,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(alerts.String(), "cat read /etc/shadow"); got != 1 {
				t.Errorf("%d alerts, want 1:\n%s", got, alerts.String())
			}
			if !strings.Contains(log.String(), "Events processed: 3, ") {
				t.Errorf("log lacks the counters:\n%s", log.String())
			}
		})
	}
}

func TestNoSource(t *testing.T) {
	var alerts, log bytes.Buffer
	a, err := agent.New(agent.Options{Rules: compile(t), Outputs: newOutputs(t, &alerts), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no other event source to run") {
		t.Errorf("Run() = %v, want the no-source error", err)
	}
}

func TestDryRun(t *testing.T) {
	var alerts, log bytes.Buffer
	a, err := agent.New(agent.Options{Rules: compile(t), Syscall: true, DryRun: true, Outputs: newOutputs(t, &alerts), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil || log.Len() != 0 || alerts.Len() != 0 {
		t.Errorf("dry run: err %v, log %q, alerts %q", err, log.String(), alerts.String())
	}
}
