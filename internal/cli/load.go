package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/selection"
	defaultrules "github.com/falcoc/falcoc/rules"
)

// loadedRules is a compiled rule set and where it came from.
type loadedRules struct {
	Art   *artifact.Artifact
	Names []string // the files loaded
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
func loadRules(paths []string, sel *selection.Selection, errw io.Writer) (*loadedRules, error) {
	if fbc := artifactPaths(paths); len(fbc) > 0 {
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
	art, ds := compiler.Compile(srcs, &compiler.Options{Selection: sel})
	for _, d := range ds {
		if _, err := io.WriteString(errw, d.Render()); err != nil {
			return nil, err
		}
	}
	if art == nil {
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("rules could not be loaded")}
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	return &loadedRules{Art: art, Names: names}, nil
}

// artifactPaths returns the rule paths that name a compiled artifact.
func artifactPaths(paths []string) []string {
	var fbc []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".fbc") {
			fbc = append(fbc, p)
		}
	}
	return fbc
}

// hasArtifact reports whether a rule path names a compiled artifact.
func hasArtifact(paths []string) bool { return len(artifactPaths(paths)) > 0 }

// applySelection applies -D/-T/-t to the rules of an artifact with the
// loader's own selection, so that .yaml and .fbc inputs agree.
func applySelection(art *artifact.Artifact, sel *selection.Selection) {
	for i := range art.Rules {
		r := &art.Rules[i]
		r.Enabled = sel.Enabled(r.Name, r.Tags, r.Enabled)
	}
}
