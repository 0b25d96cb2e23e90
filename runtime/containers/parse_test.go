package containers

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/falcoc/falcoc/runtime/extract"
)

// The testdata files are real answers captured on a machine of the
// project's kind (docker 20.10, podman 4.3, containerd 1.6) from busybox
// containers started as their names say; see the comments on each case.

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(sec, nsec int) int64 {
	return time.Date(2026, 11, 26, 18, 27, 0, 0, time.UTC).Add(time.Duration(sec)*time.Second + time.Duration(nsec)).UnixNano()
}

const busyboxImageID = "8bb59592dd9364632047398a8d5dd7e3b21282aa422b55236db03afe23b11ceb"

func TestParseDockerInspect(t *testing.T) {
	var img dockerImage
	if err := json.Unmarshal(readTestdata(t, "docker-image.json"), &img); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		img  *dockerImage
		want *extract.Container
	}{
		{
			// docker run -d --name falcoc-probe --privileged -v /etc:/host-etc:ro -l app=probe falcoc-busybox sleep 300
			name: "privileged with a mount",
			file: "docker-falcoc-probe.json",
			img:  &img,
			want: &extract.Container{
				ID:              "ddab144ade96",
				FullID:          "ddab144ade9615516cd53431954d0ffed7c0665991a455ee1b1ebc22f7ce68aa",
				Name:            "falcoc-probe",
				Image:           "falcoc-busybox",
				ImageID:         busyboxImageID,
				ImageRepository: "falcoc-busybox",
				ImageTag:        "latest",
				Privileged:      true,
				Mounts:          []extract.Mount{{Source: "/etc", Dest: "/host-etc", Mode: "ro", RW: false, Propagation: "rprivate"}},
				Labels:          map[string]string{"app": "probe"},
				IP:              "172.17.0.2",
				StartTS:         at(10, 294380811),
			},
		},
		{
			// docker run -d --name falcoc-tagged --pid host --network host --ipc host
			//   -l io.kubernetes.pod.name=web-0 -l io.kubernetes.pod.namespace=shop -l io.kubernetes.pod.uid=...
			//   registry.example:5000/team/busybox:1.35 sleep 300
			name: "host namespaces, registry image, pod labels",
			file: "docker-falcoc-tagged.json",
			img:  &img,
			want: &extract.Container{
				ID:              "9218611c8786",
				FullID:          "9218611c87862e10ef8132b5c7a738dbac592b06b59557f3bc267d7e597e82a2",
				Name:            "falcoc-tagged",
				Image:           "registry.example:5000/team/busybox:1.35",
				ImageID:         busyboxImageID,
				ImageRepository: "registry.example:5000/team/busybox",
				ImageTag:        "1.35",
				HostPID:         true,
				HostNetwork:     true,
				HostIPC:         true,
				Labels: map[string]string{
					"io.kubernetes.pod.name":      "web-0",
					"io.kubernetes.pod.namespace": "shop",
					"io.kubernetes.pod.uid":       "0f2c5a8e-1111-4222-8333-944455556666",
				},
				PodName:      "web-0",
				PodNamespace: "shop",
				PodUID:       "0f2c5a8e-1111-4222-8333-944455556666",
				StartTS:      at(76, 224751318),
			},
		},
		{
			// docker run -d --name falcoc-byid sha256:8bb5... sleep 300: the
			// image is named through the image's first tag.
			name: "image given by id",
			file: "docker-falcoc-byid.json",
			img:  &img,
			want: &extract.Container{
				ID:              "b00d86c7ba3c",
				FullID:          "b00d86c7ba3c8053e9f9f605ad0294791622a275388527a9e2ddeef2f81ebe37",
				Name:            "falcoc-byid",
				Image:           "falcoc-busybox:latest",
				ImageID:         busyboxImageID,
				ImageRepository: "falcoc-busybox",
				ImageTag:        "latest",
				IP:              "172.17.0.3",
				StartTS:         at(76, 816702544),
			},
		},
		{
			name: "image given by id, image inspect failed",
			file: "docker-falcoc-byid.json",
			want: &extract.Container{
				ID:      "b00d86c7ba3c",
				FullID:  "b00d86c7ba3c8053e9f9f605ad0294791622a275388527a9e2ddeef2f81ebe37",
				Name:    "falcoc-byid",
				Image:   "sha256:" + busyboxImageID,
				ImageID: busyboxImageID,
				IP:      "172.17.0.3",
				StartTS: at(76, 816702544),
			},
		},
		{
			// podman system service; GET /containers/falcoc-probe/json for
			// podman run -d --name falcoc-probe --privileged -v /etc:/host-etc:ro -l app=probe localhost/falcoc-busybox:latest sleep 300
			name: "podman compatible API",
			file: "podman-compat.json",
			want: &extract.Container{
				ID:              "0478bd92cc87",
				FullID:          "0478bd92cc87c4d4a9cfce0eaf3d2ca8cdf5bc8b7c7c1a7107ed4e25cc299894",
				Name:            "falcoc-probe",
				Image:           "localhost/falcoc-busybox:latest",
				ImageID:         "9ad1892561c7249a71893c2dd1781a71eaccc7c83a0a1b1a6f21ec32666ce5f3",
				ImageRepository: "localhost/falcoc-busybox",
				ImageTag:        "latest",
				Privileged:      true,
				Mounts:          []extract.Mount{{Source: "/etc", Dest: "/host-etc", RW: false, Propagation: "rprivate"}},
				Labels:          map[string]string{"app": "probe"},
				IP:              "10.88.0.3",
				StartTS:         at(66, 131348828),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in dockerInspect
			if err := json.Unmarshal(readTestdata(t, tc.file), &in); err != nil {
				t.Fatal(err)
			}
			got := in.container(tc.img)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("container (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContainerdInfo(t *testing.T) {
	// ctr -n default run -d --privileged --mount type=bind,src=/etc,dst=/host-etc,options=rbind:ro
	//   --label app=probe --label io.kubernetes.pod.name=web-0 ... docker.io/library/falcoc-busybox:latest falcoc-probe sleep 300
	// then ctr -n default containers info falcoc-probe. The pod labels were
	// set by hand the way containerd's CRI plugin sets them. The record is
	// encoded here as containerd's Containers/Get answers it (protobuf,
	// the spec as JSON in an Any), then decoded as the backend does.
	var info struct {
		ID, Image string
		Labels    map[string]string
		CreatedAt time.Time
		Spec      json.RawMessage
	}
	if err := json.Unmarshal(readTestdata(t, "containerd-info.json"), &info); err != nil {
		t.Fatal(err)
	}
	str := func(b []byte, n protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, n, protowire.BytesType), s)
	}
	msg := func(b []byte, n protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), m)
	}
	var ctr []byte
	ctr = str(ctr, 1, info.ID)
	for _, k := range slices.Sorted(maps.Keys(info.Labels)) {
		ctr = msg(ctr, 2, str(str(nil, 1, k), 2, info.Labels[k]))
	}
	ctr = str(ctr, 3, info.Image)
	ctr = msg(ctr, 4, str(nil, 1, "io.containerd.runc.v2")) // skipped
	ctr = msg(ctr, 5, msg(str(nil, 1, "types.containerd.io/opencontainers/runtime-spec/1/Spec"), 2, info.Spec))
	ts := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(info.CreatedAt.Unix()))
	ts = protowire.AppendVarint(protowire.AppendTag(ts, 2, protowire.VarintType), uint64(info.CreatedAt.Nanosecond()))
	ctr = msg(ctr, 8, ts)
	ctr = protowire.AppendVarint(protowire.AppendTag(ctr, 99, protowire.VarintType), 7) // unknown, skipped
	in, err := decodeGetContainerResponse(msg(nil, 1, ctr))
	if err != nil {
		t.Fatal(err)
	}
	got, err := in.container()
	if err != nil {
		t.Fatal(err)
	}
	want := &extract.Container{
		ID:              "falcoc-probe",
		FullID:          "falcoc-probe",
		Name:            "falcoc-probe",
		Image:           "docker.io/library/falcoc-busybox:latest",
		ImageRepository: "docker.io/library/falcoc-busybox",
		ImageTag:        "latest",
		Privileged:      true,
		Mounts:          []extract.Mount{{Source: "/etc", Dest: "/host-etc", Mode: "ro", RW: false}},
		Labels: map[string]string{
			"app":                                    "probe",
			"io.containerd.image.config.stop-signal": "SIGTERM",
			"io.kubernetes.pod.name":                 "web-0",
			"io.kubernetes.pod.namespace":            "shop",
			"io.kubernetes.pod.uid":                  "0f2c5a8e-1111-4222-8333-944455556666",
		},
		PodName:      "web-0",
		PodNamespace: "shop",
		PodUID:       "0f2c5a8e-1111-4222-8333-944455556666",
		StartTS:      at(57, 216437699),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
}

// parseContainerd decodes a GetContainerResponse and converts it.
func parseContainerd(b []byte) (*extract.Container, error) {
	in, err := decodeGetContainerResponse(b)
	if err != nil {
		return nil, err
	}
	return in.container()
}

func TestSplitImage(t *testing.T) {
	tests := []struct {
		in                string
		repo, tag, digest string
	}{
		{"busybox", "busybox", "", ""},
		{"busybox:1.35", "busybox", "1.35", ""},
		{"falcosecurity/falco:latest", "falcosecurity/falco", "latest", ""},
		{"docker.io/library/nginx:1.25@sha256:0d17", "docker.io/library/nginx", "1.25", "sha256:0d17"},
		{"docker.io/library/nginx@sha256:0d17", "docker.io/library/nginx", "", "sha256:0d17"},
		{"registry.example:5000/team/busybox", "registry.example:5000/team/busybox", "", ""},
		{"registry.example:5000/team/busybox:1.35", "registry.example:5000/team/busybox", "1.35", ""},
		{"localhost:5000/a:b@sha256:ff", "localhost:5000/a", "b", "sha256:ff"},
		{"", "", "", ""},
		{":", "", "", ""},
		{"@", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			repo, tag, digest := SplitImage(tc.in)
			if diff := cmp.Diff([]string{tc.repo, tc.tag, tc.digest}, []string{repo, tag, digest}); diff != "" {
				t.Errorf("SplitImage(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestHealthCheck(t *testing.T) {
	tests := []struct {
		test []string
		want string
	}{
		{[]string{"CMD", "/bin/check", "-q"}, "/bin/check -q"},
		{[]string{"CMD-SHELL", "wget -q localhost || exit 1"}, "/bin/sh -c wget -q localhost || exit 1"},
		{[]string{"NONE"}, ""},
		{nil, ""},
		{[]string{"WHAT", "x"}, ""},
	}
	for _, tc := range tests {
		if got := healthCheck(tc.test); got != tc.want {
			t.Errorf("healthCheck(%q) = %q, want %q", tc.test, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) (*extract.Container, error)
		in    string
		want  string
	}{
		{"containerd truncated", parseContainerd, "\x0a\x05ab", "protobuf field 1: unexpected EOF"},
		{"containerd no container", parseContainerd, "", "answer without a container: container not found"},
		{"containerd no id", parseContainerd, "\x0a\x02\x1a\x00", "containerd: a container without an id: container not found"},
		{"containerd bad spec", parseContainerd, "\x0a\x0b\x0a\x01x\x2a\x06\x12\x04nope", "decode spec: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("got %+v, want error %q", c, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
		})
	}
}
