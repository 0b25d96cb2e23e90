// Package deploy_test checks the Kubernetes manifests and the Helm chart
// without helm (it is not packaged for this machine) and without a
// cluster: the chart's templates are rendered here with Go's text/template
// and the few template functions they use (Helm's engine is text/template
// with the sprig functions; renderChart implements the ones the chart
// calls, with Helm's semantics), and every rendered object is decoded
// strictly into the Kubernetes API types (an unknown or misspelt field is
// an error). deploy/kubernetes/falcoc.yaml is the chart rendered with its
// default values (-update rewrites it). falco.yaml in the ConfigMap is read
// with falco-run's own configuration loader.
package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/containers"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes/falcoc.yaml from the chart")

const chartDir = "helm/falcoc"

// release is what Helm passes as .Release.
type release struct {
	Name, Namespace, Service string
}

// chart is what Helm passes as .Chart (Chart.yaml's fields).
type chart struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	AppVersion string `json:"appVersion"`
	APIVersion string `json:"apiVersion"`
}

// funcs are the template functions the chart uses, with Helm's (sprig's)
// semantics; include is added per render.
func funcs() template.FuncMap {
	return template.FuncMap{
		"toYaml": func(v any) string {
			b, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		},
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote": func(args ...any) string {
			out := make([]string, 0, len(args))
			for _, a := range args {
				if a != nil {
					out = append(out, fmt.Sprintf("%q", fmt.Sprint(a)))
				}
			}
			return strings.Join(out, " ")
		},
		"default": func(d any, v ...any) any {
			if len(v) == 0 || empty(v[0]) {
				return d
			}
			return v[0]
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"contains":   func(substr, s string) bool { return strings.Contains(s, substr) },
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
	}
}

// empty is sprig's notion of an empty value.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// readValues reads the chart's values.yaml as Helm does (JSON types).
func readValues(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]any{}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v
}

// merge sets the values of over into base, recursively (Helm's --set and
// -f values files).
func merge(base, over map[string]any) {
	for k, v := range over {
		if m, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				merge(bm, m)
				continue
			}
		}
		base[k] = v
	}
}

// renderChart renders every template of the chart, in file name order,
// and returns the documents (empty ones dropped).
func renderChart(t *testing.T, rel release, values map[string]any) []string {
	t.Helper()
	cb, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ch chart
	if err := yaml.UnmarshalStrict(cb, &ch, yaml.DisallowUnknownFields); err != nil {
		// Chart.yaml has more keys than the template reads.
		if err := yaml.Unmarshal(cb, &ch); err != nil {
			t.Fatalf("Chart.yaml: %v", err)
		}
	}
	if ch.APIVersion != "v2" || ch.Name == "" || ch.Version == "" {
		t.Fatalf("Chart.yaml: %+v", ch)
	}
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	root := template.New("chart").Option("missingkey=zero")
	fm := funcs()
	fm["include"] = func(name string, data any) (string, error) {
		var b bytes.Buffer
		err := root.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	root.Funcs(fm)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.New(filepath.Base(f)).Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	data := map[string]any{
		"Values":  values,
		"Release": rel,
		"Chart":   ch,
	}
	var docs []string
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		var b bytes.Buffer
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		for _, d := range strings.Split(b.String(), "\n---\n") {
			if strings.TrimSpace(d) != "" {
				docs = append(docs, fmt.Sprintf("# Source: falcoc/templates/%s\n%s\n", name, strings.Trim(d, "\n")))
			}
		}
	}
	return docs
}

// objects are the decoded documents of one rendering.
type objects struct {
	DaemonSet      *appsv1.DaemonSet
	ConfigMaps     map[string]*corev1.ConfigMap
	Services       []*corev1.Service
	ServiceAccount *corev1.ServiceAccount
	Namespace      *corev1.Namespace
}

// decode decodes each document strictly into its Kubernetes type.
func decode(t *testing.T, docs []string) *objects {
	t.Helper()
	o := &objects{ConfigMaps: map[string]*corev1.ConfigMap{}}
	for _, d := range docs {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(d), &head); err != nil {
			t.Fatalf("%v in:\n%s", err, d)
		}
		var into any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 DaemonSet":
			o.DaemonSet = &appsv1.DaemonSet{}
			into = o.DaemonSet
		case "v1 ConfigMap":
			cm := &corev1.ConfigMap{}
			into = cm
			defer func() { o.ConfigMaps[cm.Name] = cm }()
		case "v1 Service":
			s := &corev1.Service{}
			o.Services = append(o.Services, s)
			into = s
		case "v1 ServiceAccount":
			o.ServiceAccount = &corev1.ServiceAccount{}
			into = o.ServiceAccount
		case "v1 Namespace":
			o.Namespace = &corev1.Namespace{}
			into = o.Namespace
		default:
			t.Fatalf("unexpected object %s %s:\n%s", head.APIVersion, head.Kind, d)
		}
		if err := yaml.UnmarshalStrict([]byte(d), into); err != nil {
			t.Fatalf("%s: %v\n%s", head.Kind, err, d)
		}
	}
	return o
}

// manifestHeader starts deploy/kubernetes/falcoc.yaml: the namespace the
// chart's objects go to (Helm creates it with --create-namespace).
const manifestHeader = `# falcoc's falco-run as a DaemonSet: deploy/helm/falcoc rendered with its
# default values (release falcoc, namespace falcoc). Do not edit: change the
# chart and run go test ./deploy -update.
#   kubectl apply -f deploy/kubernetes/falcoc.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: falcoc
`

var defaultRelease = release{Name: "falcoc", Namespace: "falcoc", Service: "Helm"}

// TestManifest: deploy/kubernetes/falcoc.yaml is the chart with its
// defaults, and it decodes.
func TestManifest(t *testing.T) {
	docs := renderChart(t, defaultRelease, readValues(t))
	want := manifestHeader + "---\n" + strings.Join(docs, "---\n")
	path := filepath.Join("kubernetes", "falcoc.yaml")
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s is not the chart rendered with its defaults (go test ./deploy -update) (-chart +file):\n%s", path, diff)
	}
	all := strings.Split(string(got), "\n---\n")
	o := decode(t, all)
	if o.Namespace == nil || o.Namespace.Name != "falcoc" || o.DaemonSet == nil || o.DaemonSet.Namespace != "falcoc" {
		t.Errorf("namespace %+v, daemonset in %q", o.Namespace, o.DaemonSet.Namespace)
	}
}

// TestChartDefaults checks what Falco's DaemonSet has: privileged, the
// host's pid namespace, /proc and the runtimes' sockets below /host,
// /healthz probes on the web server's port, falco.yaml from a ConfigMap,
// the k8s audit webhook behind a Service; and that falco.yaml loads.
func TestChartDefaults(t *testing.T) {
	o := decode(t, renderChart(t, defaultRelease, readValues(t)))
	ds := o.DaemonSet
	if ds == nil {
		t.Fatal("no DaemonSet")
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID {
		t.Error("hostPID is off")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Errorf("securityContext = %+v, want privileged", c.SecurityContext)
	}
	if c.Image != "docker.io/falcoc/falco-run:0.1.0-dev" {
		t.Errorf("image %q", c.Image)
	}
	if diff := cmp.Diff([]string{"-c", "/etc/falco/falco.yaml"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	if diff := cmp.Diff(map[string]string{"HOST_ROOT": "/host", "FALCO_K8S_NODE_NAME": "fieldRef:spec.nodeName"}, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}

	// Labels: the selector picks the pods, the Service picks them too.
	if !subset(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		t.Errorf("selector %v does not match pod labels %v", ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
	}

	// Ports and probes.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if diff := cmp.Diff(map[string]int32{"web": 8765, "k8s-audit": 9765}, ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "web" {
			t.Errorf("%s probe = %+v, want GET /healthz on web", name, p)
		}
	}

	// Mounts and the volumes they name.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]string{} // mount path -> host path or configmap
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			t.Errorf("mount %s names no volume %q", m.MountPath, m.Name)
			continue
		}
		switch {
		case v.HostPath != nil:
			mounts[m.MountPath] = v.HostPath.Path
		case v.ConfigMap != nil:
			mounts[m.MountPath] = "configmap:" + v.ConfigMap.Name + "/" + m.SubPath
			if o.ConfigMaps[v.ConfigMap.Name] == nil {
				t.Errorf("volume %s: no ConfigMap %q", v.Name, v.ConfigMap.Name)
			}
		}
	}
	want := map[string]string{
		"/etc/falco/falco.yaml":                "configmap:falcoc/falco.yaml",
		"/host/proc":                           "/proc",
		"/host/etc":                            "/etc",
		"/host/var/run/docker.sock":            "/var/run/docker.sock",
		"/host/run/containerd/containerd.sock": "/run/containerd/containerd.sock",
		"/host/run/crio/crio.sock":             "/run/crio/crio.sock",
	}
	if diff := cmp.Diff(want, mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if pod.ServiceAccountName != o.ServiceAccount.Name || o.ServiceAccount.AutomountServiceAccountToken == nil || *o.ServiceAccount.AutomountServiceAccountToken {
		t.Errorf("service account %q, object %+v", pod.ServiceAccountName, o.ServiceAccount)
	}

	// The k8s audit Service reaches the container's port.
	if len(o.Services) != 1 {
		t.Fatalf("%d services", len(o.Services))
	}
	svc := o.Services[0]
	if !subset(svc.Spec.Selector, ds.Spec.Template.Labels) || svc.Spec.Ports[0].Port != 9765 || svc.Spec.Ports[0].TargetPort.String() != "k8s-audit" {
		t.Errorf("service %+v", svc.Spec)
	}

	// falco.yaml: falco-run's loader reads it; the container plugin's
	// sockets are the mounted ones (below HOST_ROOT); the rule files are
	// the image's; the webhook listens on the Service's port.
	cfg := loadConfig(t, o.ConfigMaps["falcoc"])
	if diff := cmp.Diff([]string{"/etc/falco/falco_rules.yaml", "/etc/falco/k8s_audit_rules.yaml"}, cfg.RulesFiles); diff != "" {
		t.Errorf("rules_files (-want +got):\n%s", diff)
	}
	for _, f := range cfg.RulesFiles {
		if _, err := os.Stat(filepath.Join("..", "rules", filepath.Base(f))); err != nil {
			t.Errorf("rules_files names %s, which make image does not put in the image: %v", f, err)
		}
	}
	var opts containers.Options
	p := cfg.Plugin(config.ContainerPlugin)
	if p == nil {
		t.Fatal("falco.yaml: no container plugin entry")
	}
	if err := opts.ApplyInitConfig(p.InitConfig, "plugins[container].init_config"); err != nil {
		t.Fatal(err)
	}
	gotSockets := map[string][]string{"docker": opts.DockerSockets, "podman": opts.PodmanSockets, "containerd": opts.ContainerdSockets, "cri": opts.CRISockets}
	wantSockets := map[string][]string{
		"docker": {"/var/run/docker.sock"}, "podman": {}, "containerd": {"/run/containerd/containerd.sock"},
		"cri": {"/run/containerd/containerd.sock", "/run/crio/crio.sock"},
	}
	if diff := cmp.Diff(wantSockets, gotSockets); diff != "" {
		t.Errorf("container plugin sockets (-want +got):\n%s", diff)
	}
	for _, socks := range gotSockets {
		for _, s := range socks {
			if _, ok := mounts["/host"+s]; !ok {
				t.Errorf("socket %s is not mounted at /host%s", s, s)
			}
		}
	}
	k8s, _, load := cfg.K8sAudit()
	if !load || k8s == nil || k8s.OpenParams != "http://:9765/k8s-audit" {
		t.Errorf("k8saudit: load %v, entry %+v", load, k8s)
	}
	// The web server serves the probes: on the pod's address (the
	// kubelet probes it), the port and the path they name.
	ws := cfg.Webserver
	if !ws.Enabled || ws.ListenAddress != "0.0.0.0" || int32(ws.ListenPort) != ports["web"] || ws.K8sHealthzEndpoint != c.LivenessProbe.HTTPGet.Path {
		t.Errorf("webserver %+v does not serve the probes (port %d, %s)", ws, ports["web"], c.LivenessProbe.HTTPGet.Path)
	}
}

// TestChartValues: the values change what they say.
func TestChartValues(t *testing.T) {
	values := readValues(t)
	merge(values, map[string]any{
		"driver":           map[string]any{"modernEbpf": map[string]any{"leastPrivileged": true}},
		"image":            map[string]any{"tag": "1.2.3", "registry": "registry.example"},
		"k8saudit":         map[string]any{"enabled": false},
		"collectors":       map[string]any{"docker": map[string]any{"enabled": false}, "podman": map[string]any{"enabled": true}},
		"customRules":      map[string]any{"my_rules.yaml": "- rule: Mine\n  desc: mine\n  condition: evt.type = open\n  output: mine\n  priority: INFO\n"},
		"extra":            map[string]any{"args": []any{"--prefilter=evttype"}},
		"fullnameOverride": "edr",
	})
	o := decode(t, renderChart(t, release{Name: "prod", Namespace: "security", Service: "Helm"}, values))
	ds := o.DaemonSet
	c := ds.Spec.Template.Spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.Capabilities == nil {
		t.Fatalf("securityContext = %+v, want unprivileged with capabilities", sc)
	}
	var caps []string
	for _, c := range sc.Capabilities.Add {
		caps = append(caps, string(c))
	}
	if diff := cmp.Diff([]string{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE"}, caps); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	if c.Image != "registry.example/falcoc/falco-run:1.2.3" || ds.Name != "edr" || ds.Namespace != "security" {
		t.Errorf("image %q, name %q, namespace %q", c.Image, ds.Name, ds.Namespace)
	}
	if diff := cmp.Diff([]string{"-c", "/etc/falco/falco.yaml", "--prefilter=evttype"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if len(o.Services) != 0 {
		t.Errorf("k8saudit off: %d services", len(o.Services))
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	for path, want := range map[string]bool{"/host/var/run/docker.sock": false, "/host/run/podman/podman.sock": true, "/etc/falco/rules.d": true} {
		if mounts[path] != want {
			t.Errorf("mount %s: %v, want %v", path, mounts[path], want)
		}
	}
	rules := o.ConfigMaps["edr-rules"]
	if rules == nil || !strings.Contains(rules.Data["my_rules.yaml"], "rule: Mine") {
		t.Fatalf("custom rules ConfigMap: %+v", rules)
	}
	cfg := loadConfig(t, o.ConfigMaps["edr"])
	if diff := cmp.Diff([]string{"/etc/falco/falco_rules.yaml", "/etc/falco/rules.d"}, cfg.RulesFiles); diff != "" {
		t.Errorf("rules_files (-want +got):\n%s", diff)
	}
	if _, _, load := cfg.K8sAudit(); load {
		t.Error("k8saudit off, but loaded")
	}
	var opts containers.Options
	if err := opts.ApplyInitConfig(cfg.Plugin(config.ContainerPlugin).InitConfig, "init_config"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{}, opts.DockerSockets); diff != "" || !slices.Equal(opts.PodmanSockets, []string{"/run/podman/podman.sock"}) {
		t.Errorf("docker %v, podman %v", opts.DockerSockets, opts.PodmanSockets)
	}
}

// TestChartConfigChecksum: the pods' checksum/config annotation changes
// with every value that changes falco.yaml (so a helm upgrade restarts
// them), and only with those.
func TestChartConfigChecksum(t *testing.T) {
	sum := func(over map[string]any) string {
		t.Helper()
		v := readValues(t)
		merge(v, over)
		o := decode(t, renderChart(t, defaultRelease, v))
		return o.DaemonSet.Spec.Template.Annotations["checksum/config"]
	}
	base := sum(nil)
	if len(base) != 64 {
		t.Fatalf("checksum %q", base)
	}
	for name, over := range map[string]map[string]any{
		"falco":      {"falco": map[string]any{"priority": "warning"}},
		"collectors": {"collectors": map[string]any{"crio": map[string]any{"enabled": false}}},
		"k8saudit":   {"k8saudit": map[string]any{"enabled": false}},
	} {
		if sum(over) == base {
			t.Errorf("%s: the checksum did not change", name)
		}
	}
	if got := sum(map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "2"}}}); got != base {
		t.Error("resources changed the config checksum")
	}
}

// loadConfig reads the falco.yaml of a ConfigMap with falco-run's loader.
func loadConfig(t *testing.T, cm *corev1.ConfigMap) *config.Config {
	t.Helper()
	if cm == nil {
		t.Fatal("no ConfigMap")
	}
	text, ok := cm.Data["falco.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s: no falco.yaml (keys %v)", cm.Name, slices.Sorted(maps.Keys(cm.Data)))
	}
	cfg := config.Default()
	if err := cfg.Apply("falco.yaml", []byte(text)); err != nil {
		t.Fatalf("falco.yaml of ConfigMap %s: %v\n%s", cm.Name, err, text)
	}
	return cfg
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
