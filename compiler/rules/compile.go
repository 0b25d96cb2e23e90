package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// compiled holds the per-rule results of compilation.
type compiled struct {
	cond    mtext
	expr    syntax.Expr
	checked *check.Condition
	tmpl    *check.Template
	macros  []string
	lists   []string
	skipped bool // unknown source, or unknown filter with skip-if-unknown-filter
}

func (l *loader) compile() {
	l.compileLists()
	l.startParses()
	l.compileMacros()
	l.results = make(map[*ruleInfo]*compiled, len(l.ruleOrder))
	for i, r := range l.ruleOrder {
		l.results[r] = l.compileRule(r, l.ruleJobs[i])
	}
	l.reportUnused()
}

// compileLists flattens, once, items that name an earlier list.
func (l *loader) compileLists() {
	for _, li := range l.listOrder {
		li.compiled = li.compiled[:0]
		for _, it := range li.items {
			if ref := l.lists[it]; ref != nil && ref.index < li.visibility && ref != li {
				ref.used = true
				if !slices.Contains(li.refs, ref.name) {
					li.refs = append(li.refs, ref.name)
				}
				li.compiled = append(li.compiled, ref.items...)
				continue
			}
			li.compiled = append(li.compiled, it)
		}
	}
}

// compileMacros substitutes lists into macro conditions, parses them, and
// expands the macros each references.
func (l *loader) compileMacros() {
	for i, m := range l.macroOrder {
		j := l.macroJobs[i]
		text, lists := l.substituteLists(j)
		m.lists = lists
		expr, ok := l.parse(j, text, m.cond.s, m.ctx)
		if !ok {
			m.failed = true
			continue
		}
		m.parsed = expr
	}
	for _, m := range l.macroOrder {
		if m.failed {
			continue
		}
		ex := expander{l: l, ctx: m.ctx, visibility: m.visibility, stack: []string{m.name}}
		e := ex.expand(m.parsed)
		if ex.failed {
			m.failed = true
			continue
		}
		m.expanded, m.macros = e, ex.used
	}
}

func (l *loader) reportUnused() {
	for _, m := range l.macroOrder {
		if !m.used {
			l.report(diag.WarnUnusedMacro, true, "Macro not referred to by any other rule/macro", m.pos, m.ctx[:len(m.ctx)-1])
		}
	}
	for _, li := range l.listOrder {
		if !li.used {
			l.report(diag.WarnUnusedList, true, "List not referred to by any other rule/macro", li.pos, li.ctx)
		}
	}
}

// substituteLists returns the condition of j with every list substituted
// (see [substitute]) and the names of the lists it uses, which it marks
// used. It runs in the order of the sequential loop.
func (l *loader) substituteLists(j *condJob) (mtext, []string) {
	if j.ready == nil {
		j.text, j.lists = l.substitute(j.src)
	} else {
		l.wait(j)
	}
	var used []string
	for _, li := range j.lists {
		li.used = true
		used = append(used, li.name)
	}
	return j.text, used
}

// substitute substitutes every list, in definition order, into text and
// returns the lists that occurred. It only reads the loader (the lists'
// names and compiled items), so that the parse workers may call it.
func (l *loader) substitute(text mtext) (mtext, []*listInfo) {
	var used []*listInfo
	for _, li := range l.listOrder {
		var ok bool
		text, ok = substituteList(text, li.name, li.compiled)
		if ok {
			used = append(used, li)
		}
	}
	return text, used
}

// parse parses the condition text of j, recording it as a new origin;
// label is the condition as written, which names it in Falco's item
// stack. A condition that a worker parsed already (with origin 0) gets
// the new origin in every position; one that failed is parsed again here,
// so that the diagnostic is made exactly as by a sequential parse.
func (l *loader) parse(j *condJob, text mtext, label string, ctx []diag.Location) (syntax.Expr, bool) {
	l.origins = append(l.origins, origin{text: text, ctx: ctx, label: label})
	id := len(l.origins)
	var e syntax.Expr
	var err error
	if j.ready != nil && j.err == nil {
		e = j.expr
		syntax.SetOrigin(e, id)
	} else {
		e, err = syntax.Parse(text.s, &syntax.Options{MaxDepth: condMaxDepth, Origin: id})
	}
	if err != nil {
		pos := syntax.Pos{Origin: id}
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			pos, msg = se.Pos, se.Msg
			pos.Origin = id
		}
		l.reportAt(diag.ErrCompileCondition, false, msg, pos, ctx)
		return nil, false
	}
	if e == nil {
		l.reportAt(diag.ErrCompileCondition, false, "filter input string is empty", syntax.Pos{Origin: id}, ctx)
		return nil, false
	}
	return e, true
}

// reportAt reports a diagnostic at a position of a parsed text, adding
// Falco's "condition expression" entry to the item stack.
func (l *loader) reportAt(code string, warning bool, msg string, pos syntax.Pos, ctx []diag.Location) {
	p := noPos
	snip := ""
	if pos.Origin >= 1 && pos.Origin <= len(l.origins) {
		o := l.origins[pos.Origin-1]
		p = o.text.at(pos.Offset)
		name := o.label
		if len(name) > 20 {
			name = name[:17] + "..."
		}
		name = strings.NewReplacer("\n", " ", "\r", " ").Replace(name)
		// Falco places the expression by adding the position within the
		// condition (1-based line and column, 0-based offset) to the
		// condition's own (0-based) location.
		loc := diag.Location{ItemType: "condition expression", File: `"` + name + `"`,
			Line: max(pos.Line, 1), Col: pos.Column, Offset: pos.Offset}
		if len(ctx) > 0 {
			parent := ctx[len(ctx)-1]
			loc.Line += parent.Line
			loc.Col += parent.Col
			loc.Offset += parent.Offset
		}
		ctx = append(append([]diag.Location(nil), ctx...), loc)
		snip = exprSnippet(o.text.s, loc.Offset)
	}
	l.reportSnippet(code, warning, msg, p, ctx, snip)
}

// exprSnippet is the snippet Falco prints for a condition expression: it
// looks the expression's offset in the file up in the condition text, so
// the caret lands on the condition's last character (or the offset's,
// when the condition is longer than it), under the line holding it.
func exprSnippet(cond string, off int) string {
	if cond == "" {
		return ""
	}
	off = min(max(off, 0), len(cond)-1)
	start := strings.LastIndexByte(cond[:off], '\n') + 1
	end := len(cond)
	if i := strings.IndexByte(cond[off:], '\n'); i >= 0 {
		end = off + i
	}
	if cond[off] == '\n' { // on a newline: the line before it
		end = off
	}
	return cond[start:end] + "\n" + strings.Repeat(" ", off-start) + "^\n"
}

// expander expands macro references in an AST.
type expander struct {
	l          *loader
	ctx        []diag.Location
	visibility int // macros with index < visibility are visible; <0: all
	stack      []string
	used       []string
	failed     bool
}

func (x *expander) expand(e syntax.Expr) syntax.Expr {
	if x.failed || e == nil {
		return e
	}
	switch n := e.(type) {
	case *syntax.And:
		c := &syntax.And{Pos: n.Pos, Terms: make([]syntax.Expr, len(n.Terms))}
		for i, t := range n.Terms {
			c.Terms[i] = x.expand(t)
		}
		return c
	case *syntax.Or:
		c := &syntax.Or{Pos: n.Pos, Terms: make([]syntax.Expr, len(n.Terms))}
		for i, t := range n.Terms {
			c.Terms[i] = x.expand(t)
		}
		return c
	case *syntax.Not:
		return &syntax.Not{Pos: n.Pos, X: x.expand(n.X)}
	case *syntax.Compare:
		c := *n
		return &c
	case *syntax.Ident:
		m := x.l.macros[n.Name]
		if m == nil || (x.visibility >= 0 && m.index >= x.visibility) {
			x.fail(fmt.Sprintf("Undefined macro '%s' used in filter.", n.Name), n.Pos)
			return e
		}
		if slices.Contains(x.stack, n.Name) {
			x.fail(fmt.Sprintf("reference loop in macro '%s'", n.Name), n.Pos)
			return e
		}
		m.used = true
		if !slices.Contains(x.used, n.Name) {
			x.used = append(x.used, n.Name)
		}
		if m.failed || m.parsed == nil {
			// The macro's own error was reported already.
			x.failed = true
			return e
		}
		saved := x.visibility
		x.visibility = m.visibility
		x.stack = append(x.stack, n.Name)
		r := x.expand(m.parsed)
		x.stack = x.stack[:len(x.stack)-1]
		x.visibility = saved
		return r
	}
	return e
}

func (x *expander) fail(msg string, pos syntax.Pos) {
	x.failed = true
	x.l.reportAt(diag.ErrValidate, false, msg, pos, x.ctx)
}

func (l *loader) compileRule(r *ruleInfo, j *condJob) *compiled {
	c := &compiled{}
	ruleCtx := append(append([]diag.Location(nil), r.ctx...), r.condLoc)
	if !knownSources[r.source] {
		l.report(diag.WarnUnknownSource, true, fmt.Sprintf("Unknown source %s, skipping", r.source), r.pos, r.ctx)
		c.skipped = true
		c.cond = withExceptions(r.cond, r.exceptions)
		return c
	}
	c.cond, c.lists = l.substituteLists(j)
	expr, ok := l.parse(j, c.cond, r.cond.s, ruleCtx)
	if !ok {
		return c
	}
	x := expander{l: l, ctx: ruleCtx, visibility: -1}
	expr = x.expand(expr)
	c.macros = x.used
	if x.failed {
		return c
	}
	c.expr = expr
	checked, issues := check.CheckCondition(expr, &check.Options{Source: r.source})
	if !l.reportIssues(r, c, issues, ruleCtx, diag.ErrCompileCondition, diag.WarnCompileCondition) {
		return c
	}
	c.checked = checked
	if checked != nil && r.warnEvttypes && checked.TooManyEventTypes {
		l.report(diag.WarnNoEvttype, true, "Rule matches too many evt.type values. This has a significant performance penalty.", r.pos, r.ctx)
	}
	outCtx := append(append([]diag.Location(nil), r.ctx...), r.outLoc)
	l.origins = append(l.origins, origin{text: r.output, ctx: outCtx, label: r.output.s})
	outID := len(l.origins)
	tmpl, issues := check.CheckOutput(r.output.s, &check.Options{Source: r.source, Origin: outID})
	if !l.reportOutputIssues(r, c, issues, outCtx) {
		return c
	}
	c.tmpl = tmpl
	return c
}

// reportIssues reports checker issues on a condition: every warning, and
// the first error. It returns false when the rule failed or was skipped.
func (l *loader) reportIssues(r *ruleInfo, c *compiled, issues []check.Issue, ctx []diag.Location, errCode, warnCode string) bool {
	ok := true
	for _, is := range issues {
		if is.Warning {
			code := is.Code
			if code == "" {
				code = warnCode
			}
			l.reportAt(code, true, is.Msg, is.Pos, ctx)
			continue
		}
		if !ok {
			continue
		}
		ok = false
		if is.Code == diag.WarnUnknownFilter && r.skipUnknown {
			l.reportAt(diag.WarnUnknownFilter, true, is.Msg, is.Pos, ctx)
			c.skipped = true
			continue
		}
		l.reportAt(errCode, false, is.Msg, is.Pos, ctx)
	}
	return ok
}

func (l *loader) reportOutputIssues(r *ruleInfo, c *compiled, issues []check.Issue, ctx []diag.Location) bool {
	ok := true
	for _, is := range issues {
		p := noPos
		if o := is.Pos.Origin; o >= 1 && o <= len(l.origins) {
			p = l.origins[o-1].text.at(is.Pos.Offset)
		}
		if is.Warning {
			code := is.Code
			if code == "" {
				code = diag.WarnCompileCondition
			}
			l.report(code, true, is.Msg, p, ctx)
			continue
		}
		if !ok {
			continue
		}
		ok = false
		if is.Code == diag.WarnUnknownFilter && r.skipUnknown {
			l.report(diag.WarnUnknownFilter, true, is.Msg, p, ctx)
			c.skipped = true
			continue
		}
		l.report(diag.ErrCompileOutput, false, is.Msg, p, ctx)
	}
	return ok
}

func (l *loader) position(p srcPos) Position {
	if !p.ok() || int(p.file) >= len(l.files) {
		return Position{}
	}
	f := l.files[p.file]
	line, col := f.lineCol(int(p.off))
	return Position{File: f.name, Line: line, Col: col}
}

// ruleset builds the result after a load without errors.
func (l *loader) ruleset() *Ruleset {
	rs := &Ruleset{RequiredEngineVersion: l.engineVersion.String(), RequiredPluginVersions: l.plugins}
	for _, li := range l.listOrder {
		rs.Lists = append(rs.Lists, &List{Name: li.name, Items: li.items, Compiled: li.compiled,
			Lists: li.refs, Used: li.used, Pos: l.position(li.pos)})
	}
	for _, m := range l.macroOrder {
		rs.Macros = append(rs.Macros, &Macro{Name: m.name, Condition: m.cond.s, Expr: m.expanded,
			Macros: m.macros, Lists: m.lists, Used: m.used, Pos: l.position(m.pos)})
	}
	for _, r := range l.ruleOrder {
		c := l.results[r]
		if c == nil || c.skipped {
			continue
		}
		rule := &Rule{Name: r.name, Desc: r.desc, Output: r.output.s, Source: r.source, Priority: r.priority,
			Tags: r.tags, Enabled: r.enabled, RawCondition: r.cond.s, Condition: c.cond.s, Expr: c.expr,
			Checked: c.checked, OutputTemplate: c.tmpl, WarnEvttypes: r.warnEvttypes,
			SkipIfUnknownFilter: r.skipUnknown, Capture: r.capture, CaptureDuration: r.captureDuration,
			Macros: c.macros, Lists: c.lists, Pos: l.position(r.pos)}
		if rule.Tags == nil {
			rule.Tags = []string{}
		}
		for _, ex := range r.exceptions {
			rule.Exceptions = append(rule.Exceptions, exportException(ex))
		}
		rs.Rules = append(rs.Rules, rule)
	}
	return rs
}

func exportException(ex *exceptionInfo) Exception {
	out := Exception{Name: ex.name, FieldsIsList: ex.fieldsList}
	for _, f := range ex.fields {
		out.Fields = append(out.Fields, f.s)
	}
	for _, c := range ex.comps {
		out.Comps = append(out.Comps, c.s)
	}
	for _, t := range ex.values {
		var tuple []ExceptionValue
		for _, v := range t {
			ev := ExceptionValue{Item: v.s, IsList: v.isList}
			for _, x := range v.items {
				ev.Items = append(ev.Items, x.s)
			}
			tuple = append(tuple, ev)
		}
		out.Values = append(out.Values, tuple)
	}
	return out
}
