package cli

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
	defaultrules "github.com/falcoc/falcoc/rules"
)

// ruleSelection is what -D, -T and -t (and falco.yaml's `rules:`) select.
type ruleSelection struct {
	DisableRules []string
	DisableTags  []string
	EnableTags   []string
	EnableRules  []string
}

func (s ruleSelection) loaderOptions() *rules.Options {
	return &rules.Options{
		DisabledRules: s.DisableRules,
		DisabledTags:  s.DisableTags,
		EnabledTags:   s.EnableTags,
		EnabledRules:  s.EnableRules,
	}
}

// loadedRules is a compiled rule set and where it came from.
type loadedRules struct {
	Art     *artifact.Artifact
	Ruleset *rules.Ruleset // nil when loaded from an artifact
	Names   []string       // the files loaded
}

// embeddedSources returns the default rule files embedded in the binary.
func embeddedSources() ([]rules.Source, error) {
	names, err := fs.Glob(defaultrules.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var srcs []rules.Source
	for _, n := range names {
		b, err := defaultrules.FS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, rules.Source{Name: path.Join("<embedded>", n), Data: b})
	}
	return srcs, nil
}

// loadRules compiles the rule paths (YAML files or folders, or exactly one
// .fbc artifact), or the embedded default rules when paths is empty.
// Diagnostics go to errw in our file:line:col form; warnings do not stop
// loading.
func loadRules(paths []string, sel ruleSelection, errw io.Writer) (*loadedRules, error) {
	var fbc []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".fbc") {
			fbc = append(fbc, p)
		}
	}
	if len(fbc) > 0 {
		if len(paths) != 1 {
			return nil, fmt.Errorf("-r: an artifact (%s) cannot be combined with other rule files", fbc[0])
		}
		b, err := os.ReadFile(fbc[0])
		if err != nil {
			return nil, fmt.Errorf("-r: %w", err)
		}
		art, err := artifact.Read(b)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", fbc[0], err)
		}
		applySelection(art, sel)
		return &loadedRules{Art: art, Names: fbc}, nil
	}
	var srcs []rules.Source
	var err error
	if len(paths) == 0 {
		srcs, err = embeddedSources()
	} else {
		srcs, err = rules.ReadPaths(paths)
	}
	if err != nil {
		return nil, fmt.Errorf("-r: %w", err)
	}
	rs, ds := rules.Load(srcs, sel.loaderOptions())
	for _, d := range ds {
		if _, err := io.WriteString(errw, d.Render()); err != nil {
			return nil, err
		}
	}
	if rs == nil || diag.HasErrors(ds) {
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("rules could not be loaded")}
	}
	art, err := buildArtifact(rs)
	if err != nil {
		return nil, err
	}
	// Round-trip through the artifact encoding so that live runs and .fbc
	// runs execute exactly the same thing.
	var buf bytes.Buffer
	if err := artifact.Write(&buf, art); err != nil {
		return nil, err
	}
	if art, err = artifact.Read(buf.Bytes()); err != nil {
		return nil, err
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	return &loadedRules{Art: art, Ruleset: rs, Names: names}, nil
}

// applySelection applies -D/-T/-t to the rules of an artifact, as the
// loader does for rule files.
func applySelection(art *artifact.Artifact, sel ruleSelection) {
	for i := range art.Rules {
		r := &art.Rules[i]
		if len(sel.EnableTags) > 0 {
			r.Enabled = anyTag(r.Tags, sel.EnableTags)
		}
		if matchAny(r.Name, sel.DisableRules) || anyTag(r.Tags, sel.DisableTags) {
			r.Enabled = false
		}
		if matchAny(r.Name, sel.EnableRules) {
			r.Enabled = true
		}
	}
}

func anyTag(tags, want []string) bool {
	for _, t := range tags {
		if slices.Contains(want, t) {
			return true
		}
	}
	return false
}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok || p == name {
			return true
		}
	}
	return false
}
