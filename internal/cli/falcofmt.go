package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/vm"
)

// writeFalcoValidation prints load results as `falco -V` does: the text
// form, or with json the falco_load_results document.
func writeFalcoValidation(w io.Writer, results []diag.FileResult, json bool) error {
	if json {
		return diag.WriteFalcoJSON(w, results)
	}
	return diag.WriteFalcoText(w, results)
}

// writeFalcoList prints the loaded rules as `falco -L` does: a two-column
// table of names and descriptions, or with asJSON the document of lists,
// macros and rules with their compiled details.
func writeFalcoList(w io.Writer, rs *rules.Ruleset, asJSON bool) error {
	if rs == nil {
		rs = &rules.Ruleset{}
	}
	if !asJSON {
		return writeRuleTable(w, len(rs.Rules), func(i int) (string, string) { return rs.Rules[i].Name, rs.Rules[i].Desc })
	}
	doc := flDoc{
		Lists:                  []flList{},
		Macros:                 []flMacro{},
		Rules:                  []flRule{},
		RequiredEngineVersion:  rs.RequiredEngineVersion,
		RequiredPluginVersions: []flPlugin{},
	}
	if doc.RequiredEngineVersion == "" {
		doc.RequiredEngineVersion = "0.0.0"
	}
	for _, p := range rs.RequiredPluginVersions {
		pj := flPlugin{Name: p.Name, Version: p.Version, Alternatives: []flPlugin{}}
		for _, a := range p.Alternatives {
			pj.Alternatives = append(pj.Alternatives, flPlugin{Name: a.Name, Version: a.Version, Alternatives: []flPlugin{}})
		}
		doc.RequiredPluginVersions = append(doc.RequiredPluginVersions, pj)
	}
	for _, l := range rs.Lists {
		doc.Lists = append(doc.Lists, flList{
			Details: flListDetails{ItemsCompiled: flNonNil(l.Compiled), Lists: flNonNil(l.Lists), Plugins: []string{}, Used: l.Used},
			Info:    flListInfo{Items: flNonNil(l.Items), Name: l.Name},
		})
	}
	for _, m := range rs.Macros {
		d := flMacroDetails{Lists: flNonNil(m.Lists), Macros: flNonNil(m.Macros), Plugins: []string{}, Used: m.Used,
			ConditionFields: []string{}, ConditionOperators: []string{}, Events: []string{}}
		if m.Expr != nil {
			if c, _ := check.CheckCondition(m.Expr, nil); c != nil {
				d.ConditionCompiled = check.Format(c.IR)
				d.ConditionFields, d.ConditionOperators, d.Events = flNonNil(c.Fields), flNonNil(c.Operators), flNonNil(c.EventTypes)
			}
		}
		doc.Macros = append(doc.Macros, flMacro{Details: d, Info: flMacroInfo{Condition: m.Condition, Name: m.Name}})
	}
	for _, r := range rs.Rules {
		d := flRuleDetails{Lists: flNonNil(r.Lists), Macros: flNonNil(r.Macros), Plugins: []string{},
			ConditionFields: []string{}, ConditionOperators: []string{}, Events: []string{},
			ExceptionFields: []string{}, ExceptionNames: []string{}, ExceptionOperators: []string{},
			OutputCompiled: r.Output, OutputFields: []string{}}
		if c := r.Checked; c != nil {
			d.ConditionCompiled = check.Format(c.IR)
			d.ConditionFields, d.ConditionOperators, d.Events = flNonNil(c.Fields), flNonNil(c.Operators), flNonNil(c.EventTypes)
		}
		if t := r.OutputTemplate; t != nil {
			d.OutputCompiled = t.Format
			d.OutputFields = flNonNil(t.Fields())
		}
		for _, ex := range r.Exceptions {
			d.ExceptionNames = flAppendUnique(d.ExceptionNames, ex.Name)
			for _, f := range ex.Fields {
				d.ExceptionFields = flAppendUnique(d.ExceptionFields, f)
			}
			for _, c := range ex.Comps {
				d.ExceptionOperators = flAppendUnique(d.ExceptionOperators, c)
			}
		}
		doc.Rules = append(doc.Rules, flRule{Details: d, Info: flRuleInfo{
			Capture: r.Capture, CaptureDuration: r.CaptureDuration, Condition: r.RawCondition, Description: r.Desc,
			Enabled: r.Enabled, Name: r.Name, Output: r.Output, Priority: r.Priority.String(), Source: r.Source,
			Tags: flNonNil(r.Tags),
		}})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode rules list: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func flNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func flAppendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// The JSON shapes of `falco -L -o json_output=true`; fields are in
// alphabetical order, as Falco prints them.
type flDoc struct {
	Lists                  []flList   `json:"lists"`
	Macros                 []flMacro  `json:"macros"`
	RequiredEngineVersion  string     `json:"required_engine_version"`
	RequiredPluginVersions []flPlugin `json:"required_plugin_versions"`
	Rules                  []flRule   `json:"rules"`
}

type flPlugin struct {
	Alternatives []flPlugin `json:"alternatives"`
	Name         string     `json:"name"`
	Version      string     `json:"version"`
}

type flList struct {
	Details flListDetails `json:"details"`
	Info    flListInfo    `json:"info"`
}

type flListDetails struct {
	ItemsCompiled []string `json:"items_compiled"`
	Lists         []string `json:"lists"`
	Plugins       []string `json:"plugins"`
	Used          bool     `json:"used"`
}

type flListInfo struct {
	Items []string `json:"items"`
	Name  string   `json:"name"`
}

type flMacro struct {
	Details flMacroDetails `json:"details"`
	Info    flMacroInfo    `json:"info"`
}

type flMacroDetails struct {
	ConditionCompiled  string   `json:"condition_compiled"`
	ConditionFields    []string `json:"condition_fields"`
	ConditionOperators []string `json:"condition_operators"`
	Events             []string `json:"events"`
	Lists              []string `json:"lists"`
	Macros             []string `json:"macros"`
	Plugins            []string `json:"plugins"`
	Used               bool     `json:"used"`
}

type flMacroInfo struct {
	Condition string `json:"condition"`
	Name      string `json:"name"`
}

type flRule struct {
	Details flRuleDetails `json:"details"`
	Info    flRuleInfo    `json:"info"`
}

type flRuleDetails struct {
	ConditionCompiled  string   `json:"condition_compiled"`
	ConditionFields    []string `json:"condition_fields"`
	ConditionOperators []string `json:"condition_operators"`
	Events             []string `json:"events"`
	ExceptionFields    []string `json:"exception_fields"`
	ExceptionNames     []string `json:"exception_names"`
	ExceptionOperators []string `json:"exception_operators"`
	Lists              []string `json:"lists"`
	Macros             []string `json:"macros"`
	OutputCompiled     string   `json:"output_compiled"`
	OutputFields       []string `json:"output_fields"`
	Plugins            []string `json:"plugins"`
}

type flRuleInfo struct {
	Capture         bool     `json:"capture"`
	CaptureDuration int      `json:"capture_duration"`
	Condition       string   `json:"condition"`
	Description     string   `json:"description"`
	Enabled         bool     `json:"enabled"`
	Name            string   `json:"name"`
	Output          string   `json:"output"`
	Priority        string   `json:"priority"`
	Source          string   `json:"source"`
	Tags            []string `json:"tags"`
}

// writeArtifactList is [writeFalcoList] for a compiled artifact: the same
// table, or a JSON document with the rules the artifact holds (an
// artifact keeps no lists or macros, so those are empty, and a rule's
// lists, macros and exceptions are already expanded into its compiled
// condition).
func writeArtifactList(w io.Writer, art *artifact.Artifact, asJSON bool) error {
	if !asJSON {
		return writeRuleTable(w, len(art.Rules), func(i int) (string, string) { return art.Rules[i].Name, art.Rules[i].Desc })
	}
	doc := flDoc{
		Lists:                  []flList{},
		Macros:                 []flMacro{},
		Rules:                  []flRule{},
		RequiredEngineVersion:  "0.0.0",
		RequiredPluginVersions: []flPlugin{},
	}
	for _, r := range art.Rules {
		d := flRuleDetails{Lists: []string{}, Macros: []string{}, Plugins: []string{},
			ConditionCompiled: r.Compiled, ConditionFields: []string{}, ConditionOperators: []string{},
			Events:          flNonNil(r.EventTypes),
			ExceptionFields: []string{}, ExceptionNames: []string{}, ExceptionOperators: []string{},
			OutputCompiled: r.Template.Format, OutputFields: templateFields(r.Template)}
		doc.Rules = append(doc.Rules, flRule{Details: d, Info: flRuleInfo{
			Condition: r.Condition, Description: r.Desc, Enabled: r.Enabled, Name: r.Name, Output: r.Output,
			Priority: rules.Priority(r.Priority).String(), Source: r.Source, Tags: flNonNil(r.Tags),
		}})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode rules list: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// templateFields returns the distinct value tokens of a compiled template,
// in order of first appearance (as [check.Template.Fields]).
func templateFields(t vm.Template) []string {
	out := []string{}
	for _, s := range t.Segments {
		if s.Operand >= 0 && !slices.Contains(out, s.Token) {
			out = append(out, s.Token)
		}
	}
	return out
}

// writeRuleTable writes -L's text table, as Falco prints it, of n rules
// whose name and description rule(i) gives.
func writeRuleTable(w io.Writer, n int, rule func(i int) (name, desc string)) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-50s %s\n", "Rule", "Description")
	fmt.Fprintf(&b, "%-50s %s\n", "----", "-----------")
	for i := range n {
		name, desc := rule(i)
		fmt.Fprintf(&b, "%-50s %s \n\n", name, desc)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
