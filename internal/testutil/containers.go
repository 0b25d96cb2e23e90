package testutil

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real-container tests.
//
// [RequireDocker] and [RequirePodman] install nothing: they skip (or fail,
// see [Strict]) when the runtime's packages are missing. They write the
// few configuration files this kind of machine needs (idempotently), start
// dockerd when it is not running, and make the local image [TestImage]
// from busybox-static's /bin/busybox, since no image registry is
// reachable.
//
// dockerd may be shared by several test binaries running at once (go test
// runs packages in parallel): each user holds a shared lock on
// /run/falcoc-test/docker.users while it uses the daemon, and the last one
// to leave stops the daemon if, and only if, a test started it (its pid is
// kept in /run/falcoc-test/dockerd.pid). A dockerd that was running before
// the tests is left alone.

// TestImage is the image that [RequireDocker] and [RequirePodman] make: a
// busybox root file system with /etc/passwd and /etc/group.
const TestImage = "falcoc-busybox:latest"

const (
	testStateDir  = "/run/falcoc-test"
	runcWrapper   = "/usr/local/lib/falcoc-test/runc-wrapper"
	dockerConfig  = "/etc/docker/daemon.json"
	dockerSocket  = "/var/run/docker.sock"
	wrapperName   = "falcoc-runc"
	podmanConfig  = "/etc/containers/containers.conf"
	busyboxBinary = "/bin/busybox"
)

// runcWrapperScript removes CAP_SYS_RESOURCE from the OCI specs runc gets
// (this machine's root lacks it, and runc refuses to grant a capability it
// does not have) and clamps a negative oomScoreAdj to 0, then runs runc.
const runcWrapperScript = `#!/bin/sh
# Written by falcoc's internal/testutil: runc for machines without
# CAP_SYS_RESOURCE. Drops that capability from the bundle's config.json
# (create/run) and from exec --process specs, and clamps a negative
# oomScoreAdj to 0.
set -e
filter='def drop: if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end;
def fixp: (if (.capabilities|type) == "object" then .capabilities |= map_values(drop) else . end)
  | (if (.oomScoreAdj // 0) < 0 then .oomScoreAdj = 0 else . end);'
fix() {
	[ -f "$1" ] || return 0
	jq "$filter $2" "$1" > "$1.falcoc-tmp" && mv "$1.falcoc-tmp" "$1"
}
prev=
for a in "$@"; do
	case "$prev" in
	--bundle|-b) fix "$a/config.json" '.process |= fixp' ;;
	--process|-p) fix "$a" 'fixp' ;;
	esac
	case "$a" in
	--bundle=*) fix "${a#--bundle=}/config.json" '.process |= fixp' ;;
	--process=*) fix "${a#--process=}" 'fixp' ;;
	esac
	prev=$a
done
exec /usr/bin/runc "$@"
`

// Docker is a running docker daemon that a test may use.
type Docker struct {
	// Bin is the docker command.
	Bin string
	// Socket is the daemon's API socket.
	Socket string
	// Image is [TestImage].
	Image string
}

// RequireDocker returns a running docker daemon with [TestImage] loaded. It
// skips (or fails) unless running as root with dockerd, docker, runc and
// jq installed; it fails when the daemon cannot be started.
func RequireDocker(tb testing.TB) *Docker {
	tb.Helper()
	RequireRoot(tb)
	dockerd := RequireCommand(tb, "dockerd")
	bin := RequireCommand(tb, "docker")
	RequireCommand(tb, "runc")
	RequireCommand(tb, "jq")
	if _, err := os.Stat(busyboxBinary); err != nil {
		SkipOrFail(tb, "needs busybox-static: %v", err)
	}
	if err := os.MkdirAll(testStateDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	changed, err := writeDockerConfig()
	if err != nil {
		tb.Fatalf("docker config: %v", err)
	}

	start, err := lockFile(filepath.Join(testStateDir, "docker.start"), syscall.LOCK_EX)
	if err != nil {
		tb.Fatal(err)
	}
	defer start.Close()
	if pingDocker(dockerSocket) != nil {
		if err := startDockerd(dockerd); err != nil {
			tb.Fatalf("start dockerd: %v", err)
		}
	} else if changed {
		tb.Logf("%s changed while dockerd runs: restart dockerd for --privileged to work", dockerConfig)
	}
	users, err := lockFile(filepath.Join(testStateDir, "docker.users"), syscall.LOCK_SH)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { releaseDocker(tb, users) })

	d := &Docker{Bin: bin, Socket: dockerSocket, Image: TestImage}
	if _, err := d.run("image", "inspect", "--format", "{{.Id}}", TestImage); err != nil {
		if err := importImage(bin, "import", "--change", `CMD ["/bin/sh"]`, "-", TestImage); err != nil {
			tb.Fatalf("docker import %s: %v", TestImage, err)
		}
	}
	return d
}

// Run runs the docker command with args and returns its trimmed standard
// output; a failure fails the test.
func (d *Docker) Run(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := d.run(args...)
	if err != nil {
		tb.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Start runs `docker run -d args...` and returns the container's full id.
// The container is removed when the test ends.
func (d *Docker) Start(tb testing.TB, args ...string) string {
	tb.Helper()
	id := d.Run(tb, append([]string{"run", "-d"}, args...)...)
	tb.Cleanup(func() { d.run("rm", "-f", id) })
	return id
}

func (d *Docker) run(args ...string) (string, error) {
	return runTool(d.Bin, args...)
}

// runTool runs a command bounded to two minutes and returns its trimmed
// standard output, or an error with its standard error.
func runTool(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// writeDockerConfig installs the runc wrapper and makes it dockerd's
// default runtime, keeping any other setting of daemon.json. It reports
// whether daemon.json changed.
func writeDockerConfig() (bool, error) {
	if err := writeIfChanged(runcWrapper, []byte(runcWrapperScript), 0o755); err != nil {
		return false, err
	}
	cfg := map[string]any{}
	old, err := os.ReadFile(dockerConfig)
	switch {
	case err == nil:
		if err := json.Unmarshal(old, &cfg); err != nil {
			return false, fmt.Errorf("%s: %w", dockerConfig, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return false, err
	}
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if runtimes == nil {
		runtimes = map[string]any{}
	}
	runtimes[wrapperName] = map[string]any{"path": runcWrapper}
	cfg["runtimes"] = runtimes
	cfg["default-runtime"] = wrapperName
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return false, err
	}
	b = append(b, '\n')
	if bytes.Equal(b, old) {
		return false, nil
	}
	return true, writeIfChanged(dockerConfig, b, 0o644)
}

// writeIfChanged writes data to path (creating its directory) unless the
// file already holds exactly that.
func writeIfChanged(path string, data []byte, mode os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return os.Chmod(path, mode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".falcoc-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockFile opens path and flocks it (blocking).
func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func pingDocker(socket string) error {
	c := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	resp, err := c.Get("http://localhost/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

func dockerdPidFile() string { return filepath.Join(testStateDir, "dockerd.pid") }

// startDockerd starts dockerd in the background, records its pid and waits
// until it answers.
func startDockerd(dockerd string) error {
	logPath := filepath.Join(testStateDir, "dockerd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(dockerd)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: signals meant for the test do not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it whoever stops it
	if err := os.WriteFile(dockerdPidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		cmd.Process.Kill()
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if pingDocker(dockerSocket) == nil {
			return nil
		}
		select {
		case err := <-exited:
			os.Remove(dockerdPidFile())
			return fmt.Errorf("dockerd exited (%v); log %s:\n%s", err, logPath, tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd (pid %d) not answering after 60s; log %s:\n%s", pid, logPath, tail(logPath))
		}
	}
}

// releaseDocker drops this test's use of dockerd and stops the daemon if
// no other test uses it and a test started it.
func releaseDocker(tb testing.TB, users *os.File) {
	start, err := lockFile(filepath.Join(testStateDir, "docker.start"), syscall.LOCK_EX)
	if err != nil {
		tb.Error(err)
		users.Close()
		return
	}
	defer start.Close()
	defer users.Close()
	if syscall.Flock(int(users.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // another test binary still uses it
	}
	b, err := os.ReadFile(dockerdPidFile())
	if err != nil {
		return // not started by a test
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		os.Remove(dockerdPidFile())
		return
	}
	if err := stopPid(pid, 30*time.Second); err != nil {
		tb.Errorf("stop dockerd: %v", err)
	}
	os.Remove(dockerdPidFile())
}

// stopPid sends SIGTERM to pid, then SIGKILL after grace, and waits for it
// to be gone (or a zombie its parent will reap).
func stopPid(pid int, grace time.Duration) error {
	if !isDockerd(pid) {
		return nil // gone, or the pid was reused
	}
	syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, grace) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("dockerd (pid %d) survives SIGKILL", pid)
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func isDockerd(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(b)) == "dockerd"
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// importImage pipes the busybox root file system into `bin args...`
// (docker import or podman import).
func importImage(bin string, args ...string) error {
	var buf bytes.Buffer
	if err := busyboxRootfs(&buf); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// busyboxRootfs writes a tar of a minimal root file system: busybox with a
// symbolic link per applet, /etc/passwd, /etc/group, /tmp and /root.
func busyboxRootfs(w io.Writer) error {
	bb, err := os.ReadFile(busyboxBinary)
	if err != nil {
		return err
	}
	list, err := exec.Command(busyboxBinary, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	if err := file("bin/busybox", 0o755, bb); err != nil {
		return err
	}
	if err := file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")); err != nil {
		return err
	}
	if err := file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")); err != nil {
		return err
	}
	for _, p := range strings.Fields(string(list)) {
		if p == "bin/busybox" || strings.Contains(p, "..") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Podman is podman, ready to run [TestImage] (as localhost/falcoc-busybox).
type Podman struct {
	// Bin is the podman command.
	Bin string
	// Image is the test image's name in podman's store.
	Image string
}

// RequirePodman returns podman with the test image loaded. It skips (or
// fails) unless running as root with podman and busybox-static installed.
// It writes the ulimits podman needs on this kind of machine into
// containers.conf when that file does not exist.
func RequirePodman(tb testing.TB) *Podman {
	tb.Helper()
	RequireRoot(tb)
	bin := RequireCommand(tb, "podman")
	if _, err := os.Stat(busyboxBinary); err != nil {
		SkipOrFail(tb, "needs busybox-static: %v", err)
	}
	conf := "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
	if old, err := os.ReadFile(podmanConfig); errors.Is(err, os.ErrNotExist) {
		if err := writeIfChanged(podmanConfig, []byte(conf), 0o644); err != nil {
			tb.Fatal(err)
		}
	} else if err == nil && !bytes.Contains(old, []byte("default_ulimits")) {
		tb.Logf("%s has no default_ulimits: podman run may fail on this machine", podmanConfig)
	}
	p := &Podman{Bin: bin, Image: "localhost/" + TestImage}
	start, err := lockFile(filepath.Join(os.TempDir(), "falcoc-test-podman.lock"), syscall.LOCK_EX)
	if err != nil {
		tb.Fatal(err)
	}
	defer start.Close()
	if _, err := runTool(bin, "image", "exists", p.Image); err != nil {
		if err := importImage(bin, "import", "--change", `CMD ["/bin/sh"]`, "-", p.Image); err != nil {
			tb.Fatalf("podman import %s: %v", p.Image, err)
		}
	}
	return p
}

// Run runs podman with args and returns its trimmed standard output; a
// failure fails the test.
func (p *Podman) Run(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := runTool(p.Bin, args...)
	if err != nil {
		tb.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Start runs `podman run -d args...` and returns the container's full id.
// The container is removed when the test ends.
func (p *Podman) Start(tb testing.TB, args ...string) string {
	tb.Helper()
	id := p.Run(tb, append([]string{"run", "-d"}, args...)...)
	tb.Cleanup(func() { runTool(p.Bin, "rm", "-f", "-t", "0", id) })
	return id
}
