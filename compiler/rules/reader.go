package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/falcoc/falcoc/compiler/diag"
)

// itemKinds are the top-level item kinds, in the order Falco tries them.
var itemKinds = []string{"required_engine_version", "required_plugin_versions", "list", "macro", "rule"}

var expectedKeys = map[string][]string{
	"required_engine_version":  {"required_engine_version"},
	"required_plugin_versions": {"required_plugin_versions"},
	"list":                     {"list", "items", "append", "override"},
	"macro":                    {"macro", "condition", "append", "override"},
	"rule": {"rule", "condition", "output", "desc", "priority", "source", "enabled", "capture",
		"capture_duration", "warn_evttypes", "skip-if-unknown-filter", "tags", "exceptions", "override", "append"},
}

// Keys that may be appended to or replaced through `override`, per kind.
var (
	appendable = map[string][]string{
		"list":  {"items"},
		"macro": {"condition"},
		"rule":  {"condition", "output", "desc", "tags", "exceptions"},
	}
	replaceable = map[string][]string{
		"list":  {"items"},
		"macro": {"condition"},
		"rule": {"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "capture",
			"capture_duration", "warn_evttypes", "skip-if-unknown-filter"},
	}
)

var (
	listNameRe  = regexp.MustCompile(`^[^()"'\s=,]+$`)
	macroNameRe = regexp.MustCompile(`^[a-zA-Z]+[a-zA-Z0-9_]*$`)
)

// item is one top-level map being read.
type item struct {
	l    *loader
	fi   int
	node *yaml.Node
	kind string
	name string
	keys map[string]*yaml.Node // key → value node
	kpos map[string]*yaml.Node // key → key node
	ctx  []diag.Location
	bad  bool // an error was reported: the item is dropped
}

func (it *item) fail(code, msg string, n *yaml.Node, extra ...diag.Location) {
	it.bad = true
	it.l.report(code, false, msg, it.l.nodePos(it.fi, n), append(append([]diag.Location(nil), it.ctx...), extra...))
}

func (it *item) warn(code, msg string, n *yaml.Node, extra ...diag.Location) {
	it.l.report(code, true, msg, it.l.nodePos(it.fi, n), append(append([]diag.Location(nil), it.ctx...), extra...))
}

// keyLoc is the item-stack entry for the value of key: "rule priority".
func (it *item) keyLoc(key string) diag.Location {
	return it.l.location(it.fi, it.kind+" "+key, "", it.keys[key])
}

func (it *item) has(key string) bool { _, ok := it.keys[key]; return ok }

// str decodes a scalar key. A missing key gives ok false without error;
// a non-scalar value is an error.
func (it *item) str(key string) (string, bool) {
	n, ok := it.keys[key]
	if !ok {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Value for key '%s' is not a string", key), n, it.keyLoc(key))
		return "", false
	}
	return n.Value, true
}

// required decodes a required scalar key.
func (it *item) required(key string) (string, bool) {
	if !it.has(key) || isNull(it.keys[key]) {
		it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Item has no mapping for key '%s'", key), it.node)
		return "", false
	}
	return it.str(key)
}

func (it *item) boolean(key string, def bool) bool {
	n, ok := it.keys[key]
	if !ok {
		return def
	}
	b, ok := parseBool(n)
	if !ok {
		it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Value for key '%s' is not a boolean", key), n, it.keyLoc(key))
		return def
	}
	return b
}

// strSeq decodes a sequence of scalars.
func (it *item) strSeq(key string) ([]valNode, bool) {
	n := it.keys[key]
	if n == nil || n.Kind != yaml.SequenceNode {
		it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Value for key '%s' is not a sequence", key), n, it.keyLoc(key))
		return nil, false
	}
	out := make([]valNode, 0, len(n.Content))
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode {
			it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Value for key '%s' is not a sequence of strings", key), e, it.keyLoc(key))
			return nil, false
		}
		out = append(out, valNode{s: e.Value, p: it.l.nodePos(it.fi, e)})
	}
	return out, true
}

// readItem reads one top-level item and applies it to the collection.
func (l *loader) readItem(fi int, n *yaml.Node, content []diag.Location) {
	it := &item{l: l, fi: fi, node: n, keys: map[string]*yaml.Node{}, kpos: map[string]*yaml.Node{}}
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if _, dup := it.keys[k.Value]; !dup {
			order = append(order, k.Value)
		}
		it.keys[k.Value], it.kpos[k.Value] = v, k
	}
	for _, k := range itemKinds {
		if it.has(k) {
			it.kind = k
			break
		}
	}
	if it.kind == "" {
		it.ctx = content
		it.warn(diag.WarnUnknownItem, "Unknown top level item", n)
		return
	}
	if v := it.keys[it.kind]; v.Kind == yaml.ScalarNode && it.kind != "required_engine_version" {
		it.name = v.Value
	}
	it.ctx = append(append([]diag.Location(nil), content...), l.location(fi, it.kind, it.name, n))
	for _, k := range order {
		if !slices.Contains(expectedKeys[it.kind], k) {
			it.warn(diag.WarnUnknownKey, fmt.Sprintf("Unknown key '%s'. The key will be ignored.", k), it.kpos[k])
		}
	}
	switch it.kind {
	case "required_engine_version":
		l.readEngineVersion(it)
	case "required_plugin_versions":
		l.readPluginVersions(it)
	case "list":
		l.readList(it)
	case "macro":
		l.readMacro(it)
	case "rule":
		l.readRule(it)
	}
}

func (l *loader) readEngineVersion(it *item) {
	n := it.keys["required_engine_version"]
	s, ok := it.str("required_engine_version")
	if !ok {
		return
	}
	v, ok := parseEngineVersion(s)
	if !ok {
		it.fail(diag.ErrValidate, fmt.Sprintf(`Unable to parse engine version '%s'. Expected "x.y.z"`, s), n)
		return
	}
	engine, _ := parseSemver(EngineVersion)
	if !engine.compatibleWith(v) {
		it.fail(diag.ErrValidate, fmt.Sprintf("Rules require engine version %s, but engine version is %s", v, EngineVersion), n)
		return
	}
	if l.engineVersion.less(v) {
		l.engineVersion = v
	}
}

func (l *loader) readPluginVersions(it *item) {
	n := it.keys["required_plugin_versions"]
	if n.Kind != yaml.SequenceNode {
		it.fail(diag.ErrYAMLValidate, "Value for key 'required_plugin_versions' is not a sequence", n)
		return
	}
	for _, e := range n.Content {
		req, ok := l.readPluginReq(it, e, true)
		if !ok {
			return
		}
		names := map[string]bool{}
		satisfied := false
		var problem string
		for _, r := range append([]PluginRequirement{req}, req.Alternatives...) {
			if names[r.Name] {
				it.fail(diag.ErrValidate, fmt.Sprintf("Plugin '%s' is named more than once among the alternatives", r.Name), e)
				return
			}
			names[r.Name] = true
			have, ok := nativePlugins[r.Name]
			if !ok {
				if problem == "" {
					problem = fmt.Sprintf("Plugin '%s' is required but not loaded", r.Name)
				}
				continue
			}
			rv, _ := parseSemver(r.Version)
			if have.compatibleWith(rv) {
				satisfied = true
				break
			}
			if problem == "" {
				problem = fmt.Sprintf("Plugin '%s' version '%s' is not compatible with required plugin version '%s'", r.Name, pluginVersionString(have), r.Version)
			}
		}
		if !satisfied {
			it.fail(diag.ErrValidate, problem, e)
			return
		}
		l.plugins = append(l.plugins, req)
	}
}

func (l *loader) readPluginReq(it *item, e *yaml.Node, top bool) (PluginRequirement, bool) {
	var r PluginRequirement
	if e.Kind != yaml.MappingNode {
		it.fail(diag.ErrYAMLValidate, "Plugin requirement is not a map", e)
		return r, false
	}
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(e.Content); i += 2 {
		m[e.Content[i].Value] = e.Content[i+1]
	}
	for _, k := range []string{"name", "version"} {
		v, ok := m[k]
		if !ok || v.Kind != yaml.ScalarNode || v.Value == "" {
			it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Item has no mapping for key '%s'", k), e)
			return r, false
		}
	}
	r.Name, r.Version = m["name"].Value, m["version"].Value
	if _, ok := parseSemver(r.Version); !ok {
		it.fail(diag.ErrValidate, fmt.Sprintf("Invalid required version '%s' for plugin '%s'", r.Version, r.Name), m["version"])
		return r, false
	}
	if alt, ok := m["alternatives"]; ok && top {
		if alt.Kind != yaml.SequenceNode {
			it.fail(diag.ErrYAMLValidate, "Value for key 'alternatives' is not a sequence", alt)
			return r, false
		}
		for _, a := range alt.Content {
			ar, ok := l.readPluginReq(it, a, false)
			if !ok {
				return r, false
			}
			r.Alternatives = append(r.Alternatives, ar)
		}
	}
	return r, true
}

// overrides decodes the `override` and `append` keys. It returns the
// override operation per key ("append"/"replace"), whether legacy
// `append: true` was used, and false when an error was reported.
func (it *item) overrides() (map[string]string, bool, bool) {
	legacy := it.boolean("append", false)
	if it.bad {
		return nil, false, false
	}
	ovNode, hasOv := it.keys["override"]
	if legacy && hasOv {
		it.fail(diag.ErrYAMLValidate, "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.", it.kpos["append"])
		return nil, false, false
	}
	if legacy {
		it.warn(diag.WarnDeprecatedItem, "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.", it.kpos["append"])
	}
	ops := map[string]string{}
	if hasOv {
		if ovNode.Kind != yaml.MappingNode {
			it.fail(diag.ErrYAMLValidate, "Value for key 'override' is not a map", ovNode, it.keyLoc("override"))
			return nil, false, false
		}
		for i := 0; i+1 < len(ovNode.Content); i += 2 {
			k, v := ovNode.Content[i], ovNode.Content[i+1]
			op := v.Value
			if v.Kind != yaml.ScalarNode || (op != "append" && op != "replace") {
				it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Invalid override operation for key '%s': '%s'. Allowed values are: append, replace", k.Value, op), v, it.keyLoc("override"))
				return nil, false, false
			}
			if op == "append" && !slices.Contains(appendable[it.kind], k.Value) {
				it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Key '%s' cannot be appended to, use 'replace' instead", k.Value), k, it.keyLoc("override"))
				return nil, false, false
			}
			if op == "replace" && !slices.Contains(replaceable[it.kind], k.Value) {
				it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Key '%s' cannot be replaced", k.Value), k, it.keyLoc("override"))
				return nil, false, false
			}
			if !it.has(k.Value) {
				article := "An append"
				if op == "replace" {
					article = "A replace"
				}
				it.fail(diag.ErrYAMLValidate, fmt.Sprintf("%s override for '%s' was specified but '%s' is not defined", article, k.Value, k.Value), k, it.keyLoc("override"))
				return nil, false, false
			}
			ops[k.Value] = op
		}
		if len(ops) == 0 {
			it.fail(diag.ErrYAMLValidate, "The rule must have at least one field that can be replaced", ovNode, it.keyLoc("override"))
			return nil, false, false
		}
		for _, k := range expectedKeys[it.kind] {
			overridable := slices.Contains(appendable[it.kind], k) || slices.Contains(replaceable[it.kind], k)
			if overridable && it.has(k) && ops[k] == "" {
				it.fail(diag.ErrYAMLValidate, fmt.Sprintf("Unexpected key '%s': no corresponding entry under 'override' is defined.", k), it.kpos[k])
				return nil, false, false
			}
		}
	}
	return ops, legacy, true
}

func (l *loader) readList(it *item) {
	if _, ok := it.required("list"); !ok {
		return
	}
	ops, legacy, ok := it.overrides()
	if !ok {
		return
	}
	if !listNameRe.MatchString(it.name) {
		it.warn(diag.WarnInvalidListName, `List has an invalid name. List names should match a regular expression: [^()"'[:space:]=,]+`, it.keys["list"])
	}
	if !it.has("items") || isNull(it.keys["items"]) {
		it.fail(diag.ErrYAMLValidate, "Item has no mapping for key 'items'", it.node)
		return
	}
	vals, ok := it.strSeq("items")
	if !ok {
		return
	}
	items := make([]string, len(vals))
	for i, v := range vals {
		items[i] = v.s
	}
	l.seq++
	prev := l.lists[it.name]
	if legacy || ops["items"] == "append" {
		if prev == nil {
			it.fail(diag.ErrValidate, "List uses 'append' or 'override.items: append' but no list by that name already exists", it.node)
			return
		}
		prev.items = append(prev.items, items...)
		prev.visibility = l.seq
		return
	}
	info := &listInfo{name: it.name, items: items, ctx: it.ctx, pos: l.nodePos(it.fi, it.node), index: l.seq, visibility: l.seq}
	if prev != nil {
		info.index = prev.index
		*prev = *info
		return
	}
	l.lists[it.name] = info
	l.listOrder = append(l.listOrder, info)
}

func (l *loader) readMacro(it *item) {
	if _, ok := it.required("macro"); !ok {
		return
	}
	ops, legacy, ok := it.overrides()
	if !ok {
		return
	}
	if !macroNameRe.MatchString(it.name) {
		it.warn(diag.WarnInvalidMacroName, "Macro has an invalid name. Macro names should match a regular expression: [a-zA-Z]+[a-zA-Z0-9_]*", it.keys["macro"])
	}
	if _, ok := it.required("condition"); !ok {
		return
	}
	cond := scalarText(l.files[it.fi], it.fi, it.keys["condition"])
	ctx := append(append([]diag.Location(nil), it.ctx...), it.keyLoc("condition"))
	l.seq++
	prev := l.macros[it.name]
	if legacy || ops["condition"] == "append" {
		if prev == nil {
			it.fail(diag.ErrValidate, "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists", it.node)
			return
		}
		prev.cond.add(" ", noPos)
		prev.cond.addText(cond)
		prev.visibility = l.seq
		return
	}
	info := &macroInfo{name: it.name, cond: cond, ctx: ctx, pos: l.nodePos(it.fi, it.node), index: l.seq, visibility: l.seq}
	if prev != nil {
		info.index = prev.index
		*prev = *info
		return
	}
	l.macros[it.name] = info
	l.macroOrder = append(l.macroOrder, info)
}

var knownSources = map[string]bool{"syscall": true, "k8s_audit": true}

func (l *loader) readRule(it *item) {
	if _, ok := it.required("rule"); !ok {
		return
	}
	ops, legacy, ok := it.overrides()
	if !ok {
		return
	}
	prev := l.rules[it.name]
	source, hasSource := it.str("source")
	if it.bad {
		return
	}
	if hasSource && prev != nil && (legacy || len(ops) > 0) && source != prev.source {
		it.fail(diag.ErrValidate, "Rule has been re-defined with a different source", it.keys["source"], it.keyLoc("source"))
		return
	}
	switch {
	case legacy:
		l.appendRuleLegacy(it, prev)
	case len(ops) > 0:
		l.overrideRule(it, prev, ops)
	case !it.has("condition") && !it.has("output") && !it.has("desc") && !it.has("priority"):
		l.enableOnly(it, prev)
	default:
		l.defineRule(it, prev, source, hasSource)
	}
}

func (l *loader) enableOnly(it *item, prev *ruleInfo) {
	if !it.has("enabled") {
		it.fail(diag.ErrYAMLValidate, "Item has no mapping for key 'enabled'", it.node)
		return
	}
	enabled := it.boolean("enabled", true)
	if it.bad {
		return
	}
	if prev == nil {
		it.fail(diag.ErrValidate, "Rule has 'enabled' key but no rule by that name already exists", it.node)
		return
	}
	it.warn(diag.WarnDeprecatedItem, "The standalone 'enabled' key is deprecated. Add an 'enabled: replace' entry under 'override' instead.", it.kpos["enabled"])
	prev.enabled = enabled
}

func (l *loader) defineRule(it *item, prev *ruleInfo, source string, hasSource bool) {
	r := &ruleInfo{name: it.name, ctx: it.ctx, pos: l.nodePos(it.fi, it.node), source: "syscall", enabled: true, warnEvttypes: true}
	if hasSource {
		r.source = source
	}
	for _, k := range []string{"condition", "output", "desc", "priority"} {
		if _, ok := it.required(k); !ok {
			return
		}
	}
	if !l.decodeRuleKeys(it, r, nil) {
		return
	}
	if prev != nil {
		*prev = *r
		return
	}
	l.rules[it.name] = r
	l.ruleOrder = append(l.ruleOrder, r)
}

// decodeRuleKeys decodes every rule key present in the item into r. With
// ops == nil every key is taken; otherwise only keys named in ops, and
// "append" keys are appended to r's current value.
func (l *loader) decodeRuleKeys(it *item, r *ruleInfo, ops map[string]string) bool {
	return l.decodeRuleText(it, r, ops) && l.decodeRuleAttrs(it, r, ops) && l.decodeRuleExceptions(it, r, ops)
}

// takeKey reports whether the item has key k and, for an override (ops
// not nil), whether it overrides k.
func takeKey(it *item, ops map[string]string, k string) bool {
	return it.has(k) && (ops == nil || ops[k] != "")
}

// appendKey reports whether an override appends to key k.
func appendKey(ops map[string]string, k string) bool { return ops != nil && ops[k] == "append" }

// decodeRuleText decodes condition, output and desc.
func (l *loader) decodeRuleText(it *item, r *ruleInfo, ops map[string]string) bool {
	take := func(k string) bool { return takeKey(it, ops, k) }
	appendOp := func(k string) bool { return appendKey(ops, k) }
	if take("condition") {
		if _, ok := it.str("condition"); !ok {
			return false
		}
		c := scalarText(l.files[it.fi], it.fi, it.keys["condition"])
		if appendOp("condition") {
			r.cond.add(" ", noPos)
			r.cond.addText(c)
		} else {
			r.cond = c
			r.condLoc = it.keyLoc("condition")
		}
		r.hasCond = true
	}
	if take("output") {
		if _, ok := it.str("output"); !ok {
			return false
		}
		o := scalarText(l.files[it.fi], it.fi, it.keys["output"]).trimSpace()
		if appendOp("output") {
			r.output.add(" ", noPos)
			r.output.addText(o)
		} else {
			r.output = o
			r.outLoc = it.keyLoc("output")
		}
	}
	if take("desc") {
		d, ok := it.str("desc")
		if !ok {
			return false
		}
		if appendOp("desc") {
			r.desc += " " + d
		} else {
			r.desc = d
		}
	}
	return true
}

// decodeRuleAttrs decodes priority, tags, the boolean keys and
// capture_duration.
func (l *loader) decodeRuleAttrs(it *item, r *ruleInfo, ops map[string]string) bool {
	take := func(k string) bool { return takeKey(it, ops, k) }
	appendOp := func(k string) bool { return appendKey(ops, k) }
	if take("priority") {
		s, ok := it.str("priority")
		if !ok {
			return false
		}
		p, err := ParsePriority(s)
		if err != nil {
			it.fail(diag.ErrYAMLValidate, err.Error(), it.keys["priority"], it.keyLoc("priority"))
			return false
		}
		r.priority = p
	}
	if take("tags") {
		vals, ok := it.strSeq("tags")
		if !ok {
			return false
		}
		if !appendOp("tags") {
			r.tags = nil
		}
		for _, v := range vals {
			if !slices.Contains(r.tags, v.s) {
				r.tags = append(r.tags, v.s)
			}
		}
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"enabled", &r.enabled}, {"warn_evttypes", &r.warnEvttypes}, {"skip-if-unknown-filter", &r.skipUnknown}, {"capture", &r.capture}} {
		if take(b.key) {
			*b.dst = it.boolean(b.key, *b.dst)
			if it.bad {
				return false
			}
		}
	}
	if take("capture_duration") {
		s, ok := it.str("capture_duration")
		if !ok {
			return false
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			it.fail(diag.ErrYAMLValidate, "Value for key 'capture_duration' is not an integer", it.keys["capture_duration"], it.keyLoc("capture_duration"))
			return false
		}
		r.captureDuration = n
	}
	return true
}

// decodeRuleExceptions decodes the exceptions, replacing or (for an
// append override) extending the rule's.
func (l *loader) decodeRuleExceptions(it *item, r *ruleInfo, ops map[string]string) bool {
	if !takeKey(it, ops, "exceptions") {
		return true
	}
	exs, ok := l.readExceptions(it)
	if !ok {
		return false
	}
	if appendKey(ops, "exceptions") {
		return l.appendExceptions(it, r, exs)
	}
	r.exceptions = nil
	seen := map[string]bool{}
	for _, ex := range exs {
		if !l.validateException(it, r, ex) {
			return false
		}
		if seen[ex.name] {
			l.report(diag.WarnExceptionNotUnique, true, fmt.Sprintf("Multiple definitions of exception '%s' in the same rule", ex.name), ex.pos, append(append([]diag.Location(nil), it.ctx...), it.keyLoc("exceptions")))
		}
		seen[ex.name] = true
		r.exceptions = append(r.exceptions, ex)
	}
	return true
}

func (l *loader) appendRuleLegacy(it *item, prev *ruleInfo) {
	if !it.has("condition") && !it.has("exceptions") {
		it.fail(diag.ErrYAMLValidate, "Appended rule must have exceptions or condition property", it.node)
		return
	}
	if prev == nil {
		it.fail(diag.ErrValidate, "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists", it.node)
		return
	}
	ops := map[string]string{}
	for _, k := range []string{"condition", "exceptions"} {
		if it.has(k) {
			ops[k] = "append"
		}
	}
	tmp := *prev
	if l.decodeRuleKeys(it, &tmp, ops) {
		*prev = tmp
	}
}

func (l *loader) overrideRule(it *item, prev *ruleInfo, ops map[string]string) {
	if prev == nil {
		hasAppend := false
		for _, op := range ops {
			hasAppend = hasAppend || op == "append"
		}
		if hasAppend {
			it.fail(diag.ErrValidate, "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists", it.node)
		} else {
			it.fail(diag.ErrValidate, "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists", it.node)
		}
		return
	}
	tmp := *prev
	tmp.tags = slices.Clone(prev.tags)
	tmp.exceptions = slices.Clone(prev.exceptions)
	if l.decodeRuleKeys(it, &tmp, ops) {
		*prev = tmp
	}
}
