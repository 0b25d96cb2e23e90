package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultPath is where Falco reads its configuration; falco-run reads it
// too when it exists and no -c is given.
const DefaultPath = "/etc/falco/falco.yaml"

// Load reads the falco.yaml at path, merges the files its config_files
// names, and overlays the result on [Default]. configFiles, when not nil,
// replaces the file's config_files (Falco applies -o config_files=...
// before merging). As Falco does, a missing include is skipped, an
// include naming the main file or carrying config_files itself is an
// error, a folder's regular files are merged in name order, and the merge
// works on top-level keys with the entry's strategy. The files read are
// in c.Files; ignored keys in c.Warnings.
func Load(path string, configFiles []ConfigFile) (*Config, error) {
	root, err := readDoc(path)
	if err != nil {
		return nil, err
	}
	c := Default()
	c.Files = []string{path}
	// The top-level keys and the file each came from, in order.
	keys := newKeyMap()
	for i := 0; i+1 < len(root.Content); i += 2 {
		keys.set(root.Content[i], root.Content[i+1], path)
	}
	includes := configFiles
	if includes == nil {
		if n := keys.get("config_files"); n != nil {
			d := decoder{source: path, positions: true}
			if err := d.decode(n, reflect.ValueOf(&includes).Elem(), "config_files"); err != nil {
				return nil, err
			}
		}
	}
	for i, inc := range includes {
		files, err := includeFiles(path, inc, i)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			doc, err := readDoc(f)
			if err != nil {
				return nil, err
			}
			c.Files = append(c.Files, f)
			for j := 0; j+1 < len(doc.Content); j += 2 {
				k, v := doc.Content[j], doc.Content[j+1]
				if k.Value == "config_files" {
					return nil, &Error{Source: f, Line: k.Line, Column: k.Column, Key: "config_files",
						Msg: "an included file cannot include others"}
				}
				keys.merge(k, v, f, inc.Strategy)
			}
		}
	}
	if configFiles != nil {
		c.ConfigFiles = configFiles
	}
	// rules_files wins over the legacy rules_file.
	if keys.get("rules_files") != nil {
		keys.remove("rules_file")
	}
	for _, e := range keys.entries {
		d := decoder{source: e.file, positions: true, warn: c.addWarning}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{e.key, e.val}}
		if err := d.decode(m, reflect.ValueOf(c).Elem(), ""); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ConfigFilesOverride returns the config_files the -o overrides set
// (nil when none does), to give to [Load].
func ConfigFilesOverride(overrides []string) ([]ConfigFile, error) {
	var tmp Config
	set := false
	for _, kv := range overrides {
		if strings.HasPrefix(kv, "config_files") {
			if err := tmp.Set(kv); err != nil {
				return nil, err
			}
			set = true
		}
	}
	if !set {
		return nil, nil
	}
	if tmp.ConfigFiles == nil {
		return []ConfigFile{}, nil
	}
	return tmp.ConfigFiles, nil
}

// readDoc parses a YAML file whose top level is a mapping (or empty).
func readDoc(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := &Error{Source: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &e.Line)
			e.Msg = m[2]
		}
		return nil, e
	}
	empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if len(doc.Content) == 0 {
		return empty, nil
	}
	root := resolveAlias(doc.Content[0])
	if isNull(root) {
		return empty, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Source: path, Line: root.Line, Column: root.Column, Msg: "expected a mapping, got " + kindName(root)}
	}
	return root, nil
}

// includeFiles returns the files of config_files entry i: the file, or a
// folder's regular files in name order; none when the path does not
// exist.
func includeFiles(main string, inc ConfigFile, i int) ([]string, error) {
	src := fmt.Sprintf("%s: config_files[%d]", main, i)
	if filepath.Clean(inc.Path) == filepath.Clean(main) {
		return nil, fmt.Errorf("%s: %s includes the main configuration file", src, inc.Path)
	}
	st, err := os.Stat(inc.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if !st.IsDir() {
		return []string{inc.Path}, nil
	}
	ents, err := os.ReadDir(inc.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(inc.Path, e.Name())
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// keyMap is the merged top level: keys in first-seen order, each with
// its value and the file that last set it.
type keyMap struct {
	entries []*keyEntry
}

type keyEntry struct {
	key, val *yaml.Node
	file     string
}

func newKeyMap() *keyMap { return &keyMap{} }

func (m *keyMap) find(k string) *keyEntry {
	for _, e := range m.entries {
		if e.key.Value == k {
			return e
		}
	}
	return nil
}

func (m *keyMap) get(k string) *yaml.Node {
	if e := m.find(k); e != nil {
		return e.val
	}
	return nil
}

func (m *keyMap) set(k, v *yaml.Node, file string) {
	if e := m.find(k.Value); e != nil {
		e.key, e.val, e.file = k, v, file
		return
	}
	m.entries = append(m.entries, &keyEntry{key: k, val: v, file: file})
}

func (m *keyMap) remove(k string) {
	m.entries = slices.DeleteFunc(m.entries, func(e *keyEntry) bool { return e.key.Value == k })
}

// merge applies one included key with strategy: append extends a
// sequence (a key that is not one is replaced), override replaces,
// add-only sets only a key not yet set.
func (m *keyMap) merge(k, v *yaml.Node, file, strategy string) {
	e := m.find(k.Value)
	v = resolveAlias(v)
	switch strategy {
	case "add-only":
		if e == nil {
			m.set(k, v, file)
		}
	case "override":
		m.set(k, v, file)
	default: // append
		if e != nil && v.Kind == yaml.SequenceNode {
			old := resolveAlias(e.val)
			if old.Kind == yaml.SequenceNode {
				joined := *old
				joined.Content = append(slices.Clone(old.Content), v.Content...)
				e.val, e.file = &joined, file
				return
			}
		}
		m.set(k, v, file)
	}
}
