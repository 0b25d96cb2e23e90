package containers

import (
	"fmt"
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
	l := New(&Options{DockerSocket: d.Socket, Timeout: 20 * time.Second})
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

	// The same container through containerd (ctr), in dockerd's own
	// containerd: the moby namespace.
	t.Run("containerd", func(t *testing.T) {
		testutil.RequireCommand(t, "ctr")
		addr := "/var/run/docker/containerd/containerd.sock"
		if _, err := os.Stat(addr); err != nil {
			addr = "/run/containerd/containerd.sock"
		}
		c, err := NewContainerd(addr, []string{"default", "moby"}).Fetch(t.Context(), full, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.FullID != full || c.ID != id || c.Type != "containerd" {
			t.Errorf("containerd gives id %q full %q type %q", c.ID, c.FullID, c.Type)
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
	})
}

func TestLivePodman(t *testing.T) {
	p := testutil.RequirePodman(t)
	name := liveName(t)
	full := p.Start(t, "--name", name, "--privileged", "-v", "/etc:/host-etc:ro", "-l", "app=falcoc-test", p.Image, "sleep", "300")
	dir := t.TempDir()
	// No API socket: the backend runs `podman inspect`.
	l := New(&Options{
		PodmanSocket: filepath.Join(dir, "podman.sock"),
		DockerSocket: filepath.Join(dir, "docker.sock"),
		Timeout:      20 * time.Second,
	})
	defer l.Close()
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
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(extract.Container{}, "IP", "StartTS", "ImageID")); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
}
