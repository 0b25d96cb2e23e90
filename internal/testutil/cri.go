package testutil

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRI is a containerd of the test's own with its CRI plugin enabled, and a
// CRI client on its socket: what a kubelet talks to. [RequireCRI] starts
// it with a private root, state and socket, so that it neither reads nor
// changes the machine's containerd (which docker may share) and can run
// beside it. [CRI.RunPod] runs pods with the host's network;
// [CRI.RunPodNetwork] gives a pod a network namespace of its own on a
// bridge of the instance's own (CNI's bridge and host-local plugins, from
// containernetworking-plugins), removed when the test ends.
type CRI struct {
	// Socket is the daemon's gRPC socket (CRI and containerd's own API).
	Socket string
	// Image and PauseImage are the busybox test image and the pod sandbox
	// image, as CRI names them.
	Image, PauseImage string
	// Runtime and Images are CRI clients on Socket.
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient

	// Subnet is the /24 that RunPodNetwork's pods get addresses from.
	Subnet string

	dir    string
	ctr    string
	bridge string
}

// CRI image names: docker's normalised forms of the local images.
const (
	CRIImage      = "docker.io/library/falcoc-busybox:latest"
	CRIPauseImage = "docker.io/library/falcoc-pause:latest"
)

// criConfig is containerd's configuration for a private instance below
// dir: the CRI plugin with the local pause image, the runc wrapper
// (see [RequireDocker]), cgroupfs, and a stream server on a free port.
const criConfig = `version = 2
root = "%[1]s/root"
state = "%[1]s/state"
[grpc]
  address = "%[1]s/containerd.sock"
[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[2]s"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[4]s"
    conf_dir = "%[1]s/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "%[3]s"
        SystemdCgroup = false
`

// criCNI is the instance's CNI network: a bridge of its own (%[1]s) with
// addresses from %[2]s, leases kept below the instance's directory (%[3]s),
// no masquerading (nothing is routed out).
const criCNI = `{"cniVersion": "0.4.0", "name": "falcoc-cri", "plugins": [{"type": "bridge", "bridge": "%[1]s",
  "isGateway": true, "ipMasq": false, "ipam": {"type": "host-local", "ranges": [[{"subnet": "%[2]s"}]], "dataDir": "%[3]s"}}]}`

// cniBinDir holds CNI's plugins (containernetworking-plugins).
const cniBinDir = "/usr/lib/cni"

// RequireCRI starts a containerd with CRI for this test (stopped, and its
// directories removed, when the test ends) and imports the busybox and
// pause images into its k8s.io namespace. It skips (or fails) unless
// running as root with containerd, ctr, runc, jq and busybox-static.
func RequireCRI(tb testing.TB) *CRI {
	tb.Helper()
	RequireRoot(tb)
	containerd := RequireCommand(tb, "containerd")
	ctr := RequireCommand(tb, "ctr")
	RequireCommand(tb, "runc")
	RequireCommand(tb, "containerd-shim-runc-v2")
	RequireCommand(tb, "jq")
	if _, err := os.Stat(busyboxBinary); err != nil {
		SkipOrFail(tb, "needs busybox-static: %v", err)
	}
	if err := writeIfChanged(runcWrapper, []byte(runcWrapperScript), 0o755); err != nil {
		tb.Fatal(err)
	}
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp(testStateDir+"-cri", "")
	if os.IsNotExist(err) {
		err = os.MkdirAll(testStateDir+"-cri", 0o755)
		if err == nil {
			dir, err = os.MkdirTemp(testStateDir+"-cri", "")
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	c := &CRI{Socket: filepath.Join(dir, "containerd.sock"), Image: CRIImage, PauseImage: CRIPauseImage, dir: dir}
	for _, d := range []string{"net.d", "cni-ipam"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// A bridge name and a /24 of the instance's own (an interface name
	// has at most 15 bytes).
	n, _ := strconv.Atoi(filepath.Base(dir))
	c.bridge = fmt.Sprintf("fcri%d", n%100000000)
	c.Subnet = fmt.Sprintf("10.213.%d.0/24", n%250)
	cni := fmt.Sprintf(criCNI, c.bridge, c.Subnet, filepath.Join(dir, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(dir, "net.d", "10-falcoc.conflist"), []byte(cni), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, criConfig, dir, CRIPauseImage, runcWrapper, cniBinDir), 0o644); err != nil {
		tb.Fatal(err)
	}
	logPath := filepath.Join(dir, "containerd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(containerd, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatal(err)
	}
	logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() { c.stop(tb, cmd.Process.Pid, exited) })

	cc, err := grpc.NewClient("unix://"+c.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cc.Close() })
	c.Runtime = runtimeapi.NewRuntimeServiceClient(cc)
	c.Images = runtimeapi.NewImageServiceClient(cc)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Runtime.Version(ctx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			tb.Fatalf("containerd exited (%v); log %s:\n%s", werr, logPath, tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("containerd CRI not answering after 60s (%v); log %s:\n%s", err, logPath, tail(logPath))
		}
	}
	c.ctr = ctr
	c.ImportImages(tb, "k8s.io")
	return c
}

// ImportImages imports [CRIImage] and [CRIPauseImage] into a containerd
// namespace of the daemon (RequireCRI does it for k8s.io, CRI's).
func (c *CRI) ImportImages(tb testing.TB, namespace string) {
	tb.Helper()
	var img bytes.Buffer
	if err := imageArchive(&img); err != nil {
		tb.Fatal(err)
	}
	ictx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	imp := exec.CommandContext(ictx, c.ctr, "-a", c.Socket, "-n", namespace, "images", "import", "-")
	imp.Stdin = &img
	if out, err := imp.CombinedOutput(); err != nil {
		tb.Fatalf("ctr images import: %v\n%s", err, out)
	}
}

// Ctr runs ctr on the daemon's socket in namespace with args and returns
// its combined output; a failure fails the test.
func (c *CRI) Ctr(tb testing.TB, namespace string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.ctr, append([]string{"-a", c.Socket, "-n", namespace}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ctr -n %s %s: %v\n%s", namespace, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stop removes every pod (and so every container) of the private
// containerd, stops it and removes its directories.
func (c *CRI) stop(tb testing.TB, pid int, exited chan error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if pods, err := c.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
		for _, p := range pods.Items {
			c.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id})
			c.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id})
		}
	}
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-exited
	}
	// Whatever is still mounted below the root (a snapshot of a container
	// that would not stop) must not be removed through.
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], c.dir+"/") {
				syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
	if c.bridge != "" {
		// The bridge CNI made for the pods (if any pod had a network).
		exec.Command("ip", "link", "del", c.bridge).Run()
	}
	if err := os.RemoveAll(c.dir); err != nil {
		tb.Logf("remove %s: %v", c.dir, err)
	}
}

// Pod is a pod sandbox made by [CRI.RunPod].
type Pod struct {
	ID     string
	Config *runtimeapi.PodSandboxConfig
}

// RunPod runs a pod sandbox with the host's network, in the cgroup
// /kubepods/besteffort/pod<uid> as a kubelet with the cgroupfs driver
// makes it. It is removed when the test ends.
func (c *CRI) RunPod(tb testing.TB, name, namespace string, labels map[string]string) *Pod {
	tb.Helper()
	return c.runPod(tb, name, namespace, labels, runtimeapi.NamespaceMode_NODE)
}

// RunPodNetwork is [CRI.RunPod] with a network namespace of the pod's own,
// set up by CNI on the instance's bridge (an address in [CRI.Subnet]).
// It needs containernetworking-plugins and iproute2.
func (c *CRI) RunPodNetwork(tb testing.TB, name, namespace string, labels map[string]string) *Pod {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		SkipOrFail(tb, "needs containernetworking-plugins: %v", err)
	}
	RequireCommand(tb, "ip")
	return c.runPod(tb, name, namespace, labels, runtimeapi.NamespaceMode_POD)
}

func (c *CRI) runPod(tb testing.TB, name, namespace string, labels map[string]string, network runtimeapi.NamespaceMode) *Pod {
	tb.Helper()
	uid := newUID()
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: uid},
		LogDirectory: filepath.Join(c.dir, "logs", uid),
		Labels:       labels,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod" + uid,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: network},
			},
		},
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := c.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		tb.Fatalf("RunPodSandbox %s/%s: %v", namespace, name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: r.PodSandboxId})
		c.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: r.PodSandboxId})
	})
	return &Pod{ID: r.PodSandboxId, Config: cfg}
}

// CreateContainer creates a container of [CRIImage] in pod, running
// command (with a terminal when tty), and returns its id. Call
// [CRI.Start] to start it.
func (c *CRI) CreateContainer(tb testing.TB, pod *Pod, name string, tty bool, command ...string) string {
	tb.Helper()
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: c.Image},
		Command:  command,
		Tty:      tty,
		Stdin:    tty,
		LogPath:  name + ".log",
		Labels:   map[string]string{"io.kubernetes.container.name": name},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := c.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: pod.ID, Config: cfg, SandboxConfig: pod.Config,
	})
	if err != nil {
		tb.Fatalf("CreateContainer %s: %v", name, err)
	}
	return r.ContainerId
}

// Start starts a created container.
func (c *CRI) Start(tb testing.TB, id string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		tb.Fatalf("StartContainer %s: %v", id, err)
	}
}

// newUID returns a random pod uid in the form Kubernetes uses.
func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// imageArchive writes, in `docker save`'s format, the busybox root file
// system as two images sharing its layer: falcoc-busybox (CMD /bin/sh)
// and falcoc-pause, whose command sleeps (a pod sandbox's process must
// stay up).
func imageArchive(w io.Writer) error {
	var layer bytes.Buffer
	if err := busyboxRootfs(&layer); err != nil {
		return err
	}
	sum := sha256.Sum256(layer.Bytes())
	layerHex := hex.EncodeToString(sum[:])
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := file(layerHex+"/layer.tar", layer.Bytes()); err != nil {
		return err
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []entry
	for _, im := range []struct {
		tag string
		cmd []string
	}{
		{"falcoc-busybox:latest", []string{"/bin/sh"}},
		{"falcoc-pause:latest", []string{"/bin/sleep", "2147483647"}},
	} {
		cfg, err := json.Marshal(map[string]any{
			"architecture": "amd64",
			"os":           "linux",
			"created":      mtime.UTC().Format(time.RFC3339),
			"config":       map[string]any{"Cmd": im.cmd},
			"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
		})
		if err != nil {
			return err
		}
		cs := sha256.Sum256(cfg)
		name := hex.EncodeToString(cs[:]) + ".json"
		if err := file(name, cfg); err != nil {
			return err
		}
		manifest = append(manifest, entry{Config: name, RepoTags: []string{im.tag}, Layers: []string{layerHex + "/layer.tar"}})
	}
	m, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := file("manifest.json", m); err != nil {
		return err
	}
	return tw.Close()
}

// RuncWrapper is the runc wrapper that [RequireDocker] and [RequireCRI]
// install: runc for this kind of machine (see the package documentation).
const RuncWrapper = runcWrapper
