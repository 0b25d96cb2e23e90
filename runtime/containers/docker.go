package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/state/container"
)

// maxBody bounds what is read from a runtime's answer.
const maxBody = 8 << 20

// apiClient speaks HTTP to a docker-compatible API over a unix socket.
type apiClient struct {
	socket string
	http   *http.Client
}

func newAPIClient(socket string) *apiClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:       4,
		IdleConnTimeout:    30 * time.Second,
		DisableCompression: true,
	}
	return &apiClient{socket: socket, http: &http.Client{Transport: tr}}
}

// get decodes the JSON answer to GET path into v.
func (a *apiClient) get(ctx context.Context, path string, v any) error {
	if _, err := os.Stat(a.socket); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", a.socket, ErrUnavailable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("%s: %w", a.socket, ErrUnavailable)
		}
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("GET %s: %w", path, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, apiMessage(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// apiMessage returns the "message" of a docker API error body, or the
// body itself, shortened.
func apiMessage(body []byte) string {
	var m struct{ Message string }
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Docker fetches containers from a docker-compatible API socket (docker's
// or podman's), with plain HTTP over the unix socket.
type Docker struct {
	name string
	typ  string
	api  *apiClient
}

// NewDocker returns the backend for docker's API socket (usually
// /var/run/docker.sock). It serves docker containers, and containers of
// unknown type.
func NewDocker(socket string) *Docker {
	return &Docker{name: "docker", typ: container.TypeDocker, api: newAPIClient(socket)}
}

// Name implements [Backend].
func (d *Docker) Name() string { return d.name }

// Serves implements [Backend].
func (d *Docker) Serves(typ string) bool {
	return typ == "" || typ == d.typ || (d.typ == container.TypeDocker && typ == container.TypeCRI)
}

// Fetch implements [Backend]: GET /containers/<id>/json, then, when the
// image is named by id or has no digest, GET /images/<id>/json.
func (d *Docker) Fetch(ctx context.Context, id, typ string) (*extract.Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%s: container %q: %w", d.name, id, ErrNotFound)
	}
	var in dockerInspect
	if err := d.api.get(ctx, "/containers/"+url.PathEscape(id)+"/json", &in); err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	var img *dockerImage
	ref := in.imageRef()
	if in.Image != "" && (isImageID(ref, in.Image) || !strings.Contains(ref, "@")) {
		var im dockerImage
		// The image may be gone; the container's own fields still hold.
		if d.api.get(ctx, "/images/"+url.PathEscape(in.Image)+"/json", &im) == nil {
			img = &im
		}
	}
	c := in.container(img)
	c.Type = d.typ
	return c, nil
}

// validID accepts container ids and names; it keeps path syntax out of
// URLs and command lines.
func validID(id string) bool {
	if id == "" || len(id) > 256 || id[0] == '-' || id[0] == '.' {
		return false
	}
	return !strings.ContainsAny(id, "/\\?#% \t\n\x00")
}

// dockerInspect is the part of docker's (and podman's) container inspect
// answer that falcoc uses.
type dockerInspect struct {
	ID        string `json:"Id"`
	Name      string
	Image     string // image id, "sha256:<hex>" (docker) or "<hex>" (podman)
	ImageName string // podman's own inspect only
	State     struct {
		StartedAt string
	}
	Config struct {
		Image       string
		Labels      map[string]string
		Healthcheck *struct {
			Test []string
		}
	}
	HostConfig struct {
		Privileged  bool
		PidMode     string
		NetworkMode string
		IpcMode     string
	}
	Mounts []struct {
		Source      string
		Destination string
		Mode        string
		RW          bool
		Propagation string
	}
	NetworkSettings struct {
		IPAddress string
		Networks  map[string]struct{ IPAddress string }
	}
}

// dockerImage is the part of an image inspect answer that falcoc uses.
type dockerImage struct {
	RepoTags    []string
	RepoDigests []string
}

// imageRef is the image as the container was created with it.
func (in *dockerInspect) imageRef() string {
	if in.ImageName != "" {
		return in.ImageName
	}
	return in.Config.Image
}

// container converts the inspect answer; img, if not nil, names an image
// created by id and gives the digest.
func (in *dockerInspect) container(img *dockerImage) *extract.Container {
	c := &extract.Container{
		FullID:      in.ID,
		ID:          shortID(in.ID),
		Name:        strings.TrimPrefix(in.Name, "/"),
		ImageID:     strings.TrimPrefix(in.Image, "sha256:"),
		Privileged:  in.HostConfig.Privileged,
		HostPID:     in.HostConfig.PidMode == "host",
		HostNetwork: in.HostConfig.NetworkMode == "host",
		HostIPC:     in.HostConfig.IpcMode == "host",
		IP:          in.NetworkSettings.IPAddress,
		StartTS:     parseTime(in.State.StartedAt),
	}
	if c.IP == "" && len(in.NetworkSettings.Networks) == 1 {
		for _, n := range in.NetworkSettings.Networks {
			c.IP = n.IPAddress
		}
	}
	ref := in.imageRef()
	if img != nil && isImageID(ref, in.Image) && len(img.RepoTags) > 0 {
		ref = img.RepoTags[0]
	}
	if isImageID(ref, in.Image) {
		// No name known for the image: no repository or tag.
		c.Image = ref
	} else {
		var f imageFields
		setImage(&f, ref)
		c.Image, c.ImageRepository, c.ImageTag, c.ImageDigest = f.image, f.repo, f.tag, f.digest
	}
	if c.ImageDigest == "" && img != nil && c.ImageRepository != "" {
		c.ImageDigest = repoDigest(img.RepoDigests, c.ImageRepository)
	}
	for _, m := range in.Mounts {
		c.Mounts = append(c.Mounts, extract.Mount{
			Source: m.Source, Dest: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
		})
	}
	if len(in.Config.Labels) > 0 {
		c.Labels = make(map[string]string, len(in.Config.Labels))
		for k, v := range in.Config.Labels {
			c.Labels[k] = v
		}
	}
	if hc := in.Config.Healthcheck; hc != nil {
		c.HealthCheck = healthCheck(hc.Test)
	}
	setPod(c, in.Config.Labels)
	if sb := in.Config.Labels["io.kubernetes.sandbox.id"]; sb != "" {
		c.PodSandboxID = sb
	}
	return c
}

// repoDigest returns the digest of the first "repo@digest" entry whose
// repository is repo.
func repoDigest(list []string, repo string) string {
	for _, rd := range list {
		r, d, ok := strings.Cut(rd, "@")
		if ok && r == repo {
			return d
		}
	}
	return ""
}

// healthCheck renders a docker health check test as the command line the
// check runs: ["CMD", args...] runs args, ["CMD-SHELL", cmd] runs
// /bin/sh -c cmd; "NONE" and inherited checks give "".
func healthCheck(test []string) string {
	if len(test) < 2 {
		return ""
	}
	switch test[0] {
	case "CMD":
		return strings.Join(test[1:], " ")
	case "CMD-SHELL":
		return "/bin/sh -c " + test[1]
	}
	return ""
}

// setPod fills the pod fields from the CRI labels on a container.
func setPod(c *extract.Container, labels map[string]string) {
	c.PodName = labels["io.kubernetes.pod.name"]
	c.PodNamespace = labels["io.kubernetes.pod.namespace"]
	c.PodUID = labels["io.kubernetes.pod.uid"]
}

// parseTime parses an RFC 3339 time into ns since the epoch; the zero
// time and garbage give 0.
func parseTime(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return 0
	}
	return t.UnixNano()
}
