package containers

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/falcoc/falcoc/runtime/extract"
)

// fakeCRI is a CRI runtime service shaped like CRI-O's answers, for the
// unit test of the CRI backend's conversion and of its event stream
// (containerd 1.6, the CRI runtime on this kind of machine, has no
// GetContainerEvents; TestLiveCRI covers the real one).
type fakeCRI struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	events chan *runtimeapi.ContainerEventResponse
}

const (
	fakeCtr = "4a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	fakePod = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
)

func (f *fakeCRI) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "cri-o", RuntimeVersion: "1.30.0"}, nil
}

func (f *fakeCRI) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	if r.Filter == nil || r.Filter.Id != fakeCtr {
		return &runtimeapi.ListContainersResponse{}, nil
	}
	return &runtimeapi.ListContainersResponse{Containers: []*runtimeapi.Container{{Id: fakeCtr, PodSandboxId: fakePod}}}, nil
}

func (f *fakeCRI) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	return &runtimeapi.ContainerStatusResponse{
		Status: &runtimeapi.ContainerStatus{
			Id:        fakeCtr,
			Metadata:  &runtimeapi.ContainerMetadata{Name: "web"},
			CreatedAt: 1700000000123456789,
			StartedAt: 1700000001000000000,
			Image:     &runtimeapi.ImageSpec{Image: "quay.io/team/web:1.2"},
			ImageRef:  "quay.io/team/web@sha256:0d17",
			ImageId:   "sha256:77aa",
			Labels:    map[string]string{"io.kubernetes.container.name": "web"},
			Mounts: []*runtimeapi.Mount{
				{ContainerPath: "/host-etc", HostPath: "/etc", Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
				{ContainerPath: "/data", HostPath: "/srv/data"},
			},
		},
		Info: map[string]string{"info": `{"privileged": true, "runtimeSpec": {"annotations": {"io.kubernetes.cri-o.Image": "quay.io/team/web:1.2"}}}`},
	}, nil
}

func (f *fakeCRI) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	return &runtimeapi.PodSandboxStatusResponse{
		Status: &runtimeapi.PodSandboxStatus{
			Id:       fakePod,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "web-0", Namespace: "shop", Uid: "0f2c5a8e-1111-4222-8333-944455556666"},
			Network:  &runtimeapi.PodSandboxNetworkStatus{Ip: "10.1.0.7"},
			Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
				Pid: runtimeapi.NamespaceMode_NODE, Network: runtimeapi.NamespaceMode_POD, Ipc: runtimeapi.NamespaceMode_POD,
			}}},
			Labels: map[string]string{"app": "web"},
		},
		Info: map[string]string{"info": `{"runtimeSpec": {"annotations": {"io.kubernetes.cri-o.CNIResult": "{\"ips\":[{\"address\":\"10.1.0.7/24\"}]}"}}}`},
	}, nil
}

func (f *fakeCRI) GetContainerEvents(_ *runtimeapi.GetEventsRequest, s runtimeapi.RuntimeService_GetContainerEventsServer) error {
	for {
		select {
		case ev := <-f.events:
			if err := s.Send(ev); err != nil {
				return err
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

func serveCRI(t *testing.T, f *fakeCRI) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "crio.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return sock
}

func TestCRIBackendAndEvents(t *testing.T) {
	f := &fakeCRI{events: make(chan *runtimeapi.ContainerEventResponse, 1)}
	sock := serveCRI(t, f)
	l := New(&Options{
		DockerSockets: []string{}, PodmanSockets: []string{}, ContainerdSockets: []string{},
		CRISockets: []string{filepath.Join(t.TempDir(), "none.sock"), sock},
	})
	defer l.Close()
	f.events <- &runtimeapi.ContainerEventResponse{ContainerId: fakeCtr, ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT}
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Found < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got, ok := l.Container(fakeCtr[:12])
	if !ok {
		t.Fatalf("no metadata after the created event; stats %+v, last error %v", l.Stats(), l.LastError())
	}
	if st := l.Stats(); st.Misses != 0 || st.Events != 1 {
		t.Errorf("stats %+v: want the container cached from the event, before anyone asked", st)
	}
	want := &extract.Container{
		ID: fakeCtr[:12], FullID: fakeCtr, Name: "web", Type: "cri-o",
		Image: "quay.io/team/web:1.2", ImageID: "77aa", ImageRepository: "quay.io/team/web", ImageTag: "1.2", ImageDigest: "sha256:0d17",
		Privileged: true,
		Mounts: []extract.Mount{
			{Source: "/etc", Dest: "/host-etc", Mode: "ro", RW: false, Propagation: "rslave"},
			{Source: "/srv/data", Dest: "/data", RW: true, Propagation: "private"},
		},
		Labels: map[string]string{
			"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "shop",
			"io.kubernetes.pod.uid": "0f2c5a8e-1111-4222-8333-944455556666", "io.kubernetes.sandbox.id": fakePod,
		},
		IP: "10.1.0.7", CNIJSON: `{"ips":[{"address":"10.1.0.7/24"}]}`, HostPID: true,
		StartTS: 1700000000123456789,
		PodName: "web-0", PodNamespace: "shop", PodUID: "0f2c5a8e-1111-4222-8333-944455556666", PodSandboxID: fakePod,
		PodLabels: map[string]string{"app": "web"}, PodIP: "10.1.0.7", PodCNIJSON: `{"ips":[{"address":"10.1.0.7/24"}]}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}

	// A container the runtime does not list, a pod sandbox for instance.
	b := NewCRI([]string{sock})
	defer b.Close()
	if _, err := b.Fetch(t.Context(), fakePod, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown container: %v, want ErrNotFound", err)
	}
	if _, err := b.Fetch(t.Context(), "../x", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad id: %v, want ErrNotFound", err)
	}
}

func TestSandboxCNI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`nope`, ``},
		// containerd 1.6 with CNI's bridge plugin (TestLiveCRI/network).
		{`{"cniResult": {"Interfaces": {"eth0": {"IPConfigs": [{"IP": "10.213.6.2", "Gateway": "10.213.6.1"}], "Mac": "26:f1:54:5e:f6:40", "Sandbox": "/var/run/netns/cni-87a5"},
		  "fcri45389006": {"IPConfigs": null, "Mac": "76:3b:a9:ae:88:3c", "Sandbox": ""}, "veth68821d53": {"IPConfigs": null, "Mac": "b2:25:42:c7:95:fa", "Sandbox": ""},
		  "lo": {"IPConfigs": [{"IP": "127.0.0.1"}], "Sandbox": "/var/run/netns/cni-87a5"}}}}`,
			`{"eth0":{"IPConfigs":[{"IP":"10.213.6.2","Gateway":"10.213.6.1"}]}}`},
		{`{"cniResult": {"Interfaces": {"lo": {}}}}`, ``},
	} {
		if got := sandboxCNI(tc.in); got != tc.want {
			t.Errorf("sandboxCNI(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
