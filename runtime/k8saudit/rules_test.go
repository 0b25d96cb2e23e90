package k8saudit

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/output"
)

// ruleNames records the rules that raised an alert.
type ruleNames []string

func (r *ruleNames) Send(a *output.Alert) { *r = append(*r, a.Rule) }

// TestProjectRules runs the project's own k8s audit rules
// (rules/k8s_audit_rules.yaml) on the test events: each rule fires where
// it should, and nothing fires on the benign ones.
func TestProjectRules(t *testing.T) {
	data, err := os.ReadFile("../../rules/k8s_audit_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	art := compile(t, string(data))
	anon := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n-1","stageTimestamp":"2026-11-26T10:00:00Z","stage":"ResponseComplete","verb":"get",
 "requestURI":"/api/v1/secrets","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},
 "objectRef":{"resource":"secrets"},"sourceIPs":["203.0.113.9"],
 "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"misconfigured"}}`
	health := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n-2","stageTimestamp":"2026-11-26T10:00:00Z","stage":"ResponseComplete","verb":"get",
 "requestURI":"/healthz","user":{"username":"system:anonymous"},
 "annotations":{"authorization.k8s.io/decision":"allow"}}`
	systemPod := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n-3","stageTimestamp":"2026-11-26T10:00:00Z","stage":"ResponseComplete","verb":"create",
 "objectRef":{"resource":"pods","namespace":"kube-system","name":"cni"},
 "requestObject":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"cni","securityContext":{"privileged":true}}]}}}`
	tests := []struct {
		name  string
		event *Event
		want  []string
	}{
		{"pod_create", loadEvent(t, "pod_create"),
			[]string{"K8s privileged pod created", "K8s pod shares host namespaces", "K8s sensitive host path mounted"}},
		{"pod_ipc in kube-system", loadEvent(t, "pod_ipc"), nil},
		{"exec", loadEvent(t, "exec"), []string{"K8s exec or attach into a pod"}},
		{"binding", loadEvent(t, "binding"), []string{"K8s cluster-admin granted"}},
		{"role", loadEvent(t, "role"), []string{"K8s wildcard role"}},
		{"service", loadEvent(t, "service"), []string{"K8s service exposed on a node port"}},
		{"configmap", loadEvent(t, "configmap"), []string{"K8s secrets in a config map"}},
		{"anonymous", decodeOneEvent(t, anon), []string{"K8s anonymous request allowed"}},
		{"anonymous health check", decodeOneEvent(t, health), nil},
		{"privileged pod in kube-system", decodeOneEvent(t, systemPod), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got ruleNames
			p, err := NewPipeline(art, engine.SourceOptions{Sink: &got, MatchAll: true, MinPriority: output.PriorityDebug}, EnvOptions{})
			if err != nil {
				t.Fatal(err)
			}
			q := make(chan []*Event, 1)
			q <- []*Event{tc.event}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Run drains what is queued, then returns
			p.Run(ctx, q)
			if diff := cmp.Diff(tc.want, []string(got)); diff != "" {
				t.Errorf("rules fired (-want +got):\n%s", diff)
			}
		})
	}
}

func decodeOneEvent(tb testing.TB, s string) *Event {
	tb.Helper()
	evs, refused, err := Decode([]byte(s), DecodeOptions{})
	if err != nil || len(evs) != 1 {
		tb.Fatalf("decode: %d events, %v %v", len(evs), err, refused)
	}
	return evs[0]
}

// TestUpstreamRules compiles the k8saudit plugin's own rules file (0.18.0,
// testdata/upstream) without a diagnostic and runs it on the test events.
func TestUpstreamRules(t *testing.T) {
	data, err := os.ReadFile("testdata/upstream/k8s_audit_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	art, ds := compiler.Compile([]rules.Source{{Name: "k8s_audit_rules.yaml", Data: data}}, nil)
	if art == nil || len(ds) > 0 {
		t.Fatalf("compile: %v", ds)
	}
	if n := len(art.Rules); n != 48 {
		t.Errorf("%d rules, want the file's 48", n)
	}
	tests := []struct {
		event string
		want  []string
	}{
		{"pod_create", []string{"Disallowed K8s User", "Create Privileged Pod", "Create Sensitive Mount Pod", "Create HostNetwork Pod"}},
		// No user: `not ka.user.name startswith "system:"` is true on a
		// missing value, so Disallowed K8s User fires, as in Falco.
		{"pod_ipc", []string{"Disallowed K8s User", "Create HostPid Pod", "Create HostIPC Pod", "Pod Created in Kube Namespace"}},
		{"exec", []string{"Attach/Exec Pod"}},
		{"binding", []string{"Attach to cluster-admin Role"}}, // admin is an allowed user
		// No response code: K8s ClusterRole Created needs a 2xx.
		{"role", []string{"Disallowed K8s User", "ClusterRole With Wildcard Created"}},
		{"service", []string{"Disallowed K8s User", "Create NodePort Service"}},
		{"configmap", []string{"Disallowed K8s User", "Create/Modify Configmap With Private Credentials"}},
	}
	for _, tc := range tests {
		var got ruleNames
		p, err := NewPipeline(art, engine.SourceOptions{Sink: &got, MatchAll: true, MinPriority: output.PriorityDebug}, EnvOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Process(loadEvent(t, tc.event))
		if d := cmp.Diff(tc.want, []string(got)); d != "" {
			t.Errorf("%s: rules fired (-want +got):\n%s", tc.event, d)
		}
	}
}
