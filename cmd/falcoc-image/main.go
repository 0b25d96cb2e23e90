// Command falcoc-image writes falco-run's container image (from scratch:
// static binaries, the default rules and falco.yaml) as an archive that
// `docker load`, `podman load` and `ctr images import` read. `make image`
// runs it.
package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/falcoc/falcoc/internal/image"
)

type tags []string

func (t *tags) String() string     { return strings.Join(*t, ",") }
func (t *tags) Set(s string) error { *t = append(*t, s); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "falcoc-image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("falcoc-image", flag.ContinueOnError)
	out := fs.String("o", "bin/falcoc-image.tar", "archive to write")
	bins := fs.String("bin", "bin/static", "folder with the static falco-run and falcoc")
	rules := fs.String("rules", "rules", "folder whose *.yaml files go to /etc/falco/")
	config := fs.String("config", "deploy/falco.yaml", "falco.yaml of the image (/etc/falco/falco.yaml)")
	var t tags
	fs.Var(&t, "tag", "image name (repeatable; default falcoc/falco-run:latest)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(t) == 0 {
		t = tags{"falcoc/falco-run:latest"}
	}
	var files []image.File
	for _, b := range []string{"falco-run", "falcoc"} {
		p := filepath.Join(*bins, b)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := static(p, data); err != nil {
			return err
		}
		files = append(files, image.File{Path: "/usr/bin/" + b, Mode: 0o755, Data: data})
	}
	ruleFiles, err := filepath.Glob(filepath.Join(*rules, "*.yaml"))
	if err != nil {
		return err
	}
	if len(ruleFiles) == 0 {
		return fmt.Errorf("%s: no rule files", *rules)
	}
	for _, r := range ruleFiles {
		data, err := os.ReadFile(r)
		if err != nil {
			return err
		}
		files = append(files, image.File{Path: "/etc/falco/" + filepath.Base(r), Mode: 0o644, Data: data})
	}
	cfg, err := os.ReadFile(*config)
	if err != nil {
		return err
	}
	files = append(files,
		image.File{Path: "/etc/falco/falco.yaml", Mode: 0o644, Data: cfg},
		image.File{Path: "/tmp/", Mode: 0o1777},
		image.File{Path: "/host/", Mode: 0o755})
	var buf bytes.Buffer
	id, err := image.Write(&buf, image.Spec{
		Tags:       t,
		Entrypoint: []string{"/usr/bin/falco-run"},
		Cmd:        []string{"-c", "/etc/falco/falco.yaml"},
		// The runtimes' sockets are looked for below /host (the host's
		// /run and /var/run mounted there, as Falco's chart does).
		Env:    []string{"HOST_ROOT=/host", "PATH=/usr/bin"},
		Labels: map[string]string{"org.opencontainers.image.title": "falcoc falco-run"},
		Files:  files,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %s %s (%d bytes)\n", *out, strings.Join(t, " "), id, buf.Len())
	return nil
}

// static refuses a binary that needs a dynamic loader: the image has none.
func static(path string, data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New(path + " is dynamically linked (build it with CGO_ENABLED=0)")
		}
	}
	return nil
}
