package extract

import (
	"fmt"
	"path"
	"slices"
	"strconv"

	"github.com/falcoc/falcoc/runtime/state/container"
	"github.com/falcoc/falcoc/runtime/vm"
)

// containerID returns container.id of the event's process: "host" for
// host processes (and processes whose cgroups are unknown).
func (e *Env) containerID() (string, bool) {
	th := e.thread()
	if th == nil {
		return "", false
	}
	if id := th.Proc().ContainerID; id != "" {
		return id, true
	}
	return container.HostID, true
}

// container returns the metadata of the event's container, nil on the
// host or when unknown.
func (e *Env) container() *Container {
	if e.ctrDone {
		return e.ctr
	}
	e.ctrDone = true
	id, ok := e.containerID()
	if !ok || id == container.HostID || e.deps.Containers == nil {
		return nil
	}
	if c, ok := e.deps.Containers.Container(id); ok {
		e.ctr = c
	}
	return e.ctr
}

func ctrStr(f func(c *Container) string) builder {
	return strF(func(e *Env) (string, bool) {
		c := e.container()
		if c == nil {
			return "", false
		}
		s := f(c)
		return s, s != ""
	})
}

// hostEmpty makes b give "" for an event on the host.
func hostEmpty(b builder) builder {
	return func(ref vm.FieldRef) (extractor, error) {
		x, err := b(ref)
		if err != nil {
			return nil, err
		}
		return func(e *Env, v *vm.Value) bool {
			if id, ok := e.containerID(); ok && id == container.HostID {
				return setStr(v, "")
			}
			return x(e, v)
		}, nil
	}
}

func ctrBool(f func(c *Container) bool) builder {
	return boolF(func(e *Env) (bool, bool) {
		c := e.container()
		if c == nil {
			return false, false
		}
		return f(c), true
	})
}

// ctrCached renders a string from the container, once per container.
func ctrCached(render func(c *Container) string) builder {
	return func(vm.FieldRef) (extractor, error) {
		var last *Container
		var s string
		return func(e *Env, v *vm.Value) bool {
			c := e.container()
			if c == nil {
				return false
			}
			if c != last {
				last, s = c, render(c)
			}
			return setStr(v, s)
		}, nil
	}
}

func joinLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return string(b)
}

func mountString(m *Mount) string {
	return m.Source + ":" + m.Dest + ":" + m.Mode + ":" + strconv.FormatBool(m.RW) + ":" + m.Propagation
}

// mountF builds container.mount and container.mount.*: the argument is a
// position, or a path (glob allowed) matched against the mount's source
// (byDest: its destination).
func mountF(byDest bool, f func(m *Mount) string) builder {
	return func(ref vm.FieldRef) (extractor, error) {
		pos := -1
		if n, err := strconv.Atoi(ref.Arg); err == nil {
			if n < 0 {
				return nil, fmt.Errorf("argument %q is not a non-negative index", ref.Arg)
			}
			pos = n
		} else if _, err := path.Match(ref.Arg, ""); err != nil {
			return nil, fmt.Errorf("argument %q is not a valid pattern", ref.Arg)
		}
		pat := ref.Arg
		return func(e *Env, v *vm.Value) bool {
			c := e.container()
			if c == nil {
				return false
			}
			if pos >= 0 {
				if pos >= len(c.Mounts) {
					return false
				}
				return setStr(v, f(&c.Mounts[pos]))
			}
			for i := range c.Mounts {
				m := &c.Mounts[i]
				key := m.Source
				if byDest {
					key = m.Dest
				}
				if ok, _ := path.Match(pat, key); ok {
					return setStr(v, f(m))
				}
			}
			return false
		}, nil
	}
}

func labelF(get func(c *Container) map[string]string) builder {
	return func(ref vm.FieldRef) (extractor, error) {
		key := ref.Arg
		return func(e *Env, v *vm.Value) bool {
			c := e.container()
			if c == nil {
				return false
			}
			s, ok := get(c)[key]
			return ok && setStr(v, s)
		}, nil
	}
}

// missingF is a field that is always missing (Falco's deprecated
// container fields).
func missingF(vm.FieldRef) (extractor, error) {
	return func(*Env, *vm.Value) bool { return false }, nil
}

func containerFields(r map[string]builder) {
	r["container.id"] = strF(func(e *Env) (string, bool) { return e.containerID() })
	r["container.full_id"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil {
			return "", false
		}
		if id := th.Proc().ContainerFullID; id != "" {
			return id, true
		}
		return container.HostID, true
	})
	r["container.type"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil {
			return "", false
		}
		t := th.Proc().ContainerType
		if t == container.TypeCRI {
			// Kubernetes' cgroup layout does not name the runtime; its
			// CRI answer does (containerd, cri-o), as Falco reports it.
			if c := e.container(); c != nil && c.Type != "" {
				return c.Type, true
			}
		}
		if t != "" {
			return t, true
		}
		return container.TypeHost, true
	})
	r["container.name"] = strF(func(e *Env) (string, bool) {
		if id, ok := e.containerID(); ok && id == container.HostID {
			return container.HostID, true
		}
		c := e.container()
		if c == nil || c.Name == "" {
			return "", false
		}
		return c.Name, true
	})
	r["container.image"] = ctrStr(func(c *Container) string { return c.Image })
	r["container.image.id"] = ctrStr(func(c *Container) string { return c.ImageID })
	// On the host the container plugin gives an empty repository and tag
	// (present, not missing: "" in JSON).
	r["container.image.repository"] = hostEmpty(ctrStr(func(c *Container) string { return c.ImageRepository }))
	r["container.image.tag"] = hostEmpty(ctrStr(func(c *Container) string { return c.ImageTag }))
	r["container.image.digest"] = ctrStr(func(c *Container) string { return c.ImageDigest })
	r["container.privileged"] = ctrBool(func(c *Container) bool { return c.Privileged })
	r["container.mounts"] = ctrCached(func(c *Container) string {
		var b []byte
		for i := range c.Mounts {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, mountString(&c.Mounts[i])...)
		}
		return string(b)
	})
	r["container.mount"] = mountF(false, mountString)
	r["container.mount.source"] = mountF(true, func(m *Mount) string { return m.Source })
	r["container.mount.dest"] = mountF(false, func(m *Mount) string { return m.Dest })
	r["container.mount.mode"] = mountF(false, func(m *Mount) string { return m.Mode })
	r["container.mount.rdwr"] = mountF(false, func(m *Mount) string { return strconv.FormatBool(m.RW) })
	r["container.mount.propagation"] = mountF(false, func(m *Mount) string { return m.Propagation })
	// Deprecated upstream: Falco's container plugin extracts nothing for
	// them, whatever the runtime knows.
	r["container.healthcheck"] = missingF
	r["container.liveness_probe"] = missingF
	r["container.readiness_probe"] = missingF
	// As the container plugin: the start of the process's pid namespace
	// (its init's start), when the state knows it; else the start the
	// runtime reported.
	pidnsStart := func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil {
			return 0, false
		}
		if s := th.Proc().PidNSInitStart; s != 0 {
			return s, true
		}
		if c := e.container(); c != nil && c.StartTS > 0 {
			return uint64(c.StartTS), true
		}
		return 0, false
	}
	r["container.start_ts"] = uintF(pidnsStart)
	r["container.duration"] = uintF(func(e *Env) (uint64, bool) {
		start, ok := pidnsStart(e)
		if !ok || e.ev.Ts < 0 || uint64(e.ev.Ts) < start {
			return 0, false
		}
		return uint64(e.ev.Ts) - start, true
	})
	r["container.ip"] = ctrStr(func(c *Container) string { return c.IP })
	r["container.cni.json"] = ctrStr(func(c *Container) string { return c.CNIJSON })
	r["container.host_pid"] = ctrBool(func(c *Container) bool { return c.HostPID })
	r["container.host_network"] = ctrBool(func(c *Container) bool { return c.HostNetwork })
	r["container.host_ipc"] = ctrBool(func(c *Container) bool { return c.HostIPC })
	r["container.label"] = labelF(func(c *Container) map[string]string { return c.Labels })
	r["container.labels"] = ctrCached(func(c *Container) string { return joinLabels(c.Labels) })
	r["proc.is_container_healthcheck"] = missingF
	r["proc.is_container_liveness_probe"] = missingF
	r["proc.is_container_readiness_probe"] = missingF
	r["k8s.pod.name"] = ctrStr(func(c *Container) string { return c.PodName })
	r["k8s.ns.name"] = ctrStr(func(c *Container) string { return c.PodNamespace })
	r["k8s.pod.id"] = ctrStr(func(c *Container) string { return c.PodUID })
	r["k8s.pod.uid"] = ctrStr(func(c *Container) string { return c.PodUID })
	r["k8s.pod.sandbox_id"] = ctrStr(func(c *Container) string {
		if len(c.PodSandboxID) > 12 {
			return c.PodSandboxID[:12]
		}
		return c.PodSandboxID
	})
	r["k8s.pod.full_sandbox_id"] = ctrStr(func(c *Container) string { return c.PodSandboxID })
	r["k8s.pod.label"] = labelF(func(c *Container) map[string]string { return c.PodLabels })
	r["k8s.pod.labels"] = ctrCached(func(c *Container) string { return joinLabels(c.PodLabels) })
	r["k8s.pod.ip"] = ctrStr(func(c *Container) string { return c.PodIP })
	r["k8s.pod.cni.json"] = ctrStr(func(c *Container) string { return c.PodCNIJSON })
}
