package k8saudit

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/vm"
)

// loadEvent decodes testdata/name.json, which holds one Event.
func loadEvent(tb testing.TB, name string) *Event {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	evs, refused, err := Decode(data, DecodeOptions{})
	if err != nil || len(refused) > 0 {
		tb.Fatalf("%s: %v %v", name, err, refused)
	}
	if len(evs) != 1 {
		tb.Fatalf("%s: %d events, want 1", name, len(evs))
	}
	return evs[0]
}

// ref parses "name" or "name[arg]" into a field reference.
func ref(s string) vm.FieldRef {
	name, arg, ok := strings.Cut(s, "[")
	if !ok {
		return vm.FieldRef{Name: s, Index: -1}
	}
	return vm.FieldRef{Name: name, Arg: strings.TrimSuffix(arg, "]"), HasArg: true, Index: -1}
}

// extract returns the field's value rendered by vm.Value.String, or
// "<missing>".
func extract(t *testing.T, ev *Event, field string) string {
	t.Helper()
	return extractWith(t, ev, field, EnvOptions{})
}

func extractWith(t *testing.T, ev *Event, field string, opts EnvOptions) string {
	t.Helper()
	env, err := NewEnv([]vm.FieldRef{ref(field)}, opts)
	if err != nil {
		t.Fatalf("NewEnv(%s): %v", field, err)
	}
	env.Reset(ev)
	var v vm.Value
	if !env.Extract(0, &v) {
		return "<missing>"
	}
	return v.String()
}

func TestFields(t *testing.T) {
	tests := []struct {
		event string
		want  map[string]string
	}{
		{"pod_create", map[string]string{
			// request and user
			"ka.auditid":                 `"5e1d7c8a-0b8e-4c1f-9a57-2f6c1b1d0a01"`,
			"ka.stage":                   `"ResponseComplete"`,
			"ka.verb":                    `"create"`,
			"ka.user.name":               `"jane@example.test"`,
			"ka.user.groups":             `["dev-team" "system:authenticated"]`,
			"ka.impuser.name":            `"system:serviceaccount:shop:builder"`,
			"ka.useragent":               `"kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234"`,
			"ka.sourceips":               "<missing>", // as the plugin: see TestCorrectedFields
			"ka.auth.decision":           `"allow"`,
			"ka.auth.reason":             `"RBAC: allowed by ClusterRoleBinding \"dev\""`,
			"ka.auth.openshift.decision": `"allow"`,
			"ka.auth.openshift.username": `"kube:admin"`,
			"ka.validations.admission.policy.failure": `"[{\"message\":\"no\"}]"`,
			"ka.security.pod.violations":              `"privileged (container \"app\" must not set privileged=true)"`,
			"ka.cluster.name":                         `"prod-eu"`,
			"ka.uri":                                  `"/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply&dryRun=All"`,
			"ka.uri.param[dryRun]":                    `"All"`,
			"ka.uri.param[nope]":                      "<missing>",
			"ka.response.code":                        `"201"`,
			"ka.response.reason":                      "<missing>",
			"ka.resp.name":                            `"cart-7f9"`,
			// target
			"ka.target.name":        `"cart-7f9"`,
			"ka.target.namespace":   `"shop"`,
			"ka.target.resource":    `"pods"`,
			"ka.target.subresource": "<missing>",
			"ka.target.pod.name":    `"cart-7f9"`,
			// pod spec: containers
			"ka.req.pod.containers.name":                                `["app" "sidecar"]`,
			"ka.req.pod.containers.image":                               `["registry.example.test:5000/shop/cart:1.4.2" "busybox@sha256:0123abcd"]`,
			"ka.req.pod.containers.image[1]":                            `["busybox@sha256:0123abcd"]`,
			"ka.req.pod.containers.image[2]":                            "<missing>",
			"ka.req.container.image":                                    `"registry.example.test:5000/shop/cart:1.4.2"`,
			"ka.req.pod.containers.image.repository":                    `["registry.example.test" "busybox"]`,
			"ka.req.container.image.repository":                         `"registry.example.test"`,
			"ka.req.pod.containers.command":                             `["/bin/cart --serve"]`,
			"ka.req.pod.containers.args":                                `["-v 2"]`,
			"ka.req.pod.containers.args[1]":                             "<missing>",
			"ka.req.pod.host_network":                                   `"true"`,
			"ka.req.container.host_network":                             `"true"`,
			"ka.req.pod.host_pid":                                       `"false"`,
			"ka.req.pod.host_ipc":                                       "<missing>",
			"ka.req.pod.containers.host_port":                           `["80"]`,
			"ka.req.pod.containers.privileged":                          `["true"]`, // set ones only
			"ka.req.pod.containers.privileged[0]":                       `["true"]`,
			"ka.req.pod.containers.privileged[1]":                       "<missing>",
			"ka.req.container.privileged":                               `"true"`,
			"ka.req.pod.containers.allow_privilege_escalation":          `["false"]`,
			"ka.req.pod.containers.read_only_fs":                        `["true"]`,
			"ka.req.pod.containers.proc_mount":                          `["Unmasked"]`,
			"ka.req.pod.run_as_user":                                    `"1000"`,
			"ka.req.pod.run_as_group":                                   `"3000"`,
			"ka.req.pod.fs_group":                                       `"2000"`,
			"ka.req.pod.supplemental_groups":                            `["4000" "4001"]`,
			"ka.req.pod.containers.run_as_user":                         `["0"]`,
			"ka.req.pod.containers.eff_run_as_user":                     `["0" "0"]`, // the plugin's paths: see TestCorrectedFields
			"ka.req.pod.containers.run_as_group":                        `["5"]`,
			"ka.req.pod.containers.eff_run_as_group":                    `["0" "0"]`,
			"ka.req.pod.containers.add_capabilities":                    `["[\"NET_ADMIN\",\"SYS_TIME\"]"]`,
			"ka.req.pod.containers.add_capabilities[0]":                 `["[\"NET_ADMIN\",\"SYS_TIME\"]"]`,
			"ka.req.pod.volumes.hostpath":                               `["/var/run/docker.sock"]`,
			"ka.req.pod.volumes.hostpath[0]":                            `["/var/run/docker.sock"]`,
			"ka.req.pod.volumes.hostpath[1]":                            "<missing>",
			"ka.req.volume.hostpath[/var/run/docker.sock]":              `"true"`,
			"ka.req.volume.hostpath[/var/run*]":                         `"true"`,
			"ka.req.volume.hostpath[/proc*]":                            `"false"`,
			"ka.req.pod.volumes.flexvolume_driver":                      `["example.test/lvm"]`,
			"ka.req.pod.volumes.flexvolume_driver[2]":                   `["example.test/lvm"]`,
			"ka.req.pod.volumes.flexvolume_driver[0]":                   "<missing>",
			"ka.req.pod.volumes.volume_type":                            `["hostPath" "configMap" "flexVolume"]`,
			"ka.req.pod.volumes.volume_type[1]":                         `["configMap"]`,
			"ka.req.pod.initContainers.name":                            `["init"]`,
			"ka.req.pod.initContainers.image.repository":                `["alpine"]`,
			"ka.req.pod.initContainers.command":                         `["sh -c echo hi"]`,
			"ka.req.pod.initContainers.privileged":                      `["true"]`,
			"ka.req.pod.initContainers.run_as_user":                     `["7"]`,
			"ka.req.pod.initContainers.host_port":                       `["9000"]`, // containerPort without hostPort
			"ka.req.pod.initContainers.add_capabilities":                `["[\"SYS_ADMIN\"]"]`,
			"ka.req.pod.initContainers.eff_run_as_user":                 `["0"]`,
			"ka.req.pod.ephemeralContainers.image":                      `["busybox:1.36"]`,
			"ka.req.pod.ephemeralContainers.proc_mount":                 `["Default"]`,
			"ka.req.pod.ephemeralContainers.privileged":                 `["false"]`,
			"ka.req.pod.ephemeralContainers.allow_privilege_escalation": `["false"]`,
			"ka.req.pod.ephemeralContainers.eff_run_as_user":            `["0"]`,
			// not in this request
			"ka.req.binding.role":   "<missing>",
			"ka.req.service.type":   "<missing>",
			"ka.req.configmap.name": `"cart-7f9"`, // objectRef.name, whatever the resource
			"ka.req.role.rules":     "<missing>",
			// json
			"jevt.rawtime":               `"1795687200123456000"`,
			"json.rawtime":               `"1795687200123456000"`,
			"jevt.value[/user/username]": `"jane@example.test"`,
			"json.value[user/username]":  `"jane@example.test"`,
			"jevt.value[/annotations/authorization.k8s.io~1decision]": `"allow"`,
			"jevt.value[/sourceIPs/0]":                                `"10.1.2.3"`,
			"jevt.value[/responseStatus]":                             `"{\"metadata\":{},\"code\":201}"`,
			"jevt.value[/requestObject/spec/hostPID]":                 `"false"`,
			"jevt.value[/nope]":                                       "<missing>",
		}},
		{"binding", map[string]string{
			"ka.req.binding.subjects":                         `["{\"kind\":\"User\",\"name\":\"mallory\"}" "{\"kind\":\"Group\",\"name\":\"ops\"}" "{\"kind\":\"ServiceAccount\",\"name\":\"deployer\",\"namespace\":\"ci\"}" "{\"kind\":\"ServiceAccount\",\"name\":\"nons\"}"]`,
			"ka.req.binding.subjects.user_names":              `["mallory"]`,
			"ka.req.binding.subjects.group_names":             `["ops"]`,
			"ka.req.binding.subjects.serviceaccount_names":    `["deployer" "nons"]`,
			"ka.req.binding.subjects.serviceaccount_ns_names": `["ci:deployer"]`,
			"ka.req.binding.role":                             `"cluster-admin"`,
			"ka.req.binding.subject.has_name[mallory]":        `"true"`,
			"ka.req.binding.subject.has_name[bob]":            `"true"`, // as the plugin: see TestCorrectedFields
			"ka.response.code":                                `"403"`,
			"ka.response.reason":                              `"Forbidden"`,
			"ka.target.pod.name":                              "<missing>",
			"ka.req.pod.containers.image":                     "<missing>",
			"ka.req.container.privileged":                     "<missing>",
			"ka.user.groups":                                  "<missing>",
			"ka.cluster.name":                                 "<missing>",
		}},
		{"role", map[string]string{
			"ka.req.role.rules":                  `["{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"secrets\"],\"verbs\":[\"get\",\"list\"]}" "{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}" "{\"nonResourceURLs\":[\"/metrics\"],\"verbs\":[\"get\"]}"]`,
			"ka.req.role.rules.verbs":            `["get" "list" "*" "get"]`,
			"ka.req.role.rules.resources":        `["pods" "secrets" "*"]`,
			"ka.req.role.rules.apiGroups":        `["" "*"]`,
			"ka.req.role.rules.nonResourceURLs":  `["/metrics"]`,
			"ka.req.role.rules.verbs[0]":         `["get" "list"]`, // rule 0's verbs
			"ka.req.role.rules.verbs[2]":         `["get"]`,
			"ka.req.role.rules.resources[2]":     "<missing>",
			"ka.req.binding.subjects":            "<missing>",
			"ka.req.binding.subject.has_name[x]": `"true"`,
		}},
		{"configmap", map[string]string{
			"ka.req.configmap.name": `"creds"`,
			"ka.req.configmap.obj":  `"{\"aws_access_key_id\":\"AKIA000\",\"region\":\"eu\"}"`,
			"ka.target.pod.name":    "<missing>",
		}},
		{"service", map[string]string{
			"ka.req.service.type":     `"NodePort"`,
			"ka.req.service.ports":    `["[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"}]"]`,
			"ka.req.service.ports[3]": `["[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"}]"]`, // the index is not used
			"ka.uri.param[command]":   `"sh"`,
			"ka.uri.param[container]": `"app"`,
		}},
		{"pod_ipc", map[string]string{
			"ka.req.pod.host_ipc":                   `"true"`,
			"ka.req.pod.host_pid":                   `"true"`,
			"ka.req.pod.host_network":               "<missing>",
			"ka.req.container.image.repository":     `"probe"`,
			"ka.req.pod.containers.privileged":      "<missing>",
			"ka.req.container.privileged":           `"false"`,
			"ka.req.pod.containers.run_as_user":     "<missing>",
			"ka.req.pod.containers.eff_run_as_user": `["0"]`,
			"ka.req.pod.containers.host_port":       "<missing>", // an empty list
			"ka.req.pod.containers.command":         "<missing>",
			"ka.req.pod.initContainers.image":       "<missing>",
			"ka.req.pod.volumes.hostpath":           "<missing>",
			"ka.req.volume.hostpath[/]":             "<missing>",
			"ka.target.pod.name":                    "<missing>", // no response object
		}},
		{"exec", map[string]string{
			"ka.target.subresource": `"exec"`,
			"ka.target.pod.name":    "<missing>", // a subresource
			"ka.stage":              `"ResponseStarted"`,
		}},
	}
	for _, tc := range tests {
		ev := loadEvent(t, tc.event)
		got := map[string]string{}
		for f := range tc.want {
			got[f] = extract(t, ev, f)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.event, d)
		}
	}
}

// The plugin's three wrong fields with EnvOptions.Corrected.
func TestCorrectedFields(t *testing.T) {
	tests := []struct {
		event string
		want  map[string]string
	}{
		{"pod_create", map[string]string{
			"ka.sourceips":                              `["10.1.2.3" "fd00::7"]`,
			"ka.sourceips[1]":                           `["fd00::7"]`,
			"ka.sourceips[2]":                           "<missing>",
			"ka.req.pod.containers.eff_run_as_user":     `["0" "1000"]`,
			"ka.req.pod.containers.eff_run_as_user[1]":  `["1000"]`,
			"ka.req.pod.containers.eff_run_as_group":    `["3000" "5"]`,
			"ka.req.pod.initContainers.eff_run_as_user": `["7"]`,
			"ka.req.binding.subject.has_name[x]":        "<missing>",
			"ka.user.name":                              `"jane@example.test"`, // the others are the same
		}},
		{"binding", map[string]string{
			"ka.req.binding.subject.has_name[mallory]": `"true"`,
			"ka.req.binding.subject.has_name[bob]":     `"false"`,
			"ka.sourceips":                             "<missing>",
		}},
		{"pod_ipc", map[string]string{
			"ka.req.pod.containers.eff_run_as_user": `["0"]`,
		}},
	}
	for _, tc := range tests {
		ev := loadEvent(t, tc.event)
		got := map[string]string{}
		for f := range tc.want {
			got[f] = extractWith(t, ev, f, EnvOptions{Corrected: true})
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.event, d)
		}
	}
}

// Events that are not audit events (no auditID) have no ka.* field; the
// json fields read them.
func TestNotAuditEvent(t *testing.T) {
	evs, _, err := Decode([]byte(`{"kind":"Event","stageTimestamp":"2026-11-26T10:00:00Z","user":{"username":"x"},"verb":"get"}`), DecodeOptions{})
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range []string{"ka.user.name", "ka.verb", "ka.req.binding.subject.has_name[a]", "jevt.value[/verb]", "json.obj"} {
		got[f] = extract(t, evs[0], f)
	}
	want := map[string]string{
		"ka.user.name":                       "<missing>",
		"ka.verb":                            "<missing>",
		"ka.req.binding.subject.has_name[a]": "<missing>",
		"jevt.value[/verb]":                  `"get"`,
		"json.obj":                           `"{\n  \"kind\": \"Event\",\n  \"stageTimestamp\": \"2026-11-26T10:00:00Z\",\n  \"user\": {\n    \"username\": \"x\"\n  },\n  \"verb\": \"get\"\n}"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// The catalog's k8s_audit fields and this package's extractors are the
// same set.
func TestEveryCatalogFieldHasAnExtractor(t *testing.T) {
	have := map[string]bool{}
	for _, n := range Fields() {
		have[n] = true
	}
	var miss []string
	inCatalog := map[string]bool{}
	for _, f := range catalog.Fields() {
		if f.Source != catalog.SourceK8sAudit || generic[f.Name] != nil {
			continue
		}
		inCatalog[f.Name] = true
		if !have[f.Name] {
			miss = append(miss, f.Name)
		}
	}
	sort.Strings(miss)
	if len(miss) > 0 {
		t.Errorf("k8s_audit fields without an extractor: %v", miss)
	}
	var extra []string
	for n := range have {
		if !inCatalog[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("extractors of fields the catalog lacks: %v", extra)
	}
	if len(have) != 106 {
		t.Errorf("%d fields, want k8saudit 0.18's 100 and the json plugin's 6", len(have))
	}
}

func TestNewEnvErrors(t *testing.T) {
	tests := []struct {
		field, want string
	}{
		{"ka.nope", "field ka.nope: unknown field"},
		{"ka.verb[1]", "field ka.verb[1]: takes no argument"},
		{"ka.uri.param", "field ka.uri.param: an argument is required"},
		{"ka.sourceips[x]", `field ka.sourceips[x]: argument "x" is not a non-negative index`},
	}
	for _, tc := range tests {
		_, err := NewEnv([]vm.FieldRef{ref(tc.field)}, EnvOptions{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewEnv(%s) = %v, want %q", tc.field, err, tc.want)
		}
	}
	// Syscall fields are always missing here (another source's rules).
	ev := loadEvent(t, "exec")
	if got := extract(t, ev, "proc.name"); got != "<missing>" {
		t.Errorf("proc.name = %s, want <missing>", got)
	}
}

func TestGenericFields(t *testing.T) {
	ev := loadEvent(t, "pod_create") // stageTimestamp 2026-11-26T10:00:00.123456Z
	names := []string{"evt.num", "evt.time", "evt.time.s", "evt.datetime", "evt.time.iso8601", "evt.rawtime", "evt.rawtime.s",
		"evt.rawtime.ns", "evt.reltime", "evt.pluginname", "evt.plugininfo", "evt.source", "evt.is_async", "evt.asynctype", "evt.hostname"}
	refs := make([]vm.FieldRef, len(names))
	for i, n := range names {
		refs[i] = ref(n)
	}
	env, err := NewEnv(refs, EnvOptions{Hostname: "node-1", Start: ev.Time - 5e9})
	if err != nil {
		t.Fatal(err)
	}
	env.Reset(ev)
	env.Reset(ev) // the second event seen
	got := map[string]string{}
	for i, n := range names {
		var v vm.Value
		got[n] = "<missing>"
		if env.Extract(i, &v) {
			got[n] = v.String()
		}
	}
	local := time.Unix(0, ev.Time)
	want := map[string]string{
		"evt.num":          "2",
		"evt.time":         `"` + local.Format("15:04:05") + `.123456000"`,
		"evt.time.s":       `"` + local.Format("15:04:05") + `"`,
		"evt.datetime":     `"` + local.Format("2006-01-02 15:04:05") + `.123456000"`,
		"evt.time.iso8601": `"2026-11-26T10:00:00.123456000+0000"`,
		"evt.rawtime":      "1795687200123456000",
		"evt.rawtime.s":    "1795687200",
		"evt.rawtime.ns":   "123456000",
		"evt.reltime":      "5000000000",
		"evt.pluginname":   `"k8saudit"`,
		"evt.plugininfo":   "<missing>",
		"evt.source":       `"k8s_audit"`,
		"evt.is_async":     "false",
		"evt.asynctype":    "<missing>",
		"evt.hostname":     `"node-1"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// Every ka.*/jevt.*/json.* value has the kind its catalog type says: a
// list for a list field (indexed or not), else a string.
func TestFieldKinds(t *testing.T) {
	var evs []*Event
	for _, name := range []string{"pod_create", "binding", "role", "configmap", "service", "exec", "pod_ipc"} {
		evs = append(evs, loadEvent(t, name))
	}
	seen := 0
	var never []string // fields no test event has
	for _, f := range catalog.Fields() {
		if f.Source != catalog.SourceK8sAudit {
			continue
		}
		refs := []string{f.Name}
		switch {
		case f.Name == "jevt.value" || f.Name == "json.value":
			refs = []string{f.Name + "[/objectRef/name]"}
		case f.Name == "ka.req.volume.hostpath":
			refs = []string{f.Name + "[/var/run/docker.sock]"}
		case f.Arg.Required():
			refs = []string{f.Name + "[command]", f.Name + "[mallory]"}
		case f.Arg.Allowed():
			refs = append(refs, f.Name+"[0]")
		}
		found := false
		for _, r := range refs {
			// ka.sourceips has a value only when corrected.
			env, err := NewEnv([]vm.FieldRef{ref(r)}, EnvOptions{Corrected: f.Name == "ka.sourceips"})
			if err != nil {
				t.Fatal(err)
			}
			want := vm.KindString
			switch {
			case f.Flags&catalog.FlagList != 0: // with an index too, as in the plugin
				want = vm.KindList
			case f.Type != catalog.TypeString:
				t.Errorf("%s: type %s, want string", f.Name, f.Type)
			}
			for _, ev := range evs {
				env.Reset(ev)
				var v vm.Value
				if !env.Extract(0, &v) {
					continue
				}
				seen++
				found = true
				if v.Kind != want {
					t.Errorf("%s: kind %s, want %s", r, v.Kind, want)
					break
				}
			}
		}
		if !found {
			never = append(never, f.Name)
		}
	}
	if seen < 100 {
		t.Errorf("only %d values extracted: the test events miss most fields", seen)
	}
	if len(never) > 0 {
		t.Errorf("no test event has a value for %v", never)
	}
}
