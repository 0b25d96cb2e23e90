package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestImage builds falco-run's image with `make image` and runs it as
// Falco's DaemonSet runs Falco, under docker: privileged, in the host's
// pid namespace, with docker's socket below /host. It must see a read of
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

	name := fmt.Sprintf("falcoc-e2e-image-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command(d.Bin, "rm", "-f", name).Run() })
	d.Run(t, "run", "-d", "--name", name, "--privileged", "--pid=host",
		"-v", "/var/run/docker.sock:/host/var/run/docker.sock",
		tag, "-c", "/etc/falco/falco.yaml", "-o", "json_output=true")

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
		t.Errorf("container alert: container.name %q, want %q (docker's socket through HOST_ROOT); output: %s", got, victim, ctrAlert.Output)
	}
	if got := hostAlert.field("container.name"); got != "host" {
		t.Errorf("host alert: container.name %q, want host", got)
	}
	t.Logf("host: %s", hostAlert.Output)
	t.Logf("container: %s", ctrAlert.Output)

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
