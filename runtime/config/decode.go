package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/falcoc/falcoc/runtime/output"
)

// Error is a configuration error: a bad value for a key, or a YAML syntax
// error. Line and Column are 1-based; 0 means unknown.
type Error struct {
	// Source is the file name, or "-o key=value" for an override.
	Source       string
	Line, Column int
	// Key is the dotted key of the bad value ("" for syntax errors).
	Key string
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Apply overlays the YAML document data (named name in errors) on c. Keys
// that are present replace c's values; lists are replaced, not merged.
func (c *Config) Apply(name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := &Error{Source: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return e
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	d := decoder{source: name, positions: true, warn: c.addWarning}
	return d.decode(root, reflect.ValueOf(c).Elem(), "")
}

// decoder turns YAML nodes into Config values with checked types.
type decoder struct {
	source    string
	positions bool
	// raw is the unparsed -o value.
	raw string
	// warn receives the keys that were ignored; nil: none are recorded.
	warn func(Warning)
}

// Warning is a key that was ignored: unknown to Falco, or Falco's but not
// supported by falcoc (Known).
type Warning struct {
	// Source is the file name, or "-o key=value".
	Source       string
	Line, Column int
	// Key is the dotted key, list indexes removed ("plugins.foo").
	Key   string
	Known bool
}

func (w Warning) String() string {
	pos := w.Source
	if w.Line > 0 {
		pos += fmt.Sprintf(":%d:%d", w.Line, w.Column)
	}
	if w.Known {
		return fmt.Sprintf("%s: %s: not supported by falcoc (ignored)", pos, w.Key)
	}
	return fmt.Sprintf("%s: %s: unknown key (ignored)", pos, w.Key)
}

var indexRe = regexp.MustCompile(`\[[0-9]*\]`)

// ignored records that key (at node n) has no field in Config.
func (d *decoder) ignored(n *yaml.Node, key string) {
	if d.warn == nil {
		return
	}
	k := indexRe.ReplaceAllString(key, "")
	for p := k; p != ""; {
		if freeForm[p] || elsewhere[p] {
			return
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	w := Warning{Source: d.source, Key: k, Known: falcoKeys[k]}
	if d.positions && n != nil {
		w.Line, w.Column = n.Line, n.Column
	}
	d.warn(w)
}

// addWarning records w unless its key was already warned about.
func (c *Config) addWarning(w Warning) {
	for _, x := range c.Warnings {
		if x.Key == w.Key {
			return
		}
	}
	c.Warnings = append(c.Warnings, w)
}

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) error {
	e := &Error{Source: d.source, Key: key, Msg: fmt.Sprintf(format, args...)}
	if d.positions {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// nodeDecoder is implemented by types with their own YAML shape.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, key string) error
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an unresolved alias"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// fieldByKey finds the struct field with yaml tag key.
func fieldByKey(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag != "" && strings.Split(tag, ",")[0] == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var (
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
	configFileType  = reflect.TypeFor[ConfigFile]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) error {
	n = resolveAlias(n)
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, key)
	}
	switch v.Kind() {
	case reflect.Struct:
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, key, "expected a mapping, got %s", kindName(n))
		}
		hasRulesFiles := false
		if key == "" {
			for i := 0; i+1 < len(n.Content); i += 2 {
				hasRulesFiles = hasRulesFiles || n.Content[i].Value == "rules_files"
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if key == "" && k == "rules_file" {
				if hasRulesFiles {
					continue // rules_files wins over the legacy key
				}
				k = "rules_files"
			}
			f, ok := fieldByKey(v, k)
			if !ok {
				d.ignored(n.Content[i], joinKey(key, k))
				continue
			}
			if err := d.decode(n.Content[i+1], f, joinKey(key, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if isNull(n) {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return nil
		}
		items := n.Content
		if n.Kind == yaml.ScalarNode && (v.Type().Elem().Kind() == reflect.String || v.Type().Elem() == configFileType) {
			items = []*yaml.Node{n} // a single string for a list of one
		} else if n.Kind != yaml.SequenceNode {
			return d.errorf(n, key, "expected a sequence, got %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, key, "expected a scalar, got %s", kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		if isNull(n) {
			v.SetString("")
			return nil
		}
		if err := validate(key, n.Value); err != nil {
			return d.errorf(n, key, "%v", err)
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(n.Value)
		if !ok {
			return d.errorf(n, key, "expected a boolean, got %q", n.Value)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if err != nil {
			return d.errorf(n, key, "expected an integer, got %q", n.Value)
		}
		if i < 0 && nonNegative[key] {
			return d.errorf(n, key, "must not be negative, got %d", i)
		}
		v.SetInt(i)
	default:
		return d.errorf(n, key, "unsupported type %s", v.Type())
	}
	return nil
}

// parseBool accepts the booleans of YAML 1.1, as yaml-cpp does.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	return false, false
}

var nonNegative = map[string]bool{
	"outputs_queue.capacity":               true,
	"output_timeout":                       true,
	"http_output.max_consecutive_timeouts": true,
	"falco_libs.thread_table_size":         true,
}

// validate checks keys whose strings have a fixed set of values.
func validate(key, val string) error {
	switch key {
	case "priority", "log_level":
		if _, err := output.ParsePriority(val); err != nil {
			return err
		}
	case "rule_matching":
		if val != "first" && val != "all" {
			return fmt.Errorf("expected first or all, got %q", val)
		}
	}
	return nil
}

func (e *ExtraField) decodeNode(d *decoder, n *yaml.Node, key string) error {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		*e = ExtraField{Name: n.Value}
		return nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		v := resolveAlias(n.Content[1])
		if v.Kind != yaml.ScalarNode {
			return d.errorf(v, joinKey(key, n.Content[0].Value), "expected a format string, got %s", kindName(v))
		}
		*e = ExtraField{Name: n.Content[0].Value, Format: v.Value}
		return nil
	}
	return d.errorf(n, key, "expected a field name or a single name: format pair, got %s", kindName(n))
}

func (c *InitConfig) decodeNode(d *decoder, n *yaml.Node, key string) error {
	if *c == nil {
		*c = InitConfig{}
	}
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		text := strings.TrimSpace(n.Value)
		if text == "" {
			return nil
		}
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return d.errorf(n, key, "expected a mapping or a JSON object: %v", err)
		}
		c.flattenJSON("", obj)
		return nil
	case n.Kind == yaml.MappingNode:
		c.flattenYAML("", n)
		return nil
	}
	return d.errorf(n, key, "expected a mapping or a JSON object, got %s", kindName(n))
}

// flattenJSON stores the values of obj under their dotted paths (see
// [InitConfig]).
func (c InitConfig) flattenJSON(prefix string, obj map[string]any) {
	for k, v := range obj {
		key := prefix + k
		switch x := v.(type) {
		case string:
			c[key] = x
		case json.Number:
			c[key] = x.String()
		case bool:
			c[key] = strconv.FormatBool(x)
		case map[string]any:
			c.flattenJSON(key+".", x)
		case []any:
			if b, err := json.Marshal(x); err == nil {
				c[key] = string(b)
			}
		}
	}
}

// flattenYAML stores the values of the mapping n under their dotted paths
// (see [InitConfig]).
func (c InitConfig) flattenYAML(prefix string, n *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := prefix + n.Content[i].Value
		switch v := resolveAlias(n.Content[i+1]); {
		case v.Kind == yaml.ScalarNode && !isNull(v):
			c[key] = v.Value
		case v.Kind == yaml.MappingNode:
			c.flattenYAML(key+".", v)
		case v.Kind == yaml.SequenceNode:
			var items []any
			if v.Decode(&items) == nil {
				if b, err := json.Marshal(items); err == nil {
					c[key] = string(b)
				}
			}
		}
	}
}

func (r *RuleSelection) decodeNode(d *decoder, n *yaml.Node, key string) error {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return d.errorf(n, key, "expected a single enable or disable key, got %s", kindName(n))
	}
	switch n.Content[0].Value {
	case "enable":
		r.Enable = true
	case "disable":
		r.Enable = false
	default:
		return d.errorf(n.Content[0], key, "expected enable or disable, got %q", n.Content[0].Value)
	}
	key = joinKey(key, n.Content[0].Value)
	sel := resolveAlias(n.Content[1])
	if sel.Kind != yaml.MappingNode {
		return d.errorf(sel, key, "expected a mapping with rule or tag, got %s", kindName(sel))
	}
	r.Rule, r.Tag = "", ""
	for i := 0; i+1 < len(sel.Content); i += 2 {
		k, v := sel.Content[i].Value, resolveAlias(sel.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			return d.errorf(v, joinKey(key, k), "expected a string, got %s", kindName(v))
		}
		switch k {
		case "rule":
			r.Rule = v.Value
		case "tag":
			r.Tag = v.Value
		default:
			return d.errorf(sel.Content[i], key, "expected rule or tag, got %q", k)
		}
	}
	if (r.Rule == "") == (r.Tag == "") {
		return d.errorf(sel, key, "expected exactly one of rule or tag")
	}
	return nil
}

var errNoValue = errors.New("missing '=' in key=value")

func (f *ConfigFile) decodeNode(d *decoder, n *yaml.Node, key string) error {
	*f = ConfigFile{Strategy: "append"}
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		f.Path = n.Value
		return nil
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, resolveAlias(n.Content[i+1])
			if v.Kind != yaml.ScalarNode {
				return d.errorf(v, joinKey(key, k), "expected a string, got %s", kindName(v))
			}
			switch k {
			case "path":
				f.Path = v.Value
			case "strategy":
				switch v.Value {
				case "append", "override", "add-only":
				default:
					return d.errorf(v, joinKey(key, k), "expected append, override or add-only, got %q", v.Value)
				}
				f.Strategy = v.Value
			default:
				return d.errorf(n.Content[i], key, "expected path or strategy, got %q", k)
			}
		}
		if f.Path == "" {
			return d.errorf(n, key, "no path")
		}
		return nil
	}
	return d.errorf(n, key, "expected a path or a mapping with path and strategy, got %s", kindName(n))
}
