package containers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// engineKeys are the container plugin's engines that falcoc serves, by
// init_config name.
var engineKeys = []string{"docker", "podman", "containerd", "cri"}

// otherEngines are engines of the container plugin that need no socket
// (their containers are known from the cgroup alone, which falcoc does
// for every layout it recognises): accepted, nothing to configure.
var otherEngines = []string{"lxc", "libvirt_lxc", "bpm"}

// ApplyInitConfig sets o's sockets from the container plugin's
// init_config as falco.yaml's plugins entry gives it (flattened: see
// runtime/config.InitConfig): engines.<engine>.sockets (a list of paths)
// and engines.<engine>.enabled for docker, podman, containerd and cri. An
// engine that is not enabled gets no socket; an enabled engine without
// sockets keeps its defaults. where names the entry in errors
// ("plugins[2].init_config").
func (o *Options) ApplyInitConfig(ic map[string]string, where string) error {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range ic {
			if !yield(k) {
				return
			}
		}
	}) {
		v := ic[k]
		rest, ok := strings.CutPrefix(k, "engines.")
		if !ok {
			// label_max_len, with_size, hooks, log_level: accepted and
			// ignored (falcoc keeps every label, never inspects sizes,
			// and fetches a container when it is created); the plugin's
			// schema allows other top-level keys too.
			continue
		}
		engine, attr, _ := strings.Cut(rest, ".")
		if slices.Contains(otherEngines, engine) && attr == "enabled" {
			continue
		}
		if engine == "static" {
			// One static container for every event: not supported.
			if attr == "enabled" && v == "true" {
				return fmt.Errorf("%s.%s: the static engine is not supported by falcoc", where, k)
			}
			continue
		}
		var list *[]string
		switch engine {
		case "docker":
			list = &o.DockerSockets
		case "podman":
			list = &o.PodmanSockets
		case "containerd":
			list = &o.ContainerdSockets
		case "cri":
			list = &o.CRISockets
		default:
			return fmt.Errorf("%s.%s: unknown engine %q (want one of %s, static)", where, k, engine,
				strings.Join(append(slices.Clone(engineKeys), otherEngines...), ", "))
		}
		switch attr {
		case "enabled":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s.%s: %q is not true or false", where, k, v)
			}
			if !on {
				*list = []string{}
			}
		case "sockets":
			if ic["engines."+engine+".enabled"] == "false" {
				continue
			}
			var socks []string
			if err := json.Unmarshal([]byte(v), &socks); err != nil {
				return fmt.Errorf("%s.%s: want a list of socket paths: %v", where, k, err)
			}
			for i, s := range socks {
				if !strings.HasPrefix(s, "/") {
					return fmt.Errorf("%s.%s[%d]: %q is not an absolute path", where, k, i, s)
				}
			}
			if len(socks) > 0 {
				*list = socks
			}
		default:
			return fmt.Errorf("%s.%s: unknown key (want enabled or sockets)", where, k)
		}
	}
	return nil
}
