package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// maxCNIJSON bounds container.cni.json, as Falco's container plugin does.
const maxCNIJSON = 4096

// CRI fetches containers through the Container Runtime Interface (CRI v1,
// gRPC) on the runtimes' sockets: containerd's (its CRI plugin serves the
// k8s.io namespace) and CRI-O's. It asks each socket in turn:
// ListContainers (for the pod sandbox id), ContainerStatus and
// PodSandboxStatus, both verbose.
//
// container.type is the runtime's name as CRI's Version call gives it:
// "containerd" or "cri-o" ("cri" for any other runtime).
type CRI struct {
	sockets []string

	mu    sync.Mutex
	conns map[string]*criConn
}

type criConn struct {
	cc *grpc.ClientConn
	rt runtimeapi.RuntimeServiceClient

	mu  sync.Mutex
	typ string // container.type; "" until Version answered
}

// NewCRI returns the CRI backend for the given sockets (paths). It serves
// CRI, containerd and CRI-O containers. Connections are made on first use
// and kept; [CRI.Close] closes them.
func NewCRI(sockets []string) *CRI {
	return &CRI{sockets: append([]string(nil), sockets...), conns: map[string]*criConn{}}
}

// Name implements [Backend].
func (c *CRI) Name() string { return "cri" }

// Serves implements [Backend].
func (c *CRI) Serves(typ string) bool {
	return typ == "" || typ == container.TypeCRI || typ == container.TypeCRIO || typ == container.TypeContainerd
}

// Close closes the connections.
func (c *CRI) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cn := range c.conns {
		cn.cc.Close()
		delete(c.conns, k)
	}
	return nil
}

// conn returns the client for socket, dialing it (lazily: grpc connects
// on the first call) when needed.
func (c *CRI) conn(socket string) (*criConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn := c.conns[socket]; cn != nil {
		return cn, nil
	}
	cc, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxBody)))
	if err != nil {
		return nil, fmt.Errorf("cri: %s: %w", socket, err)
	}
	cn := &criConn{cc: cc, rt: runtimeapi.NewRuntimeServiceClient(cc)}
	c.conns[socket] = cn
	return cn, nil
}

// Fetch implements [Backend].
func (c *CRI) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("cri: container %q: %w", id, ErrNotFound)
	}
	var errs []error
	unavailable := 0
	for _, s := range c.sockets {
		if _, err := os.Stat(s); errors.Is(err, fs.ErrNotExist) {
			unavailable++
			continue
		}
		cn, err := c.conn(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ctr, err := cn.fetch(ctx, id)
		switch {
		case err == nil:
			return ctr, nil
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrUnavailable):
			unavailable++
		default:
			errs = append(errs, fmt.Errorf("cri: %s: %w", s, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	switch {
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case unavailable == len(c.sockets):
		return nil, fmt.Errorf("cri: %s: %w", strings.Join(c.sockets, ", "), ErrUnavailable)
	}
	return nil, fmt.Errorf("cri: container %q: %w", id, ErrNotFound)
}

// grpcErr maps a gRPC error: NotFound to [ErrNotFound], Unavailable (no
// daemon behind the socket) and Unimplemented (a socket without the CRI
// service, such as containerd with its CRI plugin disabled) to
// [ErrUnavailable].
func grpcErr(what string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case codes.Unavailable, codes.Unimplemented:
		return fmt.Errorf("%s: %v: %w", what, status.Convert(err).Message(), ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (cn *criConn) fetch(ctx context.Context, id string) (*extract.Container, error) {
	cn.mu.Lock()
	typ := cn.typ
	cn.mu.Unlock()
	if typ == "" {
		v, err := cn.rt.Version(ctx, &runtimeapi.VersionRequest{})
		if err != nil {
			return nil, grpcErr("version", err)
		}
		typ = criType(v.RuntimeName)
		cn.mu.Lock()
		cn.typ = typ
		cn.mu.Unlock()
	}
	list, err := cn.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: id}})
	if err != nil {
		return nil, grpcErr("list containers", err)
	}
	if len(list.Containers) == 0 {
		// A pod sandbox has a cgroup of its own (its pause process) but
		// is no container: Falco reports its id with no metadata.
		return nil, fmt.Errorf("container %q: %w", id, ErrNotFound)
	}
	ls := list.Containers[0]
	st, err := cn.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ls.Id, Verbose: true})
	if err != nil {
		return nil, grpcErr("container status", err)
	}
	if st.Status == nil {
		return nil, fmt.Errorf("container %q: status without a status: %w", id, ErrNotFound)
	}
	var sb *runtimeapi.PodSandboxStatusResponse
	if ls.PodSandboxId != "" {
		// The pod may be gone while its container is not: keep the
		// container's own fields.
		sb, _ = cn.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ls.PodSandboxId, Verbose: true})
	}
	c := criContainer(st, sb)
	c.Type = typ
	if c.PodSandboxID == "" {
		c.PodSandboxID = ls.PodSandboxId
	}
	return c, nil
}

// criType is container.type for a CRI runtime name.
func criType(runtimeName string) string {
	switch runtimeName {
	case "containerd":
		return container.TypeContainerd
	case "cri-o":
		return container.TypeCRIO
	}
	return container.TypeCRI
}

// criInfo is the part of a verbose ContainerStatus's "info" JSON that
// falcoc reads: containerd puts the CRI config there (with its security
// context), CRI-O a "privileged" flag; both the OCI spec's annotations.
type criInfo struct {
	SandboxID  string `json:"sandboxID"`
	Privileged *bool  `json:"privileged"`
	Config     *struct {
		Linux *struct {
			SecurityContext *struct {
				Privileged *bool `json:"privileged"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
	RuntimeSpec *struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"runtimeSpec"`
}

// criSandboxInfo is the part of a verbose PodSandboxStatus's "info" JSON
// that falcoc reads: the CNI result (containerd) or the CRI-O annotation
// holding it.
type criSandboxInfo struct {
	CNIResult *struct {
		Interfaces map[string]struct {
			IPConfigs json.RawMessage `json:"IPConfigs"`
			Sandbox   string          `json:"Sandbox"`
		} `json:"Interfaces"`
	} `json:"cniResult"`
	RuntimeSpec *struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"runtimeSpec"`
}

// criContainer converts CRI answers as Falco's container plugin does. sb
// may be nil.
func criContainer(st *runtimeapi.ContainerStatusResponse, sb *runtimeapi.PodSandboxStatusResponse) *extract.Container {
	s := st.Status
	var info criInfo
	if raw := st.Info["info"]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &info) // best effort: verbose info is free-form
	}
	c := &extract.Container{
		FullID:       s.Id,
		ID:           shortID(s.Id),
		Name:         s.GetMetadata().GetName(),
		StartTS:      s.CreatedAt, // the container plugin reports the creation time
		PodSandboxID: info.SandboxID,
		ImageID:      strings.TrimPrefix(s.ImageId, "sha256:"),
	}
	// Privileged: containerd's CRI config, else CRI-O's flag.
	switch {
	case info.Config != nil && info.Config.Linux != nil && info.Config.Linux.SecurityContext != nil &&
		info.Config.Linux.SecurityContext.Privileged != nil:
		c.Privileged = *info.Config.Linux.SecurityContext.Privileged
	case info.Privileged != nil:
		c.Privileged = *info.Privileged
	}

	// The image: ImageRef is "repo@sha256:..." (pulled from a registry)
	// or "sha256:<image id>" (an image with no repository digest).
	name := s.GetImage().GetImage()
	ref := s.ImageRef
	var annotations map[string]string
	if info.RuntimeSpec != nil {
		annotations = info.RuntimeSpec.Annotations
	}
	if name == "" || strings.HasPrefix(name, "sha256:") {
		for _, k := range []string{"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.Image", "io.kubernetes.cri-o.ImageName"} {
			if v := annotations[k]; v != "" {
				name = v
				break
			}
		}
	}
	var f imageFields
	setImage(&f, name)
	c.Image, c.ImageRepository, c.ImageTag, c.ImageDigest = f.image, f.repo, f.tag, f.digest
	if repo, digest, ok := strings.Cut(ref, "@"); ok && strings.HasPrefix(digest, "sha256:") {
		c.ImageDigest = digest
		if c.ImageRepository == "" {
			c.ImageRepository = repo
		}
	} else if strings.HasPrefix(ref, "sha256:") {
		c.ImageDigest = ref
		if c.ImageID == "" {
			c.ImageID = strings.TrimPrefix(ref, "sha256:")
		}
	}

	for _, m := range s.Mounts {
		mt := extract.Mount{Source: m.HostPath, Dest: m.ContainerPath, RW: !m.Readonly}
		if m.Readonly {
			mt.Mode = "ro"
		}
		switch m.Propagation {
		case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
			mt.Propagation = "private"
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			mt.Propagation = "rslave"
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			mt.Propagation = "rshared"
		}
		c.Mounts = append(c.Mounts, mt)
	}

	c.Labels = maps.Clone(s.Labels)
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if sb == nil || sb.Status == nil {
		setPod(c, c.Labels)
		if c.PodSandboxID != "" {
			c.Labels["io.kubernetes.sandbox.id"] = c.PodSandboxID
		}
		return c
	}
	p := sb.Status
	c.PodSandboxID = p.Id
	if md := p.Metadata; md != nil {
		c.PodName, c.PodNamespace, c.PodUID = md.Name, md.Namespace, md.Uid
	}
	// As the container plugin does, the pod's identity also shows in
	// container.labels.
	c.Labels["io.kubernetes.sandbox.id"] = p.Id
	if c.PodName != "" {
		c.Labels["io.kubernetes.pod.name"] = c.PodName
		c.Labels["io.kubernetes.pod.namespace"] = c.PodNamespace
		c.Labels["io.kubernetes.pod.uid"] = c.PodUID
	}
	c.PodLabels = maps.Clone(p.Labels)
	if n := p.Network; n != nil {
		c.IP, c.PodIP = n.Ip, n.Ip
	}
	if o := p.GetLinux().GetNamespaces().GetOptions(); o != nil {
		c.HostPID = o.Pid == runtimeapi.NamespaceMode_NODE
		c.HostNetwork = o.Network == runtimeapi.NamespaceMode_NODE
		c.HostIPC = o.Ipc == runtimeapi.NamespaceMode_NODE
	}
	c.CNIJSON = sandboxCNI(sb.Info["info"])
	c.PodCNIJSON = c.CNIJSON
	return c
}

// sandboxCNI returns the pod's CNI result as JSON from a verbose
// PodSandboxStatus's "info": containerd's cniResult, reduced to the pod's
// own interfaces (those in its network namespace, but the loopback) and
// their addresses, or CRI-O's annotation; at most maxCNIJSON bytes.
func sandboxCNI(raw string) string {
	if raw == "" {
		return ""
	}
	var info criSandboxInfo
	if json.Unmarshal([]byte(raw), &info) != nil {
		return ""
	}
	var s string
	switch {
	case info.CNIResult != nil && len(info.CNIResult.Interfaces) > 0:
		type iface struct {
			IPConfigs json.RawMessage `json:"IPConfigs"`
		}
		ifs := map[string]iface{}
		for name, i := range info.CNIResult.Interfaces {
			// The host's end (bridge, veth) has no sandbox.
			if name != "lo" && i.Sandbox != "" && len(i.IPConfigs) > 0 && string(i.IPConfigs) != "null" {
				ifs[name] = iface{i.IPConfigs}
			}
		}
		if len(ifs) == 0 {
			return ""
		}
		b, err := json.Marshal(ifs)
		if err != nil {
			return ""
		}
		s = string(b)
	case info.RuntimeSpec != nil:
		s = info.RuntimeSpec.Annotations["io.kubernetes.cri-o.CNIResult"]
	}
	if len(s) > maxCNIJSON {
		s = s[:maxCNIJSON]
	}
	return s
}
