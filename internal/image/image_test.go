package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWrite(t *testing.T) {
	spec := Spec{
		Tags:       []string{"falcoc/falco-run:test"},
		Entrypoint: []string{"/usr/bin/falco-run"},
		Cmd:        []string{"-c", "/etc/falco/falco.yaml"},
		Files: []File{
			{Path: "/usr/bin/falco-run", Mode: 0o755, Data: []byte("binary")},
			{Path: "/etc/falco/falco.yaml", Mode: 0o644, Data: []byte("json_output: true\n")},
			{Path: "/tmp/", Mode: 0o1777},
		},
	}
	var a, b bytes.Buffer
	id, err := Write(&a, spec)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := Write(&b, spec)
	if err != nil {
		t.Fatal(err)
	}
	if id != id2 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of one spec differ")
	}

	outer := readTar(t, a.Bytes())
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(outer["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != 1 || manifest[0].RepoTags[0] != "falcoc/falco-run:test" {
		t.Fatalf("manifest = %+v", manifest)
	}
	if "sha256:"+manifest[0].Config != id+".json" {
		t.Errorf("config %s, id %s", manifest[0].Config, id)
	}
	var cfg struct {
		Config struct{ Entrypoint, Cmd []string }
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(outer[manifest[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.Cmd, cfg.Config.Cmd); diff != "" || cfg.Config.Entrypoint[0] != "/usr/bin/falco-run" {
		t.Errorf("config = %+v", cfg)
	}
	layer := outer[manifest[0].Layers[0]]
	var names []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "tmp/" && h.Mode != 0o1777 {
			t.Errorf("tmp mode %o", h.Mode)
		}
	}
	want := []string{"etc/", "etc/falco/", "etc/falco/falco.yaml", "tmp/", "usr/", "usr/bin/", "usr/bin/falco-run"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}

	if _, err := Write(io.Discard, Spec{Tags: []string{"x"}, Files: []File{{Path: "/a"}, {Path: "a"}}}); err == nil || err.Error() != "image: a twice" {
		t.Errorf("duplicate path: %v", err)
	}
}

func readTar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = data
	}
}
