package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/falcoc/falcoc/internal/testutil"
)

// buildImage runs `make image` with the given tag and returns the
// archive's path.
func buildImage(t *testing.T, tag string) string {
	t.Helper()
	testutil.RequireCommand(t, "make")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "image", "IMAGE="+tag)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image:\n%s", out)
	return filepath.Join(root, "bin", "falcoc-image.tar")
}

// TestImage builds falco-run's image with `make image` and runs it as the
// DaemonSet of deploy/kubernetes/falcoc.yaml runs it (its ConfigMap's
// falco.yaml and its mounts), under docker: privileged, in the host's pid
// namespace, with docker's socket below /host. It must see a read of
// /etc/shadow on the host (container.id host) and one in a docker
// container (with the container's name, from docker's socket through
// HOST_ROOT). The same archive loads into podman and containerd, and runs
// there.
func TestImage(t *testing.T) {
	requireLive(t)
	testutil.SkipIfShort(t)
	d := testutil.RequireDocker(t)
	tag := fmt.Sprintf("falcoc/falco-run:e2e-%d", os.Getpid())
	tar := buildImage(t, tag)
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rmi", "-f", tag).Run() })
	// make image loads it into the running docker; load it again in case
	// the daemon was started after the make's check.
	d.Run(t, "load", "-i", tar)

	// The image's own falco.yaml loads.
	if out := d.Run(t, "run", "--rm", tag, "-c", "/etc/falco/falco.yaml", "--dry-run"); out != "" {
		t.Logf("dry run: %s", out)
	}

	// Run as the DaemonSet runs it: its ConfigMap's falco.yaml, its
	// mounts, privileged, in the host's pid namespace.
	cfg := filepath.Join(t.TempDir(), "falco.yaml")
	if err := os.WriteFile(cfg, []byte(daemonSetConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("falcoc-e2e-image-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", name).Run() })
	args := []string{"run", "-d", "--name", name, "--privileged", "--pid=host",
		"-e", "FALCO_K8S_NODE_NAME=e2e",
		"-v", cfg + ":/etc/falco/falco.yaml:ro",
		"-v", "/proc:/host/proc:ro", "-v", "/etc:/host/etc:ro",
		"-v", "/var/run/docker.sock:/host/var/run/docker.sock"}
	if _, err := os.Stat("/run/containerd/containerd.sock"); err == nil {
		args = append(args, "-v", "/run/containerd/containerd.sock:/host/run/containerd/containerd.sock")
	}
	d.Run(t, append(args, tag, "-c", "/etc/falco/falco.yaml")...)

	logs := func() (string, string) {
		var stdout, stderr bytes.Buffer
		c := exec.Command(d.Bin, "logs", name)
		c.Stdout, c.Stderr = &stdout, &stderr
		_ = c.Run()
		return stdout.String(), stderr.String()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, stderr := logs()
		if strings.Contains(stderr, "ready") {
			break
		}
		if time.Now().After(deadline) {
			state, _ := exec.Command(d.Bin, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).Output()
			t.Fatalf("falco-run in its image not ready after 60s (container %s):\n%s", bytes.TrimSpace(state), stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// On the host, then in a container.
	if out, err := exec.Command("cat", "/etc/shadow").CombinedOutput(); err != nil {
		t.Fatalf("cat /etc/shadow: %v\n%s", err, out)
	}
	victim := name + "-victim"
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", victim).Run() })
	cidFile := filepath.Join(t.TempDir(), "cid")
	d.Run(t, "run", "--name", victim, "--cidfile", cidFile, d.Image, "sh", "-c", "echo 'root:*:1:0:99999:7:::' > /etc/shadow && cat /etc/shadow")
	cidb, err := os.ReadFile(cidFile)
	if err != nil || len(cidb) < 12 {
		t.Fatalf("container id file: %q, %v", cidb, err)
	}
	cid := string(cidb)

	var hostAlert, ctrAlert *alert
	deadline = time.Now().Add(30 * time.Second)
	for (hostAlert == nil || ctrAlert == nil) && time.Now().Before(deadline) {
		stdout, _ := logs()
		s := bufio.NewScanner(strings.NewReader(stdout))
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			var a alert
			if json.Unmarshal(s.Bytes(), &a) != nil || a.Rule != "Read sensitive file untrusted" {
				continue
			}
			switch {
			case a.field("container.id") == "host" && strings.Contains(a.Output, "command=cat /etc/shadow"):
				hostAlert = &a
			case a.field("container.id") == cid[:12]:
				ctrAlert = &a
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if hostAlert == nil || ctrAlert == nil {
		stdout, stderr := logs()
		t.Fatalf("host alert %v, container alert %v (container %s); falco-run's alerts for /etc/shadow:\n%s\nstderr:\n%s",
			hostAlert != nil, ctrAlert != nil, cid[:12], grepLines(stdout, "/etc/shadow", 20), stderr)
	}
	if got := ctrAlert.field("container.name"); got != victim {
		// falco-run prints its container lookup counters when stopped.
		_ = exec.Command(d.Bin, "stop", "-t", "20", name).Run()
		_, stderr := logs()
		t.Errorf("container alert: container.name %q, want %q (docker's socket through HOST_ROOT); output: %s\nfalco-run's counters:\n%s",
			got, victim, ctrAlert.Output, grepLines(stderr, "Containers", 5))
	}
	if got := hostAlert.field("container.name"); got != "host" {
		t.Errorf("host alert: container.name %q, want host", got)
	}
	// The host's users, from the host's /etc below HOST_ROOT.
	if got := hostAlert.field("user.name"); got != "root" {
		t.Errorf("host alert: user.name %q, want root (from /host/etc/passwd)", got)
	}
	t.Logf("host: %s", hostAlert.Output)
	t.Logf("container: %s", ctrAlert.Output)

	// The DaemonSet's probes: GET /healthz on the pod's address, port 8765.
	ip := d.Run(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name)
	hz, err := http.Get("http://" + net.JoinHostPort(ip, "8765") + "/healthz")
	if err != nil {
		t.Errorf("the probes' GET /healthz: %v", err)
	} else {
		b, _ := io.ReadAll(hz.Body)
		hz.Body.Close()
		if hz.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: %s %s", hz.Status, b)
		}
		t.Logf("GET /healthz: %s %s", hz.Status, bytes.TrimSpace(b))
	}

	// The DaemonSet's Service sends the API server's audit events to the
	// container's k8s-audit port.
	body, err := os.ReadFile(filepath.Join("..", "runtime", "k8saudit", "testdata", "exec.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+net.JoinHostPort(ip, "9765")+"/k8s-audit", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST to the k8s audit webhook in the container: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("webhook answered %s", resp.Status)
	}
	found := false
	for deadline := time.Now().Add(15 * time.Second); !found && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		stdout, _ := logs()
		found = strings.Contains(stdout, `"rule":"K8s exec or attach into a pod"`)
	}
	if !found {
		_, stderr := logs()
		t.Errorf("no K8s exec or attach into a pod alert from the webhook; stderr:\n%s", stderr)
	}

	t.Run("podman", func(t *testing.T) {
		p := testutil.RequirePodman(t)
		loaded := p.Run(t, "load", "-i", tar)
		// "Loaded image(s): localhost/falcoc/falco-run:..." (podman 4.3)
		_, ref, ok := strings.Cut(loaded, "Loaded image")
		if !ok {
			t.Fatalf("podman load: %q", loaded)
		}
		ref = strings.TrimSpace(ref[strings.IndexByte(ref, ':')+1:])
		if !strings.HasSuffix(ref, tag) {
			t.Fatalf("podman load named it %q, want .../%s", ref, tag)
		}
		t.Cleanup(func() { _, _ = exec.Command(p.Bin, "rmi", "-f", ref).CombinedOutput() })
		out := p.Run(t, "run", "--rm", ref, "--version")
		if !strings.Contains(out, "falcoc version") {
			t.Errorf("podman run %s --version: %q", ref, out)
		}
	})
	t.Run("containerd", func(t *testing.T) {
		cri := testutil.RequireCRI(t)
		ctr := testutil.RequireCommand(t, "ctr")
		run := func(args ...string) string {
			t.Helper()
			out, err := exec.Command(ctr, append([]string{"-a", cri.Socket, "-n", "k8s.io"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return string(out)
		}
		run("images", "import", tar)
		ref := "docker.io/" + tag
		out := run("run", "--rm", "--runc-binary", testutil.RuncWrapper, ref, fmt.Sprintf("falcoc-version-%d", os.Getpid()), "/usr/bin/falco-run", "--version")
		if !strings.Contains(out, "falcoc version") {
			t.Errorf("ctr run %s --version: %q", ref, out)
		}
	})
}

// grepLines returns the last n lines of text that contain s.
func grepLines(text, s string, n int) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// daemonSetConfig returns falco.yaml of the ConfigMap in
// deploy/kubernetes/falcoc.yaml.
func daemonSetConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "falcoc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var cm struct {
			Kind string
			Data map[string]string
		}
		if err := yaml.Unmarshal([]byte(doc), &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Kind == "ConfigMap" && cm.Data["falco.yaml"] != "" {
			return cm.Data["falco.yaml"]
		}
	}
	t.Fatal("deploy/kubernetes/falcoc.yaml: no ConfigMap with falco.yaml")
	return ""
}
