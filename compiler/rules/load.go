package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/syntax"
)

// ReadPaths reads rules files: each path is a file, or a directory whose
// *.yaml and *.yml files (not recursing) are read in sorted order.
func ReadPaths(paths []string) ([]Source, error) {
	var out []Source
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		names := []string{p}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("read rules directory: %w", err)
			}
			names = names[:0]
			for _, e := range ents {
				ext := filepath.Ext(e.Name())
				if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
					names = append(names, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(names)
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("read rules: %w", err)
			}
			out = append(out, Source{Name: n, Data: data})
		}
	}
	return out, nil
}

// Load reads rules files in order into one namespace, expands lists,
// macros and exceptions, applies appends and overrides, and checks every
// rule's condition and output. It returns the ruleset and the warnings, or
// nil and every error it could find (one per item: each item stops at its
// first error) together with the warnings.
//
// Load never panics, whatever the input.
func Load(files []Source, opts *Options) (rs *Ruleset, ds []diag.Diagnostic) {
	l := newLoader()
	defer func() {
		if r := recover(); r != nil {
			rs = nil
			ds = append(l.sorted(), diag.Diagnostic{Code: diag.ErrValidate,
				Message: fmt.Sprintf("internal error while loading rules: %v", r)})
		}
	}()
	for _, f := range files {
		l.readFile(f)
	}
	l.compile()
	ds = l.sorted()
	if diag.HasErrors(ds) {
		return nil, ds
	}
	rs = l.ruleset()
	applySelection(rs, opts)
	return rs, ds
}

type listInfo struct {
	name              string
	items             []string
	ctx               []diag.Location
	pos               srcPos
	index, visibility int
	used              bool
	compiled          []string
	refs              []string
}

type macroInfo struct {
	name              string
	cond              mtext
	ctx               []diag.Location // item stack down to "macro condition"
	pos               srcPos
	index, visibility int
	used              bool

	parsed   syntax.Expr
	expanded syntax.Expr
	failed   bool
	macros   []string
	lists    []string
}

type ruleInfo struct {
	name            string
	cond            mtext
	hasCond         bool
	output          mtext
	desc            string
	priority        Priority
	source          string
	enabled         bool
	tags            []string
	exceptions      []*exceptionInfo
	warnEvttypes    bool
	skipUnknown     bool
	capture         bool
	captureDuration int

	ctx     []diag.Location // rules content, rule
	condLoc diag.Location
	outLoc  diag.Location
	pos     srcPos
}

type valNode struct {
	s string
	p srcPos
}

type exValue struct {
	valNode
	isList bool
	items  []valNode
}

type exceptionInfo struct {
	name       string
	pos        srcPos
	hasFields  bool
	fieldsList bool
	fields     []valNode
	hasComps   bool
	compsList  bool
	comps      []valNode
	hasValues  bool
	values     [][]exValue
}

type origin struct {
	text  mtext
	ctx   []diag.Location
	label string
}

type sortedDiag struct {
	d        diag.Diagnostic
	file     int
	off      int
	sequence int
}

type loader struct {
	files   []*fileInfo
	diags   []sortedDiag
	seen    map[diagKey]bool
	seq     int
	origins []origin // index = syntax.Pos.Origin - 1

	lists      map[string]*listInfo
	listOrder  []*listInfo
	macros     map[string]*macroInfo
	macroOrder []*macroInfo
	rules      map[string]*ruleInfo
	ruleOrder  []*ruleInfo

	engineVersion semver
	plugins       []PluginRequirement
	results       map[*ruleInfo]*compiled

	// The conditions to substitute and parse, by index in macroOrder and
	// ruleOrder (nil for a rule of an unknown source); see startParses.
	macroJobs []*condJob
	ruleJobs  []*condJob
}

func newLoader() *loader {
	return &loader{
		lists:  map[string]*listInfo{},
		macros: map[string]*macroInfo{},
		rules:  map[string]*ruleInfo{},
		seen:   map[diagKey]bool{},
	}
}

// report records a diagnostic at p with the item stack ctx.
func (l *loader) report(code string, warning bool, msg string, p srcPos, ctx []diag.Location) {
	l.reportSnippet(code, warning, msg, p, ctx, "")
}

// reportSnippet is report with the snippet Falco prints, when it is not
// the source line's (see [diag.Diagnostic.FalcoSnip]).
func (l *loader) reportSnippet(code string, warning bool, msg string, p srcPos, ctx []diag.Location, falcoSnip string) {
	d := diag.Diagnostic{Code: code, Message: msg, Warning: warning, Context: append([]diag.Location(nil), ctx...),
		FalcoSnip: falcoSnip}
	file, off := -1, 0
	if p.ok() && int(p.file) < len(l.files) {
		fi := l.files[p.file]
		file, off = int(p.file), int(p.off)
		d.File = fi.name
		d.Line, d.Col = fi.lineCol(off)
		d.Snippet = fi.lineText(d.Line)
	} else if len(ctx) > 0 {
		d.File = ctx[0].File
	}
	// The same problem reached twice (a macro expanded into several
	// rules) is reported once.
	key := diagKey{code: code, msg: msg, file: file, off: off}
	if l.seen[key] {
		return
	}
	l.seen[key] = true
	l.diags = append(l.diags, sortedDiag{d: d, file: file, off: off, sequence: len(l.diags)})
}

type diagKey struct {
	code, msg string
	file, off int
}

func (l *loader) sorted() []diag.Diagnostic {
	s := append([]sortedDiag(nil), l.diags...)
	// By file, then as Falco finds them: the unused list and macro
	// warnings come after the compilation's diagnostics.
	unused := func(d *diag.Diagnostic) bool {
		return d.Code == diag.WarnUnusedMacro || d.Code == diag.WarnUnusedList
	}
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].file != s[j].file {
			return s[i].file < s[j].file
		}
		if ui, uj := unused(&s[i].d), unused(&s[j].d); ui != uj {
			return uj
		}
		return s[i].off < s[j].off
	})
	out := make([]diag.Diagnostic, len(s))
	for i := range s {
		out[i] = s[i].d
	}
	return out
}

// location builds an item-stack entry for node n of file fi.
func (l *loader) location(fi int, itemType, name string, n *yaml.Node) diag.Location {
	f := l.files[fi]
	loc := diag.Location{ItemType: itemType, ItemName: name, File: f.name}
	if n != nil && n.Line > 0 {
		loc.Line, loc.Col = n.Line-1, n.Column-1
		loc.Offset = f.offset(n.Line, n.Column)
	}
	return loc
}

func (l *loader) nodePos(fi int, n *yaml.Node) srcPos {
	if n == nil || n.Line <= 0 {
		return noPos
	}
	return srcPos{file: int32(fi), off: int32(l.files[fi].offset(n.Line, n.Column))}
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// readFile parses one file and reads its items.
func (l *loader) readFile(src Source) {
	fi := len(l.files)
	f := newFileInfo(src.Name, src.Data)
	l.files = append(l.files, f)
	content := []diag.Location{{ItemType: "rules content", File: src.Name}}

	var docs []*yaml.Node
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("yaml: %v", r)
			}
		}()
		dec := yaml.NewDecoder(bytes.NewReader(src.Data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			docs = append(docs, &doc)
		}
	}()
	if err != nil {
		p := srcPos{file: int32(fi)}
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			if n, e := strconv.Atoi(m[1]); e == nil {
				p.off = int32(f.offset(n, 1))
			}
		}
		l.report(diag.ErrYAMLParse, false, err.Error(), p, content)
		return
	}
	for _, doc := range docs {
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if isNull(root) {
			continue
		}
		if root.Kind != yaml.SequenceNode {
			msg := "Rules content is not yaml array of objects"
			if root.Kind == yaml.ScalarNode {
				msg = "Rules content is not yaml"
			}
			l.report(diag.ErrYAMLValidate, false, msg, l.nodePos(fi, root), content)
			continue
		}
		for _, el := range root.Content {
			if isNull(el) {
				continue
			}
			if el.Kind == yaml.AliasNode && el.Alias != nil {
				el = el.Alias
			}
			if el.Kind != yaml.MappingNode {
				l.report(diag.ErrYAMLValidate, false,
					"Unexpected element type. Each element should be a yaml associative array.",
					l.nodePos(fi, el), content)
				continue
			}
			l.readItem(fi, el, content)
		}
	}
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// isTrue reports whether s is a YAML boolean true.
func parseBool(n *yaml.Node) (bool, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	return false, false
}
