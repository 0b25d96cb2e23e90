package containers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// NewPodman returns the backend for podman: its docker-compatible API on
// socket (served by `podman system service`, usually on
// /run/podman/podman.sock) when the socket exists, else `podman inspect`.
// It serves podman containers and containers of unknown type.
func NewPodman(socket string) *Docker {
	d := &Docker{name: "podman", typ: container.TypePodman, api: newAPIClient(socket)}
	d.local = func(ctx context.Context, id string) (*extract.Container, error) {
		return podmanInspect(ctx, runCommand, id)
	}
	return d
}

// podmanInspect runs `podman inspect` for one container.
func podmanInspect(ctx context.Context, run runFunc, id string) (*extract.Container, error) {
	out, err := run(ctx, "podman", "inspect", "--type", "container", "--format", "json", "--", id)
	if err != nil {
		return nil, fmt.Errorf("podman: %w", err)
	}
	return parsePodmanInspect(out)
}

// parsePodmanInspect converts podman's own inspect output (a JSON array).
func parsePodmanInspect(out []byte) (*extract.Container, error) {
	var list []dockerInspect
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("podman: decode inspect: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("podman: inspect returned nothing: %w", ErrNotFound)
	}
	c := list[0].container(nil)
	c.Type = container.TypePodman
	return c, nil
}
