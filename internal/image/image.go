// Package image writes a container image as a single-layer archive in
// `docker save`'s format, which `docker load`, `podman load` and
// `ctr images import` all read. It builds falco-run's image from scratch:
// no base image, nothing pulled, and the same inputs give the same bytes
// (every time stamp is the epoch, entries are in a fixed order).
package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// File is one entry of the image's file system. A Path ending in "/" is a
// directory (Data is ignored).
type File struct {
	Path string
	Mode int64
	Data []byte
}

// Spec describes an image.
type Spec struct {
	// Tags name the image ("falcoc/falco-run:latest").
	Tags []string
	// Entrypoint, Cmd, Env, WorkingDir and Labels are the image's run
	// configuration.
	Entrypoint, Cmd, Env []string
	WorkingDir           string
	Labels               map[string]string
	// Files is the file system; parent directories are added as needed.
	Files []File
}

var epoch = time.Unix(0, 0).UTC()

// Write writes s as a `docker save` archive to w. It returns the image
// id (the digest of its configuration, as docker shows it).
func Write(w io.Writer, s Spec) (string, error) {
	if len(s.Tags) == 0 {
		return "", fmt.Errorf("image: no tag")
	}
	var layer bytes.Buffer
	if err := writeLayer(&layer, s.Files); err != nil {
		return "", err
	}
	sum := sha256.Sum256(layer.Bytes())
	layerHex := hex.EncodeToString(sum[:])
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": s.Entrypoint,
			"Cmd":        s.Cmd,
			"Env":        s.Env,
			"WorkingDir": s.WorkingDir,
			"Labels":     s.Labels,
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
		"history": []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "falcoc-image"}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cs := sha256.Sum256(cfgJSON)
	cfgHex := hex.EncodeToString(cs[:])
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   cfgHex + ".json",
		"RepoTags": s.Tags,
		"Layers":   []string{layerHex + "/layer.tar"},
	}})
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(w)
	for _, f := range []File{
		{Path: layerHex + "/", Mode: 0o755},
		{Path: layerHex + "/layer.tar", Mode: 0o644, Data: layer.Bytes()},
		{Path: cfgHex + ".json", Mode: 0o644, Data: cfgJSON},
		{Path: "manifest.json", Mode: 0o644, Data: manifest},
	} {
		if err := writeEntry(tw, f); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return "sha256:" + cfgHex, nil
}

// writeLayer writes the file system as a tar, directories first in path
// order, each parent before its children.
func writeLayer(w io.Writer, files []File) error {
	all := map[string]File{}
	for _, f := range files {
		p := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if p == "" || p == "." {
			return fmt.Errorf("image: bad path %q", f.Path)
		}
		if strings.HasSuffix(f.Path, "/") {
			p += "/"
		}
		if _, dup := all[p]; dup {
			return fmt.Errorf("image: %s twice", p)
		}
		f.Path = p
		all[p] = f
		for d := path.Dir(strings.TrimSuffix(p, "/")); d != "."; d = path.Dir(d) {
			if _, ok := all[d+"/"]; !ok {
				all[d+"/"] = File{Path: d + "/", Mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for p := range all {
		names = append(names, p)
	}
	slices.Sort(names)
	tw := tar.NewWriter(w)
	for _, p := range names {
		if err := writeEntry(tw, all[p]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, f File) error {
	h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: epoch, Format: tar.FormatPAX}
	if strings.HasSuffix(f.Path, "/") {
		h.Typeflag = tar.TypeDir
	} else {
		h.Typeflag = tar.TypeReg
		h.Size = int64(len(f.Data))
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("image: %s: %w", f.Path, err)
	}
	if h.Typeflag == tar.TypeReg {
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("image: %s: %w", f.Path, err)
		}
	}
	return nil
}
