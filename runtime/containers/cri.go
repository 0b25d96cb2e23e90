package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// CRI fetches containers through the Container Runtime Interface with the
// `crictl inspect` command, which talks to the runtime crictl is
// configured for (/etc/crictl.yaml, or its default endpoints). Without
// crictl on PATH it is unavailable.
type CRI struct {
	run runFunc
}

// NewCRI returns the CRI backend. It serves CRI and CRI-O containers.
func NewCRI() *CRI { return &CRI{run: runCommand} }

// Name implements [Backend].
func (c *CRI) Name() string { return "cri" }

// Serves implements [Backend].
func (c *CRI) Serves(typ string) bool {
	return typ == container.TypeCRI || typ == container.TypeCRIO
}

// Fetch implements [Backend].
func (c *CRI) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("cri: container %q: %w", id, ErrNotFound)
	}
	out, err := c.run(ctx, "crictl", "inspect", "-o", "json", id)
	if err != nil {
		return nil, fmt.Errorf("cri: %w", err)
	}
	return parseCRIInspect(out)
}

// criInspect is the part of `crictl inspect -o json` that falcoc uses: the
// CRI ContainerStatus and the runtime's verbose info.
type criInspect struct {
	Status struct {
		ID       string
		Metadata struct{ Name string }
		Image    struct{ Image string }
		ImageRef string
		// StartedAt is ns since the epoch in the CRI message; crictl
		// prints it as a time or a number depending on its version.
		StartedAt json.RawMessage
		Labels    map[string]string
		Mounts    []struct {
			ContainerPath string
			HostPath      string
			Readonly      bool
			Propagation   string
		}
	}
	Info struct {
		SandboxID  string
		Privileged *bool // cri-o
		Config     *struct {
			Linux *struct {
				SecurityContext *struct {
					Privileged bool
				} `json:"security_context"`
			}
		}
	}
}

// parseCRIInspect converts the output of `crictl inspect -o json`.
func parseCRIInspect(out []byte) (*extract.Container, error) {
	var in criInspect
	if err := json.Unmarshal(out, &in); err != nil {
		return nil, fmt.Errorf("cri: decode inspect: %w", err)
	}
	s := &in.Status
	if s.ID == "" {
		return nil, fmt.Errorf("cri: inspect without an id: %w", ErrNotFound)
	}
	c := &extract.Container{
		FullID:       s.ID,
		ID:           shortID(s.ID),
		Name:         s.Metadata.Name,
		Type:         container.TypeCRI,
		PodSandboxID: in.Info.SandboxID,
		StartTS:      criTime(s.StartedAt),
	}
	var f imageFields
	setImage(&f, s.Image.Image)
	c.Image, c.ImageRepository, c.ImageTag, c.ImageDigest = f.image, f.repo, f.tag, f.digest
	if c.ImageDigest == "" {
		if _, d, ok := strings.Cut(s.ImageRef, "@"); ok {
			c.ImageDigest = d
		}
	}
	if strings.HasPrefix(s.ImageRef, "sha256:") {
		c.ImageID = strings.TrimPrefix(s.ImageRef, "sha256:")
	}
	if len(s.Labels) > 0 {
		c.Labels = make(map[string]string, len(s.Labels))
		for k, v := range s.Labels {
			c.Labels[k] = v
		}
	}
	setPod(c, s.Labels)
	for _, m := range s.Mounts {
		mt := extract.Mount{Source: m.HostPath, Dest: m.ContainerPath, Mode: "rw", RW: !m.Readonly}
		if m.Readonly {
			mt.Mode = "ro"
		}
		switch m.Propagation {
		case "PROPAGATION_PRIVATE":
			mt.Propagation = "private"
		case "PROPAGATION_HOST_TO_CONTAINER":
			mt.Propagation = "rslave"
		case "PROPAGATION_BIDIRECTIONAL":
			mt.Propagation = "rshared"
		}
		c.Mounts = append(c.Mounts, mt)
	}
	switch {
	case in.Info.Privileged != nil:
		c.Privileged = *in.Info.Privileged
	case in.Info.Config != nil && in.Info.Config.Linux != nil && in.Info.Config.Linux.SecurityContext != nil:
		c.Privileged = in.Info.Config.Linux.SecurityContext.Privileged
	}
	return c, nil
}

// criTime reads a CRI timestamp: a number of ns, or an RFC 3339 string.
func criTime(raw json.RawMessage) int64 {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseTime(s)
	}
	return 0
}
