package containers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
