package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/falcoc/falcoc/internal/testutil"
)

// containerWorkload is what each container runs, as its first and only
// command, with a terminal: a shell (Terminal shell in container) that
// writes /etc/shadow (Write below etc) and reads it back (Read sensitive
// file untrusted). The image has no /etc/shadow of its own.
var containerWorkload = []string{"sh", "-c", "echo 'root:*:1:0:99999:7:::' > /etc/shadow && cat /etc/shadow > /dev/null"}

// containerRules are the default rules the workload must raise.
var containerRules = []string{"Terminal shell in container", "Write below etc", "Read sensitive file untrusted"}

// runtimeConfig is a falco.yaml that points the container plugin's engines
// at the given sockets (an empty list turns an engine off) and appends the
// image, type and pod fields to every alert.
func runtimeConfig(t *testing.T, docker, podman, cri []string) string {
	t.Helper()
	list := func(s []string) string {
		if len(s) == 0 {
			return "{enabled: false}"
		}
		return fmt.Sprintf("{enabled: true, sockets: [%s]}", strings.Join(s, ", "))
	}
	cfg := fmt.Sprintf(`append_output:
  - suggested_output: true
  - match: {source: syscall}
    extra_fields: [container.image, container.image.repository, container.type, k8s.pod.name, k8s.ns.name, k8s.pod.uid, k8s.pod.ip]
load_plugins: [container]
plugins:
  - name: container
    library_path: libcontainer.so
    init_config:
      engines:
        docker: %s
        podman: %s
        cri: %s
        containerd: %s
`, list(docker), list(podman), list(cri), list(cri))
	path := filepath.Join(t.TempDir(), "falco.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkContainerAlerts waits for each of containerRules on the container
// whose container.id is id and compares the alert's fields with want.
func checkContainerAlerts(t *testing.T, f *falco, from int, id string, want map[string]string) {
	t.Helper()
	checkRuleAlerts(t, f, from, id, containerRules, want)
}

// checkRuleAlerts waits for an alert of each of rules on the container
// whose container.id is id, compares the alert's fields with want, then
// stops falco-run and logs its container counters.
func checkRuleAlerts(t *testing.T, f *falco, from int, id string, rules []string, want map[string]string) {
	t.Helper()
	for _, rule := range rules {
		a, ok := f.wait(from, containerAlertTimeout, func(a *alert) bool {
			return a.Rule == rule && a.field("container.id") == id
		})
		if !ok {
			t.Errorf("no %q alert for container %s; alerts since: %s\nfalco-run stderr:\n%s", rule, id, rulesSince(f, from), f.errText())
			continue
		}
		got := map[string]string{}
		for k := range want {
			got[k] = a.field(k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s\noutput: %s", rule, diff, a.Output)
		}
	}
	// How the metadata came: runtime events, or the bounded first wait.
	stderr, _ := f.stop()
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "Containers:") {
			t.Log(line)
		}
	}
}

// TestContainerRuntimeDocker: a docker container's first exec (a shell
// with a terminal) and what it does raise the container rules with the
// container's id, name and image from docker's API. No pause between the
// container's creation and its start: the first alert must still carry
// the metadata.
func TestContainerRuntimeDocker(t *testing.T) {
	requireLive(t)
	d := testutil.RequireDocker(t)
	f := startFalco(t, "-c", runtimeConfig(t, []string{d.Socket}, nil, nil))
	name := fmt.Sprintf("falcoc-e2e-rt-%d", os.Getpid())
	cidFile := filepath.Join(t.TempDir(), "cid")
	from := len(f.all())
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", name).Run() })
	args := append([]string{"run", "-t", "--name", name, "--cidfile", cidFile, d.Image}, containerWorkload...)
	if out, err := exec.Command(d.Bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	cid, err := os.ReadFile(cidFile)
	if err != nil || len(cid) < 12 {
		t.Fatalf("container id file: %q, %v", cid, err)
	}
	id := string(cid[:12])
	checkContainerAlerts(t, f, from, id, map[string]string{
		"container.id": id, "container.name": name, "container.type": "docker",
		"container.image": "falcoc-busybox:latest", "container.image.repository": "falcoc-busybox",
	})
}

// TestContainerRuntimePodman: the same with podman, whose metadata comes
// from its API socket (a `podman system service` the test starts on a
// socket of its own, named in falco.yaml).
func TestContainerRuntimePodman(t *testing.T) {
	requireLive(t)
	p := testutil.RequirePodman(t)
	sock := p.Service(t)
	f := startFalco(t, "-c", runtimeConfig(t, nil, []string{sock}, nil))
	name := fmt.Sprintf("falcoc-e2e-rt-%d", os.Getpid())
	cidFile := filepath.Join(t.TempDir(), "cid")
	from := len(f.all())
	t.Cleanup(func() { _ = exec.Command(p.Bin, "rm", "-f", "-t", "0", name).Run() })
	args := append([]string{"run", "-t", "--name", name, "--cidfile", cidFile, p.Image}, containerWorkload...)
	if out, err := exec.Command(p.Bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	cid, err := os.ReadFile(cidFile)
	if err != nil || len(cid) < 12 {
		t.Fatalf("container id file: %q, %v", cid, err)
	}
	id := string(cid[:12])
	checkContainerAlerts(t, f, from, id, map[string]string{
		"container.id": id, "container.name": name, "container.type": "podman",
		"container.image": p.Image, "container.image.repository": strings.TrimSuffix(p.Image, ":latest"),
	})
}

// TestContainerRuntimeCRI: a Kubernetes pod through CRI, as a kubelet
// makes it (RunPodSandbox, with a network of its own set up by CNI's
// bridge plugin; CreateContainer, StartContainer) on a containerd with its
// CRI plugin that the test starts. The alerts carry the pod's name,
// namespace, uid and address from CRI.
func TestContainerRuntimeCRI(t *testing.T) {
	requireLive(t)
	cri := testutil.RequireCRI(t)
	f := startFalco(t, "-c", runtimeConfig(t, nil, nil, []string{cri.Socket}))
	pod := cri.RunPodNetwork(t, "falcoc-e2e-web", "falcoc-e2e", map[string]string{"app": "web"})
	sb, err := cri.Runtime.PodSandboxStatus(t.Context(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod.ID})
	if err != nil || sb.GetStatus().GetNetwork().GetIp() == "" {
		t.Fatalf("pod sandbox status: %v %v", sb, err)
	}
	from := len(f.all())
	cid := cri.CreateContainer(t, pod, "shell", true, containerWorkload...)
	cri.Start(t, cid)
	id := cid[:12]
	checkContainerAlerts(t, f, from, id, map[string]string{
		"container.id": id, "container.name": "shell", "container.type": "containerd",
		"container.image": testutil.CRIImage, "container.image.repository": "docker.io/library/falcoc-busybox",
		"k8s.pod.name": "falcoc-e2e-web", "k8s.ns.name": "falcoc-e2e", "k8s.pod.uid": pod.Config.Metadata.Uid,
		"k8s.pod.ip": sb.Status.Network.Ip,
	})
}

// TestHostProcessIsHost: this machine's own processes live in a v1 memory
// cgroup /process_api/<hex> (its process supervisor, not a container
// runtime): their alerts say host.
func TestHostProcessIsHost(t *testing.T) {
	requireLive(t)
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("this test's cgroups:\n%s", cg)
	f := startFalco(t, "-c", runtimeConfig(t, nil, nil, nil))
	from := len(f.all())
	cat := exec.Command("cat", "/etc/shadow")
	if out, err := cat.CombinedOutput(); err != nil {
		t.Fatalf("cat /etc/shadow: %v\n%s", err, out)
	}
	pid := fmt.Sprint(cat.Process.Pid)
	a, ok := f.wait(from, 15*time.Second, func(a *alert) bool {
		return a.Rule == "Read sensitive file untrusted" && strings.Contains(a.Output, "command=cat /etc/shadow")
	})
	if !ok {
		t.Fatalf("no alert for cat /etc/shadow (pid %s); alerts since: %s\nfalco-run stderr:\n%s", pid, rulesSince(f, from), f.errText())
	}
	want := map[string]string{"container.id": "host", "container.name": "host", "container.type": "host",
		"container.image.repository": "", "k8s.pod.name": ""}
	got := map[string]string{}
	for k := range want {
		got[k] = a.field(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("host fields (-want +got):\n%s\noutput: %s", diff, a.Output)
	}
}

// TestContainerRuntimeContainerd: a container made with ctr (no CRI) in
// containerd's default namespace, whose cgroup is /default/<name>: its
// metadata comes from containerd's own API (Containers/Get), announced by
// containerd's event service. ctr needs a terminal of its own for -t, so
// the shell runs without one: Shell spawned in container instead of the
// terminal rule.
func TestContainerRuntimeContainerd(t *testing.T) {
	requireLive(t)
	cri := testutil.RequireCRI(t)
	cri.ImportImages(t, "default")
	f := startFalco(t, "-c", runtimeConfig(t, nil, nil, []string{cri.Socket}))
	name := fmt.Sprintf("falcoc-e2e-ctr-%d", os.Getpid())
	from := len(f.all())
	t.Cleanup(func() {
		_, _ = exec.Command("ctr", "-a", cri.Socket, "-n", "default", "containers", "rm", name).CombinedOutput()
	})
	cri.Ctr(t, "default", append([]string{"run", "--rm", "--runc-binary", testutil.RuncWrapper, testutil.CRIImage, name}, containerWorkload...)...)
	want := map[string]string{
		"container.id": name, "container.name": name, "container.type": "containerd",
		"container.image": testutil.CRIImage, "container.image.repository": "docker.io/library/falcoc-busybox",
	}
	checkRuleAlerts(t, f, from, name, []string{"Shell spawned in container", "Write below etc", "Read sensitive file untrusted"}, want)
}
