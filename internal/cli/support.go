package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/rules"
	"golang.org/x/sys/unix"
)

// supportDoc is what `falco-run --support` prints: Falco's support
// document (version, engine, system, command line, configuration, rule
// files) with what falco-run's kernel capture needs beside it.
type supportDoc struct {
	Version    string            `json:"version"`
	EngineInfo supportEngine     `json:"engine_info"`
	SystemInfo supportSystem     `json:"system_info"`
	Cmdline    string            `json:"cmdline"`
	Kernel     supportKernel     `json:"kernel"`
	Config     string            `json:"config"`
	Configs    map[string]string `json:"configs"`
	Overrides  []string          `json:"config_overrides"`
	RulesFiles []supportRules    `json:"rules_files"`
}

type supportEngine struct {
	EngineVersion string `json:"engine_version"`
}

type supportSystem struct {
	Sysname  string `json:"sysname"`
	Nodename string `json:"nodename"`
	Release  string `json:"release"`
	Version  string `json:"version"`
	Machine  string `json:"machine"`
}

type supportKernel struct {
	BTF       bool              `json:"btf"`
	Features  map[string]bool   `json:"features"`
	Fallbacks []supportFallback `json:"fallbacks"`
	// Capture is the result of loading the capture programs (as root):
	// "loaded", the kernel's refusal, or why it was not tried.
	Capture string `json:"capture"`
}

type supportFallback struct {
	Feature string `json:"feature"`
	Effect  string `json:"effect"`
}

type supportRules struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// runSupport prints the support document. It never fails on what it
// describes: a kernel without BTF or a capture that does not load is
// reported in the document.
func (o *RunOptions) runSupport(w io.Writer) error {
	doc := supportDoc{
		Version:    codegen.CompilerVersion,
		EngineInfo: supportEngine{EngineVersion: artifact.EngineVersion},
		Cmdline:    strings.Join(os.Args, " "),
		Configs:    map[string]string{},
		Overrides:  append([]string{}, o.Overrides...),
		RulesFiles: []supportRules{},
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		doc.SystemInfo = supportSystem{
			Sysname:  unix.ByteSliceToString(u.Sysname[:]),
			Nodename: unix.ByteSliceToString(u.Nodename[:]),
			Release:  unix.ByteSliceToString(u.Release[:]),
			Version:  unix.ByteSliceToString(u.Version[:]),
			Machine:  unix.ByteSliceToString(u.Machine[:]),
		}
	}
	doc.Kernel = supportKernelInfo()
	if o.ConfigFile != "" {
		b, err := os.ReadFile(o.ConfigFile)
		if err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("--support: %w", err)}
		}
		doc.Config = string(b)
		doc.Configs[o.ConfigFile] = string(b)
	}
	paths := o.Rules
	if len(paths) == 0 && o.configNamesRules() {
		paths = o.cfg.RulesFiles
	}
	var srcs []rules.Source
	var err error
	if len(paths) == 0 {
		srcs, err = embeddedSources()
	} else {
		srcs, err = readRuleSources(paths)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("--support: %w", err)}
	}
	for _, s := range srcs {
		doc.RulesFiles = append(doc.RulesFiles, supportRules{Name: s.Name, Content: string(s.Data)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// readRuleSources reads rule files and folders; an artifact is listed by
// name only.
func readRuleSources(paths []string) ([]rules.Source, error) {
	var out []rules.Source
	for _, p := range paths {
		if strings.HasSuffix(p, ".fbc") {
			out = append(out, rules.Source{Name: p, Data: []byte("(compiled artifact)")})
			continue
		}
		s, err := rules.ReadPaths([]string{p})
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

func supportKernelInfo() supportKernel {
	k, err := bpf.ProbeFeatures()
	sk := supportKernel{BTF: k.BTF, Features: map[string]bool{}, Fallbacks: []supportFallback{}}
	if err != nil {
		sk.Capture = "not tried: " + err.Error()
		return sk
	}
	for _, f := range bpf.AllFeatures {
		sk.Features[string(f)] = k.Has[f]
	}
	for _, f := range k.Fallbacks() {
		sk.Fallbacks = append(sk.Fallbacks, supportFallback{Feature: string(f), Effect: f.Fallback()})
	}
	switch {
	case !k.BTF:
		sk.Capture = "not tried: the kernel has no BTF (/sys/kernel/btf/vmlinux)"
	case os.Geteuid() != 0:
		sk.Capture = "not tried: not root"
	default:
		c, err := bpf.Load(&bpf.Options{RingBufferSize: os.Getpagesize() * 16, NoSchedEvents: true})
		if err != nil {
			sk.Capture = err.Error()
			break
		}
		c.Close()
		sk.Capture = "loaded"
	}
	return sk
}
