package containers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyInitConfig(t *testing.T) {
	got := Options{}
	err := got.ApplyInitConfig(map[string]string{
		"label_max_len":              "100",
		"log_level":                  "info",
		"engines.static.enabled":     "false",
		"hooks":                      `["create"]`,
		"engines.docker.enabled":     "true",
		"engines.docker.sockets":     `["/a/docker.sock","/b/docker.sock"]`,
		"engines.podman.enabled":     "false",
		"engines.podman.sockets":     `["/run/podman/podman.sock"]`,
		"engines.cri.enabled":        "true",
		"engines.cri.sockets":        `["/run/crio/crio.sock"]`,
		"engines.containerd.enabled": "true",
		"engines.lxc.enabled":        "false",
	}, "plugins[0].init_config")
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		DockerSockets: []string{"/a/docker.sock", "/b/docker.sock"},
		PodmanSockets: []string{},
		CRISockets:    []string{"/run/crio/crio.sock"},
		// containerd enabled without sockets: its defaults (nil).
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		ic   map[string]string
		want string
	}{
		{map[string]string{"engines.docker.sockets": `/var/run/docker.sock`},
			`plugins[0].init_config.engines.docker.sockets: want a list of socket paths: invalid character '/' looking for beginning of value`},
		{map[string]string{"engines.docker.sockets": `["run/docker.sock"]`},
			`plugins[0].init_config.engines.docker.sockets[0]: "run/docker.sock" is not an absolute path`},
		{map[string]string{"engines.cri.enabled": `yes please`},
			`plugins[0].init_config.engines.cri.enabled: "yes please" is not true or false`},
		{map[string]string{"engines.rkt.enabled": `true`},
			`plugins[0].init_config.engines.rkt.enabled: unknown engine "rkt" (want one of docker, podman, containerd, cri, lxc, libvirt_lxc, bpm, static)`},
		{map[string]string{"engines.static.enabled": `true`, "engines.static.container_id": "x"},
			`plugins[0].init_config.engines.static.enabled: the static engine is not supported by falcoc`},
		{map[string]string{"engines.docker.socket": `/x`},
			`plugins[0].init_config.engines.docker.socket: unknown key (want enabled or sockets)`},
	} {
		var o Options
		err := o.ApplyInitConfig(tc.ic, "plugins[0].init_config")
		if err == nil || err.Error() != tc.want {
			t.Errorf("ApplyInitConfig(%v) = %v, want %s", tc.ic, err, tc.want)
		}
	}
}

func TestDefaultSockets(t *testing.T) {
	root := t.TempDir()
	for _, uid := range []string{"1000", "1001"} {
		dir := filepath.Join(root, "run/user", uid, "podman")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "podman.sock"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := (&Options{HostRoot: root, Backends: []Backend{}}).withDefaults()
	want := []string{root + "/run/podman/podman.sock", root + "/run/user/1000/podman/podman.sock", root + "/run/user/1001/podman/podman.sock"}
	if diff := cmp.Diff(want, o.PodmanSockets); diff != "" {
		t.Errorf("podman sockets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{root + "/var/run/docker.sock"}, o.DockerSockets); diff != "" {
		t.Errorf("docker sockets (-want +got):\n%s", diff)
	}
	if len(o.CRISockets) != len(DefaultCRISockets) || o.CRISockets[1] != root+"/run/crio/crio.sock" {
		t.Errorf("cri sockets %v", o.CRISockets)
	}
	// Configured sockets are taken as they are, below HOST_ROOT.
	o = (&Options{HostRoot: root, PodmanSockets: []string{"/x/p.sock"}, Backends: []Backend{}}).withDefaults()
	if diff := cmp.Diff([]string{root + "/x/p.sock"}, o.PodmanSockets); diff != "" {
		t.Errorf("configured podman sockets (-want +got):\n%s", diff)
	}
}
