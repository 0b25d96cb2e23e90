package containers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// liveName is a container name unique to this test process.
func liveName(t *testing.T) string {
	return fmt.Sprintf("falcoc-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), os.Getpid())
}

func TestLiveDocker(t *testing.T) {
	d := testutil.RequireDocker(t)
	// Started before the container: it follows docker's events.
	dir := t.TempDir()
	l := New(&Options{DockerSockets: []string{d.Socket}, PodmanSockets: []string{}, CRISockets: []string{},
		ContainerdSockets: []string{filepath.Join(dir, "none.sock")}, Timeout: 20 * time.Second})
	defer l.Close()
	name := liveName(t)
	full := d.Start(t, "--name", name, "--privileged", "-v", "/etc:/host-etc", "-l", "app=falcoc-test", d.Image, "sleep", "300")
	imageID := d.Run(t, "inspect", "--format", "{{.Image}}", full)

	// The container's cgroup gives the id and type the engine prefetches.
	pid := d.Run(t, "inspect", "--format", "{{.State.Pid}}", full)
	cg, err := os.ReadFile(filepath.Join("/proc", pid, "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	id, fullID, typ, ok := (&container.Parser{}).FromCgroups(container.ParseProcCgroup(string(cg)))
	if !ok || fullID != full || typ != container.TypeDocker {
		t.Fatalf("cgroup %q gives %q %q %q %v, want %s docker", cg, id, fullID, typ, ok, full)
	}

	// docker's create and start events made the Lookup fetch the
	// container before anyone asked.
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Found < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, ok := l.Container(id)
	if !ok {
		t.Fatalf("no metadata for %s from docker events; stats %+v, last error %v", id, l.Stats(), l.LastError())
	}
	if st := l.Stats(); st.Misses != 0 || st.Events < 2 {
		t.Errorf("stats = %+v, want no miss and at least 2 events", st)
	}
	l.Prefetch(fullID, typ) // cached: nothing to do
	want := &extract.Container{
		ID:              id,
		FullID:          full,
		Name:            name,
		Type:            "docker",
		Image:           "falcoc-busybox:latest",
		ImageID:         strings.TrimPrefix(imageID, "sha256:"),
		ImageRepository: "falcoc-busybox",
		ImageTag:        "latest",
		Privileged:      true,
		Mounts:          []extract.Mount{{Source: "/etc", Dest: "/host-etc", RW: true, Propagation: "rprivate"}},
		Labels:          map[string]string{"app": "falcoc-test"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(extract.Container{}, "IP", "StartTS")); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	if got.StartTS <= 0 || got.IP == "" {
		t.Errorf("start %d, ip %q: want both set", got.StartTS, got.IP)
	}

	// A container docker does not know is cached as missing.
	if _, ok := l.Wait("0123456789ab", 30*time.Second); ok {
		t.Error("an unknown container was found")
	}
	if st := l.Stats(); st.NotFound != 1 || st.Errors != 0 {
		t.Errorf("stats = %+v, want 1 not found, 0 errors (last error %v)", st, l.LastError())
	}

	// The same container through containerd's API, in dockerd's
	// containerd (its own, or the machine's): the moby namespace.
	t.Run("containerd", func(t *testing.T) {
		addr := "/var/run/docker/containerd/containerd.sock"
		if _, err := os.Stat(addr); err != nil {
			addr = "/run/containerd/containerd.sock"
		}
		b := NewContainerd(addr, []string{"default", "moby"})
		defer b.Close()
		c, err := b.Fetch(t.Context(), full, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.FullID != full || c.ID != id || c.Type != "containerd" || c.StartTS <= 0 {
			t.Errorf("containerd gives id %q full %q type %q created %d", c.ID, c.FullID, c.Type, c.StartTS)
		}
		if !c.Privileged {
			t.Error("containerd: not privileged")
		}
		// docker adds its own binds (resolv.conf, hostname, hosts) after
		// the user's.
		want := extract.Mount{Source: "/etc", Dest: "/host-etc", Mode: "rw", RW: true, Propagation: "rprivate"}
		if len(c.Mounts) == 0 || c.Mounts[0] != want {
			t.Errorf("containerd mounts = %+v, want %+v first", c.Mounts, want)
		}
		if _, err := b.Fetch(t.Context(), "0123456789ab", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown container: %v, want ErrNotFound", err)
		}
	})
}

func TestLivePodman(t *testing.T) {
	p := testutil.RequirePodman(t)
	name := liveName(t)
	sock := p.Service(t)
	dir := t.TempDir()
	l := New(&Options{
		PodmanSockets:     []string{sock},
		DockerSockets:     []string{filepath.Join(dir, "docker.sock")},
		ContainerdSockets: []string{},
		CRISockets:        []string{},
		Timeout:           20 * time.Second,
	})
	defer l.Close()
	// Created while the Lookup follows podman's events.
	time.Sleep(200 * time.Millisecond)
	full := p.Start(t, "--name", name, "--privileged", "-v", "/etc:/host-etc:ro", "-l", "app=falcoc-test", p.Image, "sleep", "300")
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Found < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := l.Stats(); st.Events < 1 || st.Found < 1 {
		t.Errorf("stats %+v: want podman's events followed and the container fetched (last error %v)", st, l.LastError())
	}
	l.Prefetch(full, container.TypePodman)
	got, ok := l.Wait(full[:12], 30*time.Second)
	if !ok {
		t.Fatalf("no metadata; stats %+v, last error %v", l.Stats(), l.LastError())
	}
	want := &extract.Container{
		ID:              full[:12],
		FullID:          full,
		Name:            name,
		Type:            "podman",
		Image:           p.Image,
		ImageRepository: strings.TrimSuffix(p.Image, ":latest"),
		ImageTag:        "latest",
		Privileged:      true,
		Mounts:          []extract.Mount{{Source: "/etc", Dest: "/host-etc", RW: false, Propagation: "rprivate"}},
		Labels:          map[string]string{"app": "falcoc-test"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(extract.Container{}, "IP", "StartTS", "ImageID", "ImageDigest")); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	// podman's API gives the image's repository digest (its own, for an
	// imported image).
	if !strings.HasPrefix(got.ImageDigest, "sha256:") || got.ImageID == "" || got.StartTS <= 0 {
		t.Errorf("digest %q, image id %q, start %d: want all set", got.ImageDigest, got.ImageID, got.StartTS)
	}
}

func TestLiveCRI(t *testing.T) {
	cri := testutil.RequireCRI(t)
	pod := cri.RunPod(t, "web-0", "shop", map[string]string{"app": "web", "tier": "front"})
	id := cri.CreateContainer(t, pod, "nginx", false, "sleep", "300")
	cri.Start(t, id)

	dir := t.TempDir()
	l := New(&Options{
		DockerSockets: []string{}, PodmanSockets: []string{}, ContainerdSockets: []string{},
		CRISockets: []string{filepath.Join(dir, "crio.sock"), cri.Socket},
		Timeout:    20 * time.Second,
	})
	defer l.Close()
	l.Prefetch(id, container.TypeCRI) // the kubepods cgroup layout
	got, ok := l.Wait(id[:12], 30*time.Second)
	if !ok {
		t.Fatalf("no metadata; stats %+v, last error %v", l.Stats(), l.LastError())
	}
	uid := pod.Config.Metadata.Uid
	want := &extract.Container{
		ID:              id[:12],
		FullID:          id,
		Name:            "nginx",
		Type:            "containerd",
		Image:           testutil.CRIImage,
		ImageRepository: "docker.io/library/falcoc-busybox",
		ImageTag:        "latest",
		HostNetwork:     true,
		Labels: map[string]string{
			"io.kubernetes.container.name": "nginx",
			"io.kubernetes.pod.name":       "web-0",
			"io.kubernetes.pod.namespace":  "shop",
			"io.kubernetes.pod.uid":        uid,
			"io.kubernetes.sandbox.id":     pod.ID,
		},
		PodName:      "web-0",
		PodNamespace: "shop",
		PodUID:       uid,
		PodSandboxID: pod.ID,
		PodLabels:    map[string]string{"app": "web", "tier": "front"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(extract.Container{}, "StartTS", "ImageID", "ImageDigest", "IP", "PodIP")); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	if got.StartTS <= 0 || got.ImageID == "" || !strings.HasPrefix(got.ImageDigest, "sha256:") {
		t.Errorf("created %d, image id %q, digest %q: want all set", got.StartTS, got.ImageID, got.ImageDigest)
	}

	// The pod sandbox has a cgroup (its pause process) but is not a
	// container.
	if c, err := NewCRI([]string{cri.Socket}).Fetch(t.Context(), pod.ID, container.TypeCRI); !errors.Is(err, ErrNotFound) {
		t.Errorf("pod sandbox: %+v, %v; want ErrNotFound", c, err)
	}
	// No socket answers: unavailable.
	if _, err := NewCRI([]string{filepath.Join(dir, "none.sock")}).Fetch(t.Context(), id, ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no socket: %v, want ErrUnavailable", err)
	}

	// A pod with a network of its own (CNI's bridge): its address and CNI
	// result.
	t.Run("network", func(t *testing.T) {
		pod := cri.RunPodNetwork(t, "db-0", "shop", map[string]string{"app": "db"})
		id := cri.CreateContainer(t, pod, "db", false, "sleep", "300")
		cri.Start(t, id)
		b := NewCRI([]string{cri.Socket})
		defer b.Close()
		c, err := b.Fetch(t.Context(), id, container.TypeCRI)
		if err != nil {
			t.Fatal(err)
		}
		_, subnet, err := net.ParseCIDR(cri.Subnet)
		if err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(c.PodIP); ip == nil || !subnet.Contains(ip) || c.IP != c.PodIP {
			t.Errorf("pod ip %q, container ip %q: want one address in %s", c.PodIP, c.IP, cri.Subnet)
		}
		if c.HostNetwork || !strings.Contains(c.CNIJSON, `"IP":"`+c.PodIP+`"`) || strings.Contains(c.CNIJSON, "veth") || c.PodCNIJSON != c.CNIJSON {
			t.Errorf("host network %v, cni %q", c.HostNetwork, c.CNIJSON)
		}
		t.Logf("pod ip %s, cni %s", c.PodIP, c.CNIJSON)
	})

	// containerd's own API sees the same container in the k8s.io
	// namespace, and its events announce a new one to the Lookup.
	t.Run("containerd", func(t *testing.T) {
		b := NewContainerd(cri.Socket, []string{"default", "k8s.io"})
		defer b.Close()
		c, err := b.Fetch(t.Context(), id, container.TypeContainerd)
		if err != nil {
			t.Fatal(err)
		}
		// containerd's record has the CRI plugin's labels, not the pod's:
		// the pod's fields come from CRI.
		if c.FullID != id || c.Name != "nginx" || c.PodSandboxID != pod.ID {
			t.Errorf("containerd: %+v", c)
		}
		l := New(&Options{
			DockerSockets: []string{}, PodmanSockets: []string{}, ContainerdSockets: []string{cri.Socket},
			CRISockets: []string{cri.Socket}, Timeout: 20 * time.Second,
		})
		defer l.Close()
		time.Sleep(300 * time.Millisecond) // subscribed
		id2 := cri.CreateContainer(t, pod, "sidecar", false, "sleep", "300")
		cri.Start(t, id2)
		deadline := time.Now().Add(30 * time.Second)
		for l.Stats().Found < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c2, ok := l.Container(id2[:12])
		if !ok || c2.Name != "sidecar" || c2.PodName != "web-0" || c2.PodNamespace != "shop" || c2.Type != "containerd" {
			t.Errorf("after containerd's create event: %+v %v; stats %+v, last error %v", c2, ok, l.Stats(), l.LastError())
		}
		if st := l.Stats(); st.Misses != 0 {
			t.Errorf("stats %+v: the container was not cached before it was asked for", st)
		}
	})
}
