package containers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/extract"
)

// serveUnix serves h on a unix socket in a temporary directory.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestDockerBackendHTTP(t *testing.T) {
	inspect := readTestdata(t, "docker-falcoc-byid.json")
	image := readTestdata(t, "docker-image.json")
	var paths []string
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/containers/b00d86c7ba3c/json":
			w.Write(inspect)
		case "/images/sha256:" + busyboxImageID + "/json":
			w.Write(image)
		case "/containers/broken/json":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"message":"daemon on fire"}`))
		case "/containers/garbage/json":
			w.Write([]byte(`{"Id": 7}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"No such container"}`))
		}
	}))
	d := NewDocker(sock)
	c, err := d.Fetch(context.Background(), "b00d86c7ba3c", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Image != "falcoc-busybox:latest" || c.Type != "docker" || c.Name != "falcoc-byid" {
		t.Errorf("Fetch = image %q type %q name %q", c.Image, c.Type, c.Name)
	}
	if diff := cmp.Diff([]string{"/containers/b00d86c7ba3c/json", "/images/sha256:" + busyboxImageID + "/json"}, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	errTests := []struct {
		id   string
		want string
		is   error
	}{
		{"nosuch", "docker: GET /containers/nosuch/json: container not found", ErrNotFound},
		{"broken", "docker: GET /containers/broken/json: 500 Internal Server Error: daemon on fire", nil},
		{"garbage", "docker: decode /containers/garbage/json: json: cannot unmarshal number into Go struct field dockerInspect.Id of type string", nil},
		{"../etc", `docker: container "../etc": container not found`, ErrNotFound},
		{"a/b", `docker: container "a/b": container not found`, ErrNotFound},
		{"", `docker: container "": container not found`, ErrNotFound},
	}
	for _, tc := range errTests {
		t.Run(tc.id, func(t *testing.T) {
			c, err := d.Fetch(context.Background(), tc.id, "")
			if err == nil {
				t.Fatalf("Fetch(%q) = %+v, want error", tc.id, c)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestDockerBackendUnavailable(t *testing.T) {
	dir := t.TempDir()
	d := NewDocker(filepath.Join(dir, "missing.sock"))
	_, err := d.Fetch(context.Background(), "abc", "")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing socket: error %v, want ErrUnavailable", err)
	}
	// A socket file nobody listens on.
	sock := filepath.Join(dir, "dead.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = NewDocker(sock).Fetch(context.Background(), "abc", "")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("dead socket: error %v, want ErrUnavailable", err)
	}
}

func TestPodmanFallsBackToInspect(t *testing.T) {
	p := NewPodman(filepath.Join(t.TempDir(), "podman.sock"))
	var got []string
	p.local = func(ctx context.Context, id string) (*extract.Container, error) {
		return podmanInspect(ctx, func(_ context.Context, name string, args ...string) ([]byte, error) {
			got = append([]string{name}, args...)
			return readTestdata(t, "podman-inspect.json"), nil
		}, id)
	}
	c, err := p.Fetch(context.Background(), "0478bd92cc87", "podman")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "falcoc-probe" || c.Type != "podman" {
		t.Errorf("Fetch = name %q type %q", c.Name, c.Type)
	}
	want := []string{"podman", "inspect", "--type", "container", "--format", "json", "--", "0478bd92cc87"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
}

func TestContainerdBackendNamespaces(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "containerd.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := NewContainerd(addr, []string{"default", "k8s.io"})
	var cmds []string
	c.run = func(_ context.Context, name string, args ...string) ([]byte, error) {
		cmds = append(cmds, name+" "+strings.Join(args, " "))
		if args[3] == "k8s.io" {
			return readTestdata(t, "containerd-info.json"), nil
		}
		return nil, errors.New("ctr: container \"falcoc-probe\" in namespace \"default\": not found: " + ErrNotFound.Error())
	}
	got, err := c.Fetch(context.Background(), "falcoc-probe", "containerd")
	if err != nil {
		t.Fatal(err)
	}
	if got.PodName != "web-0" || got.Type != "containerd" {
		t.Errorf("Fetch = pod %q type %q", got.PodName, got.Type)
	}
	want := []string{
		"ctr -a " + addr + " -n default containers info falcoc-probe",
		"ctr -a " + addr + " -n k8s.io containers info falcoc-probe",
	}
	if diff := cmp.Diff(want, cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}

	missing := NewContainerd(filepath.Join(t.TempDir(), "none.sock"), []string{"default"})
	if _, err := missing.Fetch(context.Background(), "x", ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing socket: %v, want ErrUnavailable", err)
	}
}

func TestRunCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
		out  string
		is   error
	}{
		{name: "ok", args: []string{"sh", "-c", "echo hi"}, out: "hi\n"},
		{name: "missing program", args: []string{"falcoc-no-such-program"}, want: "falcoc-no-such-program: container runtime unavailable", is: ErrUnavailable},
		{
			name: "not found",
			args: []string{"sh", "-c", "echo 'Error: no such container abc' >&2; exit 125"},
			want: "sh -c echo 'Error: no such container abc' >&2; exit 125: Error: no such container abc: container not found",
			is:   ErrNotFound,
		},
		{
			name: "other failure",
			args: []string{"sh", "-c", "echo boom >&2; exit 3"},
			want: "sh -c echo boom >&2; exit 3: exit status 3: boom",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCommand(context.Background(), tc.args[0], tc.args[1:]...)
			if tc.out != "" {
				if err != nil || string(out) != tc.out {
					t.Fatalf("runCommand = %q, %v; want %q", out, err, tc.out)
				}
				return
			}
			if err == nil {
				t.Fatalf("runCommand = %q, want an error", out)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.is == nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable)) {
				t.Errorf("error %v should be a plain failure", err)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := runCommand(ctx, "sleep", "30"); err == nil || err.Error() != "sleep 30: context deadline exceeded" {
		t.Errorf("hung command: error %v, want sleep 30: context deadline exceeded", err)
	}
}
