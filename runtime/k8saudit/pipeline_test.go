package k8saudit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/output"
)

func compile(tb testing.TB, yaml string) *artifact.Artifact {
	tb.Helper()
	art, ds := compiler.Compile([]rules.Source{{Name: "rules.yaml", Data: []byte(yaml)}}, nil)
	if art == nil {
		tb.Fatalf("compile: %v", ds)
	}
	return art
}

// lines formats each alert as Falco's text and JSON lines.
type lines struct {
	text, json []string
}

func (l *lines) Send(a *output.Alert) {
	opts := output.DefaultOptions()
	opts.Location = time.UTC
	l.text = append(l.text, string(output.FormatText(nil, a, &opts)))
	l.json = append(l.json, string(output.FormatJSON(nil, a, &opts)))
}

const pipelineRules = `
- rule: Syscall rule
  desc: never runs on audit events
  condition: evt.type = execve and proc.name = bash
  output: "shell %proc.name"
  priority: WARNING
- rule: Privileged pod
  desc: a pod with a privileged container or a sensitive host path
  condition: >
    ka.verb = create and ka.target.resource = pods and not ka.target.subresource exists
    and (ka.req.pod.containers.privileged intersects (true)
         or ka.req.pod.volumes.hostpath intersects (/var/run/docker.sock, /proc))
  output: "Privileged pod (user=%ka.user.name pod=%ka.target.namespace/%ka.target.name images=%ka.req.pod.containers.image)"
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
- rule: Group member
  desc: list fields, intersects (some element) and in (every element)
  condition: >
    ka.user.groups intersects (dev-team) and ka.user.groups in (dev-team, system:authenticated, admins)
    and not ka.user.groups in (dev-team) and ka.req.pod.run_as_user = 1000
    and ka.req.pod.containers.run_as_user in (0)
    and ka.req.pod.containers.eff_run_as_user in (0)
    and ka.req.pod.run_as_user < 999 and ka.req.pod.run_as_user > 10
  output: "dev-team request (groups=%ka.user.groups uid=%ka.req.pod.run_as_user)"
  priority: NOTICE
  source: k8s_audit
- rule: Exec into pod
  desc: exec with a command param
  condition: ka.target.subresource = exec and ka.uri.param[command] in (bash, sh)
  output: "exec (cmd=%ka.uri.param[command] pod=%ka.target.pod.name missing=%ka.impuser.name)"
  priority: NOTICE
  source: k8s_audit
- rule: Missing is never equal
  desc: a != on a missing field is false
  condition: ka.impuser.name != x and ka.target.subresource = exec
  output: "should not fire"
  priority: ERROR
  source: k8s_audit
- rule: Cluster admin binding
  desc: binding to cluster-admin
  condition: ka.req.binding.role = cluster-admin and ka.req.binding.subject.has_name[mallory] = true
  output: "binding (subjects=%ka.req.binding.subjects code=%ka.response.code src=%evt.source host=%evt.hostname)"
  priority: ERROR
  source: k8s_audit
- rule: Disabled k8s rule
  desc: disabled
  condition: ka.verb exists
  output: "disabled"
  priority: ERROR
  source: k8s_audit
  enabled: false
`

func TestPipeline(t *testing.T) {
	art := compile(t, pipelineRules)
	if !HasRules(art) {
		t.Fatal("HasRules = false")
	}
	var got lines
	p, err := NewPipeline(art, engine.SourceOptions{Hostname: "h", Sink: &got, MatchAll: true, MinPriority: output.PriorityDebug}, EnvOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := make(chan []*Event, 4)
	for _, name := range []string{"pod_create", "exec", "binding", "configmap"} {
		q <- []*Event{loadEvent(t, name)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run drains what is queued, then returns
	p.Run(ctx, q)
	// ka.req.pod.run_as_user is text, as in the plugin: "1000" < "999".
	wantText := []string{
		`10:00:00.123456000: Warning Privileged pod (user=jane@example.test pod=shop/cart-7f9 images=(registry.example.test:5000/shop/cart:1.4.2,busybox@sha256:0123abcd))`,
		`10:00:00.123456000: Notice dev-team request (groups=(dev-team,system:authenticated) uid=1000)`,
		`12:00:03.000000000: Notice exec (cmd=bash pod=<NA> missing=<NA>)`,
		// The subjects are JSON objects; the text line escapes their quotes.
		`11:00:00.500000000: Error binding (subjects=({\"kind\":\"User\",\"name\":\"mallory\"},{\"kind\":\"Group\",\"name\":\"ops\"},{\"kind\":\"ServiceAccount\",\"name\":\"deployer\",\"namespace\":\"ci\"},{\"kind\":\"ServiceAccount\",\"name\":\"nons\"}) code=403 src=k8s_audit host=h)`,
	}
	if d := cmp.Diff(wantText, got.text); d != "" {
		t.Errorf("text (-want +got):\n%s", d)
	}
	wantJSON := `{"hostname":"h","output":"10:00:00.123456000: Warning Privileged pod (user=jane@example.test pod=shop/cart-7f9 images=(registry.example.test:5000/shop/cart:1.4.2,busybox@sha256:0123abcd))","output_fields":{"evt.time":1795687200123456000,"ka.req.pod.containers.image":["registry.example.test:5000/shop/cart:1.4.2","busybox@sha256:0123abcd"],"ka.target.name":"cart-7f9","ka.target.namespace":"shop","ka.user.name":"jane@example.test"},"priority":"Warning","rule":"Privileged pod","source":"k8s_audit","tags":["k8s"],"time":"2026-11-26T10:00:00.123456000Z"}`
	if len(got.json) == 0 || got.json[0] != wantJSON {
		t.Errorf("json[0] = %v\nwant %s", got.json, wantJSON)
	}
	if d := cmp.Diff(engine.Stats{Events: 4, Evaluated: 20, Matches: 4, Alerts: 4}, p.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
}

// differenceRules each rely on one of the plugin's wrong fields, or on
// its corrected meaning.
const differenceRules = `
- rule: sourceips plugin
  desc: the plugin never has ka.sourceips
  condition: ka.verb = create and not ka.sourceips exists
  output: "sourceips plugin: ips=%ka.sourceips"
  priority: NOTICE
  source: k8s_audit
- rule: sourceips corrected
  desc: the client address
  condition: ka.sourceips intersects (10.1.2.3)
  output: "sourceips corrected: ips=%ka.sourceips first=%ka.sourceips[0]"
  priority: NOTICE
  source: k8s_audit
- rule: root container plugin
  desc: the plugin's eff_run_as_user is 0 for every container here
  condition: ka.target.resource = pods and ka.req.pod.containers.eff_run_as_user in (0)
  output: "root container plugin: uids=%ka.req.pod.containers.eff_run_as_user"
  priority: NOTICE
  source: k8s_audit
- rule: root container corrected
  desc: a container that runs as root, one that does not
  condition: ka.req.pod.containers.eff_run_as_user intersects (0) and ka.req.pod.containers.eff_run_as_user intersects (1000)
  output: "root container corrected: uids=%ka.req.pod.containers.eff_run_as_user"
  priority: NOTICE
  source: k8s_audit
- rule: has_name plugin
  desc: the plugin says true for any name
  condition: ka.req.binding.role exists and ka.req.binding.subject.has_name[nobody] = true
  output: "has_name plugin: has nobody=%ka.req.binding.subject.has_name[nobody]"
  priority: NOTICE
  source: k8s_audit
- rule: has_name corrected
  desc: only the binding's subjects
  condition: ka.req.binding.subject.has_name[mallory] = true and ka.req.binding.subject.has_name[nobody] = false
  output: "has_name corrected: has mallory=%ka.req.binding.subject.has_name[mallory]"
  priority: NOTICE
  source: k8s_audit
`

// TestPluginDifferences runs rules written for the plugin's values of
// ka.sourceips, eff_run_as_user and binding.subject.has_name and rules
// written for their corrected meaning, in both modes (README, "Kubernetes
// audit log").
func TestPluginDifferences(t *testing.T) {
	art := compile(t, differenceRules)
	tests := []struct {
		corrected bool
		want      []string
	}{
		{false, []string{
			"pod_create: sourceips plugin: ips=<NA>",
			"pod_create: root container plugin: uids=(0,0)",
			"pod_ipc: sourceips plugin: ips=<NA>",
			"pod_ipc: root container plugin: uids=(0)",
			"binding: sourceips plugin: ips=<NA>",
			"binding: has_name plugin: has nobody=true",
		}},
		{true, []string{
			"pod_create: sourceips corrected: ips=(10.1.2.3,fd00::7) first=(10.1.2.3)",
			"pod_create: root container corrected: uids=(0,1000)",
			"pod_ipc: sourceips plugin: ips=<NA>",      // it has no sourceIPs
			"pod_ipc: root container plugin: uids=(0)", // nor any runAsUser
			"binding: sourceips plugin: ips=<NA>",
			"binding: has_name corrected: has mallory=true",
		}},
	}
	for _, tc := range tests {
		var got []string
		for _, name := range []string{"pod_create", "pod_ipc", "binding"} {
			var l lines
			p, err := NewPipeline(art, engine.SourceOptions{Sink: &l, MatchAll: true, MinPriority: output.PriorityDebug}, EnvOptions{Corrected: tc.corrected})
			if err != nil {
				t.Fatal(err)
			}
			p.Process(loadEvent(t, name))
			for _, line := range l.text {
				got = append(got, name+": "+line[strings.Index(line, "Notice ")+len("Notice "):])
			}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("corrected=%v (-want +got):\n%s", tc.corrected, d)
		}
	}
}
