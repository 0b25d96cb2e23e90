package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// Containerd fetches containers from containerd with its `ctr` command.
//
// containerd's socket speaks gRPC; a client would pull containerd's API
// module and grpc into the build for one call, so this backend runs
// `ctr -a ADDRESS -n NAMESPACE containers info ID` instead (asynchronously,
// bounded by the fetch timeout like any fetch).
type Containerd struct {
	address    string
	namespaces []string
	run        runFunc
}

// NewContainerd returns the backend for the containerd socket at address,
// searching the given namespaces in order. It serves containerd and CRI
// containers, and containers of unknown type.
func NewContainerd(address string, namespaces []string) *Containerd {
	return &Containerd{address: address, namespaces: slices.Clone(namespaces), run: runCommand}
}

// Name implements [Backend].
func (c *Containerd) Name() string { return "containerd" }

// Serves implements [Backend].
func (c *Containerd) Serves(typ string) bool {
	return typ == "" || typ == container.TypeContainerd || typ == container.TypeCRI
}

// Fetch implements [Backend].
func (c *Containerd) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("containerd: container %q: %w", id, ErrNotFound)
	}
	if _, err := os.Stat(c.address); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("containerd: %s: %w", c.address, ErrUnavailable)
	}
	var errs []error
	for _, ns := range c.namespaces {
		out, err := c.run(ctx, "ctr", "-a", c.address, "-n", ns, "containers", "info", id)
		if err != nil {
			if errors.Is(err, ErrUnavailable) {
				return nil, fmt.Errorf("containerd: %w", err)
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		ctr, err := parseContainerdInfo(out)
		if err != nil {
			return nil, err
		}
		ctr.Type = container.TypeContainerd
		return ctr, nil
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("containerd: container %q: no namespace: %w", id, ErrNotFound)
	}
	return nil, fmt.Errorf("containerd: %w", errors.Join(errs...))
}

// containerdInfo is the part of `ctr containers info` that falcoc uses:
// containerd's container record with its OCI runtime spec.
type containerdInfo struct {
	ID        string
	Image     string
	Labels    map[string]string
	CreatedAt string
	Spec      *struct {
		Hostname string
		Process  *struct {
			Capabilities *struct {
				Bounding []string
			}
		}
		Mounts []struct {
			Destination string
			Type        string
			Source      string
			Options     []string
		}
		Annotations map[string]string
		Linux       *struct {
			Namespaces []struct {
				Type string
				Path string
			}
			MaskedPaths []string
		}
	}
}

// parseContainerdInfo converts the output of `ctr containers info`.
func parseContainerdInfo(out []byte) (*extract.Container, error) {
	var in containerdInfo
	if err := json.Unmarshal(out, &in); err != nil {
		return nil, fmt.Errorf("containerd: decode info: %w", err)
	}
	if in.ID == "" {
		return nil, fmt.Errorf("containerd: info without an id: %w", ErrNotFound)
	}
	c := &extract.Container{
		FullID:  in.ID,
		ID:      shortID(in.ID),
		Name:    in.ID,
		StartTS: parseTime(in.CreatedAt), // containerd records creation, not start
	}
	if n := in.Labels["io.kubernetes.container.name"]; n != "" {
		c.Name = n
	}
	var f imageFields
	setImage(&f, in.Image)
	c.Image, c.ImageRepository, c.ImageTag, c.ImageDigest = f.image, f.repo, f.tag, f.digest
	if len(in.Labels) > 0 {
		c.Labels = make(map[string]string, len(in.Labels))
		for k, v := range in.Labels {
			c.Labels[k] = v
		}
	}
	setPod(c, in.Labels)
	if s := in.Spec; s != nil {
		c.PodSandboxID = s.Annotations["io.kubernetes.cri.sandbox-id"]
		for _, m := range s.Mounts {
			if m.Type != "bind" && !slices.Contains(m.Options, "bind") && !slices.Contains(m.Options, "rbind") {
				continue
			}
			c.Mounts = append(c.Mounts, ociMount(m.Source, m.Destination, m.Options))
		}
		c.Privileged = s.Process != nil && s.Process.Capabilities != nil &&
			slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") &&
			s.Linux != nil && len(s.Linux.MaskedPaths) == 0
		if s.Linux != nil {
			c.HostPID, c.HostNetwork, c.HostIPC = true, true, true
			for _, ns := range s.Linux.Namespaces {
				// A namespace in the list without a path is a new one; with
				// a path it joins another (a pod sandbox's, or the host's).
				own := ns.Path == ""
				switch ns.Type {
				case "pid":
					c.HostPID = c.HostPID && !own && strings.HasPrefix(ns.Path, "/proc/1/")
				case "network":
					c.HostNetwork = c.HostNetwork && !own && strings.HasPrefix(ns.Path, "/proc/1/")
				case "ipc":
					c.HostIPC = c.HostIPC && !own && strings.HasPrefix(ns.Path, "/proc/1/")
				}
			}
		}
	}
	return c, nil
}

// ociMount converts an OCI bind mount to docker's fields: Mode "ro" or
// "rw", RW, and the propagation option.
func ociMount(src, dst string, opts []string) extract.Mount {
	m := extract.Mount{Source: src, Dest: dst, Mode: "rw", RW: true}
	for _, o := range opts {
		switch o {
		case "ro":
			m.Mode, m.RW = "ro", false
		case "private", "rprivate", "shared", "rshared", "slave", "rslave":
			m.Propagation = o
		}
	}
	return m
}
