package config

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Set applies one "-o key=value" override. The key uses Falco's syntax:
// dotted names, "name[N]" to index a list (N may equal its length to
// append) and "name[]" to append. The value is read as YAML, so lists and
// mappings can be given inline ("rules_files=[a.yaml, b.yaml]"); a value
// that is not valid YAML is taken as a plain string. Keys falcoc does not
// use are ignored and recorded in c.Warnings. On error c is unchanged.
func (c *Config) Set(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return &Error{Source: "-o " + kv, Msg: errNoValue.Error()}
	}
	src := "-o " + kv
	segs, err := parseKey(key)
	if err != nil {
		return &Error{Source: src, Msg: err.Error()}
	}
	n := parseValue(val)
	tmp := *c
	tmp.deepCopyLists(c)
	d := decoder{source: src, raw: val, warn: tmp.addWarning}
	if err := d.set(reflect.ValueOf(&tmp).Elem(), segs, "", n); err != nil {
		return err
	}
	*c = tmp
	return nil
}

type keySeg struct {
	name   string
	index  int // -1: none, -2: append
	hasIdx bool
}

func parseKey(key string) ([]keySeg, error) {
	if key == "" {
		return nil, fmt.Errorf("empty key")
	}
	var segs []keySeg
	for _, part := range strings.Split(key, ".") {
		s := keySeg{index: -1}
		name, rest, bracket := strings.Cut(part, "[")
		s.name = name
		if name == "" {
			return nil, fmt.Errorf("bad key %q: empty name", key)
		}
		if bracket {
			idx, tail, ok := strings.Cut(rest, "]")
			if !ok || tail != "" {
				return nil, fmt.Errorf("bad key %q: expected name[N] or name[]", key)
			}
			s.hasIdx = true
			if idx == "" {
				s.index = -2
			} else {
				i, err := strconv.Atoi(idx)
				if err != nil || i < 0 {
					return nil, fmt.Errorf("bad key %q: bad index %q", key, idx)
				}
				s.index = i
			}
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// parseValue reads an override value as YAML, falling back to a plain
// string scalar.
func parseValue(val string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err == nil && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	tag := "!!str"
	if val == "" {
		tag = "!!null"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val}
}

// set walks the key segments through structs and lists and decodes n into
// the target. A type with its own YAML shape gets the rest of the key as a
// nested mapping.
func (d *decoder) set(v reflect.Value, segs []keySeg, key string, n *yaml.Node) error {
	if len(segs) == 0 {
		if v.Kind() == reflect.String && n.Kind != yaml.ScalarNode {
			// "a: b" or "[x" style text meant as a string.
			n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.raw}
		}
		return d.decode(n, v, key)
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		return d.decode(nest(segs, n), v, key)
	}
	if v.Kind() != reflect.Struct {
		return d.errorf(n, key, "is not a mapping")
	}
	s := segs[0]
	name := s.name
	if key == "" && name == "rules_file" {
		name = "rules_files"
	}
	f, ok := fieldByKey(v, name)
	if !ok {
		d.ignored(nil, joinKey(key, name))
		return nil
	}
	key = joinKey(key, name)
	if !s.hasIdx {
		return d.set(f, segs[1:], key, n)
	}
	if f.Kind() != reflect.Slice {
		return d.errorf(n, key, "is not a list")
	}
	i := s.index
	if i == -2 {
		i = f.Len()
	}
	if i > f.Len() {
		return d.errorf(n, key, "index %d out of range (length %d)", i, f.Len())
	}
	if i == f.Len() {
		f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
	}
	return d.set(f.Index(i), segs[1:], fmt.Sprintf("%s[%d]", key, i), n)
}

// nest turns the key rest a.b and value v into the mapping {a: {b: v}}.
func nest(segs []keySeg, n *yaml.Node) *yaml.Node {
	for i := len(segs) - 1; i >= 0; i-- {
		k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: segs[i].name}
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{k, n}}
	}
	return n
}

// deepCopyLists gives c its own copies of src's slices so that Set can
// fail without touching the original.
func (c *Config) deepCopyLists(src *Config) {
	c.RulesFiles = append([]string(nil), src.RulesFiles...)
	c.Rules = append([]RuleSelection(nil), src.Rules...)
	c.BaseSyscalls.CustomSet = append([]string(nil), src.BaseSyscalls.CustomSet...)
	c.LoadPlugins = append([]string(nil), src.LoadPlugins...)
	c.ConfigFiles = append([]ConfigFile(nil), src.ConfigFiles...)
	c.Warnings = append([]Warning(nil), src.Warnings...)
	c.Files = append([]string(nil), src.Files...)
	c.Plugins = append([]Plugin(nil), src.Plugins...)
	for i := range c.Plugins {
		if ic := c.Plugins[i].InitConfig; ic != nil {
			c.Plugins[i].InitConfig = maps.Clone(ic)
		}
	}
	c.AppendOutput = make([]AppendOutput, len(src.AppendOutput))
	for i, a := range src.AppendOutput {
		a.Match.Tags = append([]string(nil), a.Match.Tags...)
		a.ExtraFields = append([]ExtraField(nil), a.ExtraFields...)
		c.AppendOutput[i] = a
	}
	if src.AppendOutput == nil {
		c.AppendOutput = nil
	}
}
