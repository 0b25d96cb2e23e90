package container

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	hexA = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"
	hexB = "63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a"
)

type result struct {
	ID, FullID, Type string
	OK               bool
}

var host = result{"host", "host", "host", false}

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name string
		path string
		want result
	}{
		{"root", "/", host},
		{"empty", "", host},
		{"process_api is not a container", "/process_api/8436c4d02c4cfddec074098986854f28", host},
		{"process_api with 64 hex", "/process_api/" + hexA, host},
		{"user session", "/user.slice/user-1000.slice/session-2.scope", host},
		{"system service", "/system.slice/containerd.service", host},
		{"systemd init scope", "/init.scope", host},
		{"docker cgroupfs", "/docker/" + hexA, result{"3ad7b26ded6d", hexA, "docker", true}},
		{"docker short id is not enough", "/docker/3ad7b26ded6d", host},
		{"docker uppercase hex", "/docker/" + strings.ToUpper(hexA), host},
		{"docker systemd", "/system.slice/docker-" + hexA + ".scope", result{"3ad7b26ded6d", hexA, "docker", true}},
		{"docker systemd trailing slash", "/system.slice/docker-" + hexA + ".scope/", result{"3ad7b26ded6d", hexA, "docker", true}},
		{"docker in docker", "/docker/" + hexA + "/docker/" + hexB, result{"63060edc2d3a", hexB, "docker", true}},
		{"podman cgroupfs", "/libpod_parent/libpod-" + hexA, result{"3ad7b26ded6d", hexA, "podman", true}},
		{"podman systemd", "/machine.slice/libpod-" + hexA + ".scope", result{"3ad7b26ded6d", hexA, "podman", true}},
		{"podman systemd nested container cgroup", "/machine.slice/libpod-" + hexA + ".scope/container", result{"3ad7b26ded6d", hexA, "podman", true}},
		{"podman conmon is not the container", "/machine.slice/libpod-conmon-" + hexA + ".scope", host},
		{"containerd default namespace", "/default/web1", result{"web1", "web1", "containerd", true}},
		{"containerd hex name", "/default/" + hexA, result{"3ad7b26ded6d", hexA, "containerd", true}},
		{"containerd unknown namespace", "/myns/web1", host},
		{"containerd name too deep", "/a/default/web1", host},
		{"containerd systemd", "/system.slice/cri-containerd-" + hexA + ".scope", result{"3ad7b26ded6d", hexA, "containerd", true}},
		{"crio cgroupfs", "/crio/" + hexA, result{"3ad7b26ded6d", hexA, "cri-o", true}},
		{"crio systemd", "/machine.slice/crio-" + hexA + ".scope", result{"3ad7b26ded6d", hexA, "cri-o", true}},
		{"crio conmon", "/machine.slice/crio-conmon-" + hexA + ".scope", host},
		{"kubernetes cgroupfs besteffort", "/kubepods/besteffort/pod3e41dc6b-08a8-44db-bc2a-3724b18ab19a/" + hexA, result{"3ad7b26ded6d", hexA, "cri", true}},
		{"kubernetes cgroupfs guaranteed", "/kubepods/pod3e41dc6b-08a8-44db-bc2a-3724b18ab19a/" + hexA, result{"3ad7b26ded6d", hexA, "cri", true}},
		{"kubernetes pod cgroup itself", "/kubepods/besteffort/pod3e41dc6b-08a8-44db-bc2a-3724b18ab19a", host},
		{"kubernetes systemd containerd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3e41dc6b_08a8_44db_bc2a_3724b18ab19a.slice/cri-containerd-" + hexA + ".scope", result{"3ad7b26ded6d", hexA, "containerd", true}},
		{"kubernetes systemd crio", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3e41dc6b_08a8.slice/crio-" + hexB + ".scope", result{"63060edc2d3a", hexB, "cri-o", true}},
		{"kubernetes systemd docker", "/kubepods.slice/kubepods-pod3e41.slice/docker-" + hexB + ".scope", result{"63060edc2d3a", hexB, "docker", true}},
		{"other cgroup namespace", "/../../docker/" + hexA, result{"3ad7b26ded6d", hexA, "docker", true}},
		{"other cgroup namespace containerd", "/../default/web1", result{"web1", "web1", "containerd", true}},
		{"only dots", "/../..", host},
		{"scope with bad id", "/system.slice/docker-xyz.scope", host},
		{"not a pod parent", "/other/pod1/" + hexA, host},
		{"garbage", "::::////\x00\xff", host},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got result
			got.ID, got.FullID, got.Type, got.OK = ParseCgroup(tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseCgroup(%q) (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

func TestParserNamespaces(t *testing.T) {
	p := Parser{ContainerdNamespaces: []string{"k8s.io", "builds"}}
	var got result
	got.ID, got.FullID, got.Type, got.OK = p.Parse("/builds/job-7")
	if diff := cmp.Diff(result{"job-7", "job-7", "containerd", true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var zero Parser
	got.ID, got.FullID, got.Type, got.OK = zero.Parse("/default/web1")
	if diff := cmp.Diff(host, got); diff != "" {
		t.Errorf("zero Parser (-want +got):\n%s", diff)
	}
}

const hybrid = `9:name=systemd:/
8:pids:/
4:memory:/process_api/8436c4d02c4cfddec074098986854f28
2:cpuacct:/
1:cpu:/
0::/
`

func TestParseProcCgroup(t *testing.T) {
	got := ParseProcCgroup(hybrid + "garbage line\n3:cpuset\n")
	want := []Cgroup{
		{"name=systemd", "/"}, {"pids", "/"}, {"memory", "/process_api/8436c4d02c4cfddec074098986854f28"},
		{"cpuacct", "/"}, {"cpu", "/"}, {"", "/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMainPath(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"hybrid falls back to memory", hybrid, "/process_api/8436c4d02c4cfddec074098986854f28"},
		{"v2 wins", "0::/docker/" + hexA + "\n4:memory:/x\n", "/docker/" + hexA},
		{"cpu when memory is root", "4:memory:/\n1:cpu,cpuacct:/docker/" + hexA + "\n0::/\n", "/docker/" + hexA},
		{"any v1", "4:memory:/\n7:blkio:/blk\n", "/blk"},
		{"all root", "4:memory:/\n0::/\n", "/"},
		{"nothing", "", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MainPath(ParseProcCgroup(tc.text)); got != tc.want {
				t.Errorf("MainPath = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFromCgroups(t *testing.T) {
	tests := []struct {
		name, text string
		want       result
	}{
		{"hybrid host", hybrid, host},
		{"v1 docker with v2 root", "4:memory:/docker/" + hexA + "\n0::/\n", result{"3ad7b26ded6d", hexA, "docker", true}},
		{"v2 first", "4:memory:/docker/" + hexB + "\n0::/docker/" + hexA + "\n", result{"3ad7b26ded6d", hexA, "docker", true}},
	}
	var p Parser
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got result
			got.ID, got.FullID, got.Type, got.OK = p.FromCgroups(ParseProcCgroup(tc.text))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add("/docker/" + hexA)
	f.Add("/../default/x")
	f.Fuzz(func(t *testing.T, path string) {
		id, full, typ, ok := ParseCgroup(path)
		if !ok && (id != "host" || full != "host" || typ != "host") {
			t.Fatalf("host result %q %q %q", id, full, typ)
		}
		if ok && !strings.HasPrefix(full, id) {
			t.Fatalf("id %q is not a prefix of %q", id, full)
		}
	})
}
