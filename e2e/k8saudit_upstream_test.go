package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upstreamRules is the k8saudit plugin's own rules file (0.18.0, see its
// README.md).
var upstreamRules = filepath.Join("..", "runtime", "k8saudit", "testdata", "upstream", "k8s_audit_rules.yaml")

// Pods with the containers the 0.18 rules look at beyond containers:
// a privileged init container, and an ephemeral container added with
// kubectl debug.
const (
	initPrivileged = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"u-1","stage":"ResponseComplete",
 "requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"system:serviceaccount:kube-system:replicaset-controller"},
 "objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},
 "requestObject":{"kind":"Pod","apiVersion":"v1","spec":{
   "initContainers":[{"name":"setup","image":"busybox:1.36","securityContext":{"privileged":true}}],
   "containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":80}]}]}},
 "responseObject":{"kind":"Pod","metadata":{"name":"web-1","namespace":"default"}},
 "stageTimestamp":"2026-11-26T09:20:00.100000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`
	ephemeral = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"u-2","stage":"ResponseComplete",
 "requestURI":"/api/v1/namespaces/default/pods/web-1/ephemeralcontainers","verb":"patch","user":{"username":"minikube-user"},
 "objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1","subresource":"ephemeralcontainers"},
 "responseStatus":{"metadata":{},"code":200},
 "requestObject":{"ephemeralContainers":[{"name":"debugger-x1","image":"busybox:1.36","stdin":true,"tty":true}]},
 "stageTimestamp":"2026-11-26T09:21:00Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`
)

// TestK8sAuditUpstreamRules loads the k8saudit plugin's newest rules
// (required_plugin_versions k8saudit 0.18.0, json 0.7.0) in falco-run and
// posts Falco's k8s audit test traces and two pods with init and ephemeral
// containers to the real webhook: each trace raises the rules its
// conditions select, with Falco's rendering of list and JSON values.
func TestK8sAuditUpstreamRules(t *testing.T) {
	rules, err := filepath.Abs(upstreamRules)
	if err != nil {
		t.Fatal(err)
	}
	// falco-run -V validates it as Falco does: no error, no warning.
	out, err := exec.Command(filepath.Join(bin, "falco-run"), "-V", rules).CombinedOutput()
	if err != nil || string(out) != rules+": Ok\n" {
		t.Fatalf("falco-run -V: %v\n%s", err, out)
	}
	traces, err := filepath.Glob(filepath.Join(regressionDir, "trace_files", "k8s_audit", "*.json"))
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	sort.Strings(traces)
	var bodies, names []string
	for _, tr := range traces {
		data, err := os.ReadFile(tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				bodies = append(bodies, l)
				names = append(names, strings.TrimSuffix(filepath.Base(tr), ".json"))
			}
		}
	}
	bodies = append(bodies, initPrivileged, ephemeral)
	names = append(names, "init_privileged", "ephemeral")
	r := runWebhook(t, []string{rules}, bodies, "-o", "json_output=true", "--enable-source", "k8s_audit")
	if r.err != nil {
		t.Fatalf("falco-run: %v\n%s", r.err, r.stderr)
	}
	// Every body is accepted but fal_01_003 ({"kind": 0}).
	for i, code := range r.codes {
		want := http.StatusOK
		if names[i] == "fal_01_003" {
			want = http.StatusBadRequest
		}
		if code != want {
			t.Errorf("%s: status %d, want %d", names[i], code, want)
		}
	}
	if !strings.Contains(r.stderr, "data not recognized as a k8s audit event\n") ||
		!strings.Contains(r.stderr, "K8s audit: events 53, malformed 1, dropped 0, ") {
		t.Errorf("stderr lacks the refusal or the counters:\n%s", r.stderr)
	}
	var alerts []alert
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var a alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		alerts = append(alerts, a)
		counts[a.Rule]++
	}
	wantCounts := map[string]int{
		"Anonymous Request Allowed": 1, "Attach to cluster-admin Role": 1, "Attach/Exec Pod": 2,
		"ClusterRole With Pod Exec Created": 1, "ClusterRole With Wildcard Created": 2, "ClusterRole With Write Privileges Created": 1,
		"K8s ClusterRole Created": 1, "K8s ClusterRoleBinding Created": 1, "K8s ConfigMap Created": 2,
		"Create/Modify Configmap With Private Credentials": 6, "K8s Deployment Created": 1,
		"Create HostNetwork Pod": 1, "Create Privileged Pod": 4, "Create Sensitive Mount Pod": 2,
		"Create NodePort Service": 1, "K8s Service Created": 2, "Pod Created in Kube Namespace": 2,
		"K8s Secret Created": 1, "K8s Serviceaccount Created": 1, "Service Account Created in Kube Namespace": 2,
		"System ClusterRole Modified/Deleted": 2, "K8s ClusterRole Deleted": 1, "K8s ClusterRoleBinding Deleted": 1,
		"K8s ConfigMap Deleted": 1, "K8s Deployment Deleted": 1, "K8s Namespace Deleted": 1, "K8s Secret Deleted": 1,
		"K8s Service Deleted": 1, "K8s Serviceaccount Deleted": 1, "Create Disallowed Namespace": 1, "Disallowed K8s User": 1,
		"EphemeralContainers Created": 1,
	}
	if d := cmp.Diff(wantCounts, counts); d != "" {
		t.Errorf("alerts per rule (-want +got):\n%s", d)
	}
	// Outputs: lists as (a,b), service.ports as one JSON array, subjects
	// as JSON objects, jevt.value objects in the event's key order.
	wantOutputs := []string{
		`Warning Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller pod=nginx-deployment-544b59f8b8-ffkxm resource=pods ns=default images=(nginx,mysql:latest) init_images=<NA> ephemeral_images=<NA>)`,
		`Warning Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller pod=web-1 resource=pods ns=default images=(nginx:1.27) init_images=(busybox:1.36) ephemeral_images=<NA>)`,
		`Notice Ephemeral container is created in pod (user=minikube-user pod=web-1 resource=pods ns=default ephemeral_container_name=debugger-x1 ephemeral_container_image=busybox:1.36)`,
		`Warning NodePort Service Created (user=minikube-user service=nginx resource=services ns=default ports=([{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}]))`,
		`Warning Pod started with sensitive mount (user=system:serviceaccount:kube-system:replicaset-controller pod=nginx-deployment-7d5b5dd9cf-t8ngb ns=default resource=pods images=(nginx) volumes=[{"hostPath":{"path":"/etc","type":""},"name":"etc"}])`,
		`Warning Cluster Role Binding to cluster-admin role (user=minikube-user subject=({"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"minikube"}))`,
		`Notice Attach/Exec to pod (user=minikube-user pod=nginx-deployment-7998647bdf-phvq7 resource=pods ns=default action=exec command=bash)`,
	}
	have := map[string]bool{}
	for _, a := range alerts {
		_, msg, _ := strings.Cut(a.Output, ": ")
		have[msg] = true
	}
	for _, w := range wantOutputs {
		if !have[w] {
			t.Errorf("no alert %q", w)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestK8sAuditRendering prints plugin fields as Falco prints them, in the
// text and the JSON alert: an indexed list field is still a list, add
// capabilities one JSON array per container, host_port the containerPort
// when there is no hostPort, image.repository cut at the first ':',
// jevt.rawtime text, jevt.value objects in the event's key order, and
// jevt.obj the indented event.
func TestK8sAuditRendering(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "render.yaml")
	if err := os.WriteFile(rules, []byte(`
- rule: Render
  desc: plugin field rendering
  condition: ka.req.pod.initContainers.privileged intersects (true)
  output: "img0=%ka.req.pod.containers.image[0] repo=%ka.req.pod.containers.image.repository caps=%ka.req.pod.initContainers.add_capabilities ports=%ka.req.pod.containers.host_port raw=%jevt.rawtime ctr=%jevt.value[/requestObject/spec/containers/0] uid=%ka.req.pod.containers.eff_run_as_user"
  priority: NOTICE
  source: k8s_audit
- rule: Object
  desc: jevt.obj
  condition: ka.verb = get
  output: "%jevt.obj"
  priority: NOTICE
  source: k8s_audit
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := `{"kind":"Event","auditID":"r-1","verb":"create","stageTimestamp":"2026-11-26T09:20:00Z",
 "requestObject":{"spec":{"securityContext":{"runAsUser":1000},
   "initContainers":[{"name":"i","image":"busybox","securityContext":{"privileged":true,"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}}}],
   "containers":[{"name":"web","image":"registry.local:5000/web:1.2","ports":[{"containerPort":8080,"protocol":"TCP"}]},
                 {"name":"side","image":"side:2","ports":[{"hostPort":9090,"containerPort":90}]}]}}}`
	get := `{"kind":"Event","auditID":"r-2","verb":"get","user":{"username":"a","groups":["x"]},"stageTimestamp":"2026-11-26T09:20:01Z"}`
	r := runWebhook(t, []string{rules}, []string{pod, get}, "-o", "json_output=true")
	if r.err != nil {
		t.Fatalf("falco-run: %v\n%s", r.err, r.stderr)
	}
	want := []string{
		`{"hostname":"test-host","output":"09:20:00.000000000: Notice img0=(registry.local:5000/web:1.2) repo=(registry.local,side) caps=([\"NET_ADMIN\",\"SYS_TIME\"]) ports=(8080,9090) raw=1795684800000000000 ctr={\"name\":\"web\",\"image\":\"registry.local:5000/web:1.2\",\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}]} uid=(0,0)","output_fields":{"evt.time":1795684800000000000,"jevt.rawtime":"1795684800000000000","jevt.value[/requestObject/spec/containers/0]":"{\"name\":\"web\",\"image\":\"registry.local:5000/web:1.2\",\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}]}","ka.req.pod.containers.eff_run_as_user":["0","0"],"ka.req.pod.containers.host_port":["8080","9090"],"ka.req.pod.containers.image.repository":["registry.local","side"],"ka.req.pod.containers.image[0]":["registry.local:5000/web:1.2"],"ka.req.pod.initContainers.add_capabilities":["[\"NET_ADMIN\",\"SYS_TIME\"]"]},"priority":"Notice","rule":"Render","source":"k8s_audit","tags":[],"time":"2026-11-26T09:20:00.000000000Z"}`,
		`{"hostname":"test-host","output":"09:20:01.000000000: Notice {\n  \"kind\": \"Event\",\n  \"auditID\": \"r-2\",\n  \"verb\": \"get\",\n  \"user\": {\n    \"username\": \"a\",\n    \"groups\": [\n      \"x\"\n    ]\n  },\n  \"stageTimestamp\": \"2026-11-26T09:20:01Z\"\n}","output_fields":{"evt.time":1795684801000000000,"jevt.obj":"{\n  \"kind\": \"Event\",\n  \"auditID\": \"r-2\",\n  \"verb\": \"get\",\n  \"user\": {\n    \"username\": \"a\",\n    \"groups\": [\n      \"x\"\n    ]\n  },\n  \"stageTimestamp\": \"2026-11-26T09:20:01Z\"\n}"},"priority":"Notice","rule":"Object","source":"k8s_audit","tags":[],"time":"2026-11-26T09:20:01.000000000Z"}`,
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSpace(r.stdout), "\n")); d != "" {
		t.Errorf("alerts (-want +got):\n%s\nstderr:\n%s", d, r.stderr)
	}
}
