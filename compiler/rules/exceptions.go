package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/diag"
)

// Operators accepted in exception comps, and those that take a list.
var (
	exceptionOps = map[string]bool{
		"=": true, "==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
		"contains": true, "icontains": true, "bcontains": true, "startswith": true,
		"bstartswith": true, "endswith": true, "glob": true, "iglob": true, "regex": true,
		"in": true, "intersects": true, "pmatch": true, "exists": true,
	}
	listOps     = map[string]bool{"in": true, "intersects": true, "pmatch": true}
	modifierOps = map[string]bool{
		"=": true, "==": true, "!=": true, "contains": true, "icontains": true, "bcontains": true,
		"startswith": true, "bstartswith": true, "endswith": true, "glob": true, "iglob": true, "regex": true,
	}
	modifiers = map[string]bool{"oneof": true, "anyof": true, "allof": true}
)

// isModifierOp reports whether comp is "<op> <modifier>", e.g. "startswith oneof".
func isModifierOp(comp string) bool {
	f := strings.Fields(comp)
	return len(f) == 2 && modifierOps[f[0]] && modifiers[f[1]]
}

func validComp(comp string) bool { return exceptionOps[comp] || isModifierOp(comp) }

// isListComp reports whether values for comp are written as a list.
func isListComp(comp string) bool { return listOps[comp] || isModifierOp(comp) }

// validField reports whether name (optionally with a [arg]) is a field of source.
func validField(name, source string) bool {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	f, _, _, ok := catalog.Lookup(name)
	return ok && (f.Source == "" || f.Source == source)
}

// readExceptions decodes the `exceptions` key (structure only).
func (l *loader) readExceptions(it *item) ([]*exceptionInfo, bool) {
	n := it.keys["exceptions"]
	loc := it.keyLoc("exceptions")
	if n.Kind != yaml.SequenceNode {
		it.fail(diag.ErrYAMLValidate, "Value for key 'exceptions' is not a sequence", n, loc)
		return nil, false
	}
	var out []*exceptionInfo
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			it.fail(diag.ErrYAMLValidate, "Rule exception item must be a map", e, loc)
			return nil, false
		}
		m := map[string]*yaml.Node{}
		for i := 0; i+1 < len(e.Content); i += 2 {
			m[e.Content[i].Value] = e.Content[i+1]
		}
		ex := &exceptionInfo{pos: l.nodePos(it.fi, e)}
		name, ok := m["name"]
		if !ok || name.Kind != yaml.ScalarNode || name.Value == "" {
			it.fail(diag.ErrYAMLValidate, "Item has no mapping for key 'name'", e, loc)
			return nil, false
		}
		ex.name = name.Value
		eloc := l.location(it.fi, "exception", ex.name, e)
		if f, ok := m["fields"]; ok && !isNull(f) {
			ex.hasFields = true
			ex.fieldsList, ex.fields, ok = l.scalarOrSeq(it, f)
			if !ok {
				it.fail(diag.ErrYAMLValidate, "Rule exception item must have fields property with a list of fields", f, loc, eloc)
				return nil, false
			}
		}
		if c, ok := m["comps"]; ok && !isNull(c) {
			ex.hasComps = true
			ex.compsList, ex.comps, ok = l.scalarOrSeq(it, c)
			if !ok {
				it.fail(diag.ErrYAMLValidate, "Rule exception comps must be a string or a list of strings", c, loc, eloc)
				return nil, false
			}
		}
		if v, ok := m["values"]; ok && !isNull(v) {
			ex.hasValues = true
			if v.Kind != yaml.SequenceNode {
				it.fail(diag.ErrYAMLValidate, "Rule exception values must be a sequence", v, loc, eloc)
				return nil, false
			}
			for _, t := range v.Content {
				tuple, ok := l.readTuple(it, t)
				if !ok {
					it.fail(diag.ErrYAMLValidate, "Expected values array to contain a list of strings", t, loc, eloc)
					return nil, false
				}
				ex.values = append(ex.values, tuple)
			}
		}
		out = append(out, ex)
	}
	return out, true
}

// scalarOrSeq decodes a scalar or a sequence of scalars.
func (l *loader) scalarOrSeq(it *item, n *yaml.Node) (isList bool, vals []valNode, ok bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return false, []valNode{{s: n.Value, p: l.nodePos(it.fi, n)}}, true
	case yaml.SequenceNode:
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return true, nil, false
			}
			vals = append(vals, valNode{s: e.Value, p: l.nodePos(it.fi, e)})
		}
		return true, vals, true
	}
	return false, nil, false
}

// readTuple decodes one element of `values`: a scalar (scalar form) or a
// sequence whose elements are scalars or sequences of scalars.
func (l *loader) readTuple(it *item, n *yaml.Node) ([]exValue, bool) {
	if n.Kind == yaml.ScalarNode {
		return []exValue{{valNode: valNode{s: n.Value, p: l.nodePos(it.fi, n)}}}, true
	}
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]exValue, 0, len(n.Content))
	for _, e := range n.Content {
		v := exValue{valNode: valNode{s: e.Value, p: l.nodePos(it.fi, e)}}
		switch e.Kind {
		case yaml.ScalarNode:
		case yaml.SequenceNode:
			v.isList, v.s = true, ""
			for _, x := range e.Content {
				if x.Kind != yaml.ScalarNode {
					return nil, false
				}
				v.items = append(v.items, valNode{s: x.Value, p: l.nodePos(it.fi, x)})
			}
		default:
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// validateException checks a new exception and fills in default comps.
func (l *loader) validateException(it *item, r *ruleInfo, ex *exceptionInfo) bool {
	loc := []diag.Location{it.keyLoc("exceptions"), {ItemType: "exception", ItemName: ex.name, File: it.ctx[0].File}}
	fail := func(msg string, p srcPos) bool {
		it.bad = true
		l.report(diag.ErrValidate, false, msg, p, append(append([]diag.Location(nil), it.ctx...), loc...))
		return false
	}
	if !ex.hasFields {
		return fail("Rule exception item must have fields property with a list of fields", ex.pos)
	}
	checkField := func(f valNode) bool {
		if knownSources[r.source] && !validField(f.s, r.source) {
			return fail(fmt.Sprintf("'%s' is not a supported filter field", f.s), f.p)
		}
		return true
	}
	if ex.fieldsList {
		if !ex.hasComps {
			ex.compsList = true
			for range ex.fields {
				ex.comps = append(ex.comps, valNode{s: "=", p: ex.pos})
			}
		}
		if !ex.compsList || len(ex.comps) != len(ex.fields) {
			return fail("Fields and comps lists must have equal length", ex.pos)
		}
		for _, c := range ex.comps {
			if !validComp(c.s) {
				return fail(fmt.Sprintf("'%s' is not a supported comparison operator", c.s), c.p)
			}
		}
		for _, f := range ex.fields {
			if !checkField(f) {
				return false
			}
		}
		return l.checkValues(ex, fail)
	}
	if !ex.hasComps {
		ex.comps = []valNode{{s: "in", p: ex.pos}}
	}
	if ex.compsList {
		return fail("Fields and comps must both be strings", ex.pos)
	}
	if c := ex.comps[0]; !listOps[c.s] && !isModifierOp(c.s) {
		return fail("When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator", c.p)
	}
	if !checkField(ex.fields[0]) {
		return false
	}
	return l.checkValues(ex, fail)
}

// checkValues checks the shape of value tuples against the fields form.
func (l *loader) checkValues(ex *exceptionInfo, fail func(string, srcPos) bool) bool {
	for _, t := range ex.values {
		if ex.fieldsList {
			if len(t) == 1 && !t[0].isList && len(ex.fields) != 1 {
				return fail("Fields and values lists must have equal length", t[0].p)
			}
			if len(t) != len(ex.fields) {
				p := ex.pos
				if len(t) > 0 {
					p = t[0].p
				}
				return fail("Fields and values lists must have equal length", p)
			}
			continue
		}
		if len(t) != 1 || t[0].isList {
			p := ex.pos
			if len(t) > 0 {
				p = t[0].p
			}
			return fail("Expected values array to contain a list of strings", p)
		}
	}
	return true
}

// appendExceptions merges appended exceptions into r: values of existing
// exceptions are appended, new exceptions are added.
func (l *loader) appendExceptions(it *item, r *ruleInfo, exs []*exceptionInfo) bool {
	for _, ex := range exs {
		var prev *exceptionInfo
		idx := -1
		for i, p := range r.exceptions {
			if p.name == ex.name {
				prev, idx = p, i
			}
		}
		if prev == nil {
			if !l.validateException(it, r, ex) {
				return false
			}
			r.exceptions = append(r.exceptions, ex)
			continue
		}
		if ex.hasFields || ex.hasComps {
			it.bad = true
			l.report(diag.ErrValidate, false, "Can not append exception fields/comps to existing exception, only values", ex.pos, append(append([]diag.Location(nil), it.ctx...), it.keyLoc("exceptions")))
			return false
		}
		if len(ex.values) == 0 {
			l.report(diag.WarnAppendNoValues, true, "Overriding/appending exception with no values", ex.pos, append(append([]diag.Location(nil), it.ctx...), it.keyLoc("exceptions")))
			continue
		}
		merged := *prev
		merged.values = append(append([][]exValue(nil), prev.values...), ex.values...)
		if !l.checkValues(&merged, func(msg string, p srcPos) bool {
			it.bad = true
			l.report(diag.ErrValidate, false, msg, p, append(append([]diag.Location(nil), it.ctx...), it.keyLoc("exceptions")))
			return false
		}) {
			return false
		}
		r.exceptions = append([]*exceptionInfo(nil), r.exceptions...)
		r.exceptions[idx] = &merged
	}
	return true
}

// withExceptions returns "(" + cond + ")" followed by " and not <x>" for
// every exception that has values, written exactly as Falco rewrites them.
// Pasted text takes the position of the YAML value it comes from.
func withExceptions(cond mtext, exs []*exceptionInfo) mtext {
	if len(exs) == 0 { // Falco wraps the condition only for exceptions
		return cond
	}
	var out mtext
	out.pos = make([]srcPos, 0, len(cond.s)+2)
	out.add("(", noPos)
	out.addText(cond)
	out.add(")", noPos)
	for _, ex := range exs {
		var ic mtext
		if !ex.fieldsList {
			if len(ex.values) == 0 {
				continue
			}
			ic.add("("+ex.fields[0].s+" "+ex.comps[0].s+" (", ex.fields[0].p)
			for i, t := range ex.values {
				if i > 0 {
					ic.add(", ", noPos)
				}
				ic.add(quoteItem(t[0].s), t[0].p)
			}
			ic.add("))", noPos)
		} else {
			if len(ex.values) == 0 {
				continue
			}
			ic.add("(", noPos)
			for i, t := range ex.values {
				if i > 0 {
					ic.add(" or ", noPos)
				}
				ic.add("(", noPos)
				for k, f := range ex.fields {
					if k > 0 {
						ic.add(" and ", noPos)
					}
					ic.add(" "+f.s+" "+ex.comps[k].s+" ", f.p)
					v := t[k]
					switch {
					case v.isList:
						ic.add("(", v.p)
						for j, x := range v.items {
							if j > 0 {
								ic.add(", ", noPos)
							}
							ic.add(quoteItem(x.s), x.p)
						}
						ic.add(")", noPos)
					case isListComp(ex.comps[k].s):
						ic.add(parenItem(v.s), v.p)
					default:
						ic.add(quoteItem(v.s), v.p)
					}
				}
				ic.add(")", noPos)
			}
			ic.add(")", noPos)
		}
		out.add(" and not ", noPos)
		out.addText(ic)
	}
	return out
}
