package containers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyInitConfig(t *testing.T) {
	got := Options{}
	err := got.ApplyInitConfig(map[string]string{
		"label_max_len":              "100",
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
			`plugins[0].init_config.engines.rkt.enabled: unknown engine "rkt" (want one of docker, podman, containerd, cri, lxc, libvirt_lxc, bpm)`},
		{map[string]string{"engines.docker.socket": `/x`},
			`plugins[0].init_config.engines.docker.socket: unknown key (want enabled or sockets)`},
		{map[string]string{"engine": `x`}, `plugins[0].init_config.engine: unknown key`},
	} {
		var o Options
		err := o.ApplyInitConfig(tc.ic, "plugins[0].init_config")
		if err == nil || err.Error() != tc.want {
			t.Errorf("ApplyInitConfig(%v) = %v, want %s", tc.ic, err, tc.want)
		}
	}
}
