package containers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// dockerEvent is one line of docker's (and podman's compatible) /events
// stream.
type dockerEvent struct {
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
}

// hint is what a create or start event says about its container: its
// name and image, as docker and podman put them in the attributes.
func (ev *dockerEvent) hint() *extract.Container {
	name, image := ev.Actor.Attributes["name"], ev.Actor.Attributes["image"]
	if name == "" && image == "" {
		return nil
	}
	c := &extract.Container{Name: name}
	if image != "" && !isImageID(image, "") {
		var f imageFields
		setImage(&f, image)
		c.Image, c.ImageRepository, c.ImageTag, c.ImageDigest = f.image, f.repo, f.tag, f.digest
	}
	return c
}

// watchEvents follows the container events of a docker-compatible API
// (docker's, or podman's, whose containers are of type typ) until the
// Lookup closes,
// reconnecting with a growing delay (up to one second: a daemon that
// starts late must be followed before its first container runs) when the
// daemon is absent or the stream ends.
func (l *Lookup) watchEvents(api *apiClient, typ string) {
	defer l.wg.Done()
	delay := 100 * time.Millisecond
	for l.ctx.Err() == nil {
		if l.followEvents(api, typ) {
			delay = 100 * time.Millisecond
		} else {
			delay = min(2*delay, time.Second)
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// dockerEventsPath asks for container events only.
var dockerEventsPath = "/events?filters=" + url.QueryEscape(`{"type":["container"]}`)

// followEvents reads one events stream until it ends. It reports whether
// the daemon answered.
func (l *Lookup) followEvents(api *apiClient, typ string) bool {
	req, err := http.NewRequestWithContext(l.ctx, http.MethodGet, "http://localhost"+dockerEventsPath, nil)
	if err != nil {
		return false
	}
	resp, err := api.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev dockerEvent
		if err := dec.Decode(&ev); err != nil {
			return true
		}
		if ev.Type != "container" || !validID(ev.Actor.ID) {
			continue
		}
		l.events.Add(1)
		switch ev.Action {
		case "create", "start", "rename":
			// create: name, image, privileged, mounts and labels are set;
			// start adds the address and start time.
			l.refreshHint(ev.Actor.ID, typ, ev.hint())
		case "die", "died":
			// podman's inspect can fail while the container's last
			// process exits; once it has died it answers.
			l.refetchPartial(ev.Actor.ID)
		case "destroy", "remove": // docker says destroy, podman remove
			l.forget(ev.Actor.ID)
		}
	}
}

// containerdTopics are the containerd events the Lookup follows.
var containerdTopics = []string{`topic=="/containers/create"`, `topic=="/tasks/create"`, `topic=="/containers/delete"`}

// watchContainerd follows containerd's container events on socket until
// the Lookup closes, reconnecting like [Lookup.watchEvents] (every 10s
// for a socket that does not serve containerd's events, such as CRI-O's).
// A container started in the k8s.io namespace (by the CRI plugin) is
// fetched as a CRI container when its task is created, one created in another of namespaces as a
// containerd container; other namespaces (docker's moby) are left to
// their own runtime.
func (l *Lookup) watchContainerd(socket string, namespaces []string) {
	defer l.wg.Done()
	l.follow(func() (bool, error) { return l.followContainerd(socket, namespaces) })
}

var errNoEvents = errors.New("no containerd events service")

func (l *Lookup) followContainerd(socket string, namespaces []string) (bool, error) {
	if _, err := os.Stat(socket); err != nil {
		return false, err
	}
	cc, err := dialUnix(socket)
	if err != nil {
		return false, err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	// SubscribeRequest{repeated string filters = 1}
	var req []byte
	for _, f := range containerdTopics {
		req = protowire.AppendString(protowire.AppendTag(req, 1, protowire.BytesType), f)
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true},
		"/containerd.services.events.v1.Events/Subscribe", grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return false, err
	}
	if err := st.SendMsg(&req); err != nil {
		return false, err
	}
	if err := st.CloseSend(); err != nil {
		return false, err
	}
	answered := false
	for {
		var msg []byte
		if err := st.RecvMsg(&msg); err != nil {
			if status.Code(err) == codes.Unimplemented {
				return answered, errNoEvents
			}
			return answered, err
		}
		answered = true
		ev, err := decodeEnvelope(msg)
		if err != nil || !validID(ev.id) || !slices.Contains(namespaces, ev.namespace) {
			continue
		}
		l.events.Add(1)
		typ := container.TypeContainerd
		if ev.namespace == "k8s.io" {
			typ = container.TypeCRI
		}
		switch ev.topic {
		case "/containers/create":
			// The CRI plugin records its container after containerd does:
			// a CRI container is fetched when its task is created, which
			// is still before its process runs.
			if typ != container.TypeCRI {
				l.refresh(ev.id, typ)
			}
		case "/tasks/create":
			if typ == container.TypeCRI {
				l.refresh(ev.id, typ)
			}
		case "/containers/delete":
			l.forget(ev.id)
		}
	}
}

// watchCRI follows CRI's container events (GetContainerEvents: containerd
// 1.7+, CRI-O 1.26+) on socket until the Lookup closes; a runtime without
// them (containerd 1.6 answers Unimplemented) is asked again every 10s.
// containerd's own event service covers its CRI containers as well; this
// stream is what announces CRI-O's.
func (l *Lookup) watchCRI(socket string) {
	defer l.wg.Done()
	l.follow(func() (bool, error) { return l.followCRI(socket) })
}

// follow calls fn (one event stream, until it ends) again and again until
// the Lookup closes: soon after a stream that answered, every 10s after a
// runtime without the service (errNoEvents), with a growing delay up to 1s
// otherwise.
func (l *Lookup) follow(fn func() (answered bool, err error)) {
	delay := 100 * time.Millisecond
	for l.ctx.Err() == nil {
		answered, err := fn()
		switch {
		case answered:
			delay = 100 * time.Millisecond
		case err != nil && errors.Is(err, errNoEvents):
			delay = 10 * time.Second
		default:
			delay = min(2*delay, time.Second)
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (l *Lookup) followCRI(socket string) (bool, error) {
	if _, err := os.Stat(socket); err != nil {
		return false, err
	}
	cc, err := dialUnix(socket)
	if err != nil {
		return false, err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	st, err := runtimeapi.NewRuntimeServiceClient(cc).GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		return false, err
	}
	answered := false
	for {
		ev, err := st.Recv()
		if err != nil {
			if status.Code(err) == codes.Unimplemented {
				return answered, errNoEvents
			}
			return answered, err
		}
		answered = true
		if !validID(ev.ContainerId) {
			continue
		}
		l.events.Add(1)
		switch ev.ContainerEventType {
		case runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT:
			l.refresh(ev.ContainerId, container.TypeCRI)
		case runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT:
			l.forget(ev.ContainerId)
		}
	}
}
