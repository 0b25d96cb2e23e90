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
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// Containerd fetches containers from containerd's own gRPC API
// (containerd.services.containers.v1.Containers/Get) on its socket, in the
// namespaces given, for containers made without CRI (ctr, nerdctl, docker's
// moby namespace). The two messages it needs are encoded and decoded here
// with protowire: containerd's API module would bring its own copy of
// containerd's dependency tree for two calls.
type Containerd struct {
	socket     string
	namespaces []string

	mu sync.Mutex
	cc *grpc.ClientConn
}

// NewContainerd returns the backend for the containerd socket at address,
// searching the given namespaces in order. It serves containerd
// containers and containers of unknown type; CRI containers (Kubernetes'
// cgroup layout) come from the CRI backend, which knows their pods.
func NewContainerd(address string, namespaces []string) *Containerd {
	return &Containerd{socket: address, namespaces: slices.Clone(namespaces)}
}

// Name implements [Backend].
func (c *Containerd) Name() string { return "containerd" }

// Serves implements [Backend].
func (c *Containerd) Serves(typ string) bool {
	return typ == "" || typ == container.TypeContainerd
}

// Close closes the connection.
func (c *Containerd) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cc != nil {
		c.cc.Close()
		c.cc = nil
	}
	return nil
}

func (c *Containerd) conn() (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cc != nil {
		return c.cc, nil
	}
	cc, err := dialUnix(c.socket)
	if err != nil {
		return nil, fmt.Errorf("containerd: %s: %w", c.socket, err)
	}
	c.cc = cc
	return cc, nil
}

// dialUnix makes a gRPC client (connecting lazily) for a unix socket.
func dialUnix(socket string) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxBody)))
}

// rawCodec passes already encoded protobuf messages through gRPC.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: %T is not *[]byte", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: %T is not *[]byte", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// Fetch implements [Backend].
func (c *Containerd) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("containerd: container %q: %w", id, ErrNotFound)
	}
	if _, err := os.Stat(c.socket); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("containerd: %s: %w", c.socket, ErrUnavailable)
	}
	cc, err := c.conn()
	if err != nil {
		return nil, err
	}
	// GetContainerRequest{id = 1}
	req := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), id)
	for _, ns := range c.namespaces {
		var resp []byte
		nctx := metadata.AppendToOutgoingContext(ctx, "containerd-namespace", ns)
		err := cc.Invoke(nctx, "/containerd.services.containers.v1.Containers/Get", &req, &resp, grpc.ForceCodec(rawCodec{}))
		if err != nil {
			err = grpcErr("containerd: get "+ns+"/"+id, err)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		info, err := decodeGetContainerResponse(resp)
		if err != nil {
			return nil, fmt.Errorf("containerd: get %s/%s: %w", ns, id, err)
		}
		ctr, err := info.container()
		if err != nil {
			return nil, err
		}
		ctr.Type = container.TypeContainerd
		return ctr, nil
	}
	return nil, fmt.Errorf("containerd: container %q in %s: %w", id, strings.Join(c.namespaces, ", "), ErrNotFound)
}

// decodeGetContainerResponse decodes containerd's GetContainerResponse
// {Container container = 1}: the container's id (1), labels (2), image
// (3), OCI spec (5: an Any whose value is the spec's JSON) and creation
// time (8).
func decodeGetContainerResponse(b []byte) (*containerdInfo, error) {
	var ctr []byte
	if err := walkFields(b, func(num protowire.Number, v []byte) error {
		if num == 1 {
			ctr = v
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if ctr == nil {
		return nil, fmt.Errorf("answer without a container: %w", ErrNotFound)
	}
	in := &containerdInfo{Labels: map[string]string{}}
	err := walkFields(ctr, func(num protowire.Number, v []byte) error {
		switch num {
		case 1:
			in.ID = string(v)
		case 2: // map entry {key = 1, value = 2}
			var k, val string
			if err := walkFields(v, func(n protowire.Number, x []byte) error {
				switch n {
				case 1:
					k = string(x)
				case 2:
					val = string(x)
				}
				return nil
			}); err != nil {
				return err
			}
			in.Labels[k] = val
		case 3:
			in.Image = string(v)
		case 5: // google.protobuf.Any {type_url = 1, value = 2}
			return walkFields(v, func(n protowire.Number, x []byte) error {
				if n == 2 && len(x) > 0 {
					if err := json.Unmarshal(x, &in.Spec); err != nil {
						return fmt.Errorf("decode spec: %w", err)
					}
				}
				return nil
			})
		case 8: // google.protobuf.Timestamp {seconds = 1, nanos = 2}
			in.created = decodeTimestamp(v)
		}
		return nil
	})
	return in, err
}

// walkFields calls f with the number and the bytes of each
// length-delimited field of a protobuf message; other wire types are
// skipped (f gets them only through decodeTimestamp).
func walkFields(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(m))
			}
			if err := f(num, v); err != nil {
				return err
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(m))
		}
		b = b[m:]
	}
	return nil
}

// decodeTimestamp decodes a google.protobuf.Timestamp into ns since the
// epoch (0 for garbage).
func decodeTimestamp(b []byte) int64 {
	var sec, nsec uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if typ != protowire.VarintType {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return 0
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeVarint(b)
		if m < 0 {
			return 0
		}
		b = b[m:]
		switch num {
		case 1:
			sec = v
		case 2:
			nsec = v
		}
	}
	if sec == 0 && nsec == 0 {
		return 0
	}
	return time.Unix(int64(sec), int64(nsec)).UnixNano()
}

// containerdInfo is containerd's container record with its OCI runtime
// spec, as falcoc reads it.
type containerdInfo struct {
	ID      string
	Image   string
	Labels  map[string]string
	created int64
	Spec    *struct {
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

// container converts a containerd record.
func (in *containerdInfo) container() (*extract.Container, error) {
	if in.ID == "" {
		return nil, fmt.Errorf("containerd: a container without an id: %w", ErrNotFound)
	}
	c := &extract.Container{
		FullID:  in.ID,
		ID:      shortID(in.ID),
		Name:    in.ID,
		StartTS: in.created, // containerd records creation, not start
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

// containerdEvent is one envelope of containerd's event stream: its
// namespace, its topic, and the id the event is about.
type containerdEvent struct {
	namespace, topic, id string
}

// decodeEnvelope decodes containerd.services.events.v1.Envelope
// {namespace = 2, topic = 3, event = 4 (Any)}; the id is field 1 of the
// event (ContainerCreate.id, ContainerDelete.id, TaskCreate.container_id).
func decodeEnvelope(b []byte) (containerdEvent, error) {
	var ev containerdEvent
	err := walkFields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case 2:
			ev.namespace = string(v)
		case 3:
			ev.topic = string(v)
		case 4:
			return walkFields(v, func(n protowire.Number, x []byte) error {
				if n != 2 {
					return nil
				}
				return walkFields(x, func(f protowire.Number, y []byte) error {
					if f == 1 && ev.id == "" {
						ev.id = string(y)
					}
					return nil
				})
			})
		}
		return nil
	})
	return ev, err
}
