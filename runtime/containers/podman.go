package containers

import (
	"github.com/falcoc/falcoc/runtime/state/container"
)

// NewPodman returns the backend for podman's API socket (served by
// `podman system service` or systemd's podman.socket, usually
// /run/podman/podman.sock). podman serves docker's API there, and its
// container inspect answer has the fields falcoc reads in the same
// places. It serves podman containers and containers of unknown type.
func NewPodman(socket string) *Docker {
	return &Docker{name: "podman", typ: container.TypePodman, api: newAPIClient(socket)}
}
