package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// FileResult is the outcome of loading one rules file, as Falco's `-V`
// reports it.
type FileResult struct {
	Name        string
	Diagnostics []Diagnostic
}

// Successful reports whether the file loaded without errors.
func (r FileResult) Successful() bool { return !HasErrors(r.Diagnostics) }

// GroupByFile splits ds into one result per name, in the order of names.
// Diagnostics for a file not in names are added to a result of their own,
// after the others.
func GroupByFile(names []string, ds []Diagnostic) []FileResult {
	out := make([]FileResult, 0, len(names))
	idx := map[string]int{}
	for _, n := range names {
		if _, ok := idx[n]; ok {
			continue
		}
		idx[n] = len(out)
		out = append(out, FileResult{Name: n})
	}
	for _, d := range ds {
		i, ok := idx[d.File]
		if !ok {
			i = len(out)
			idx[d.File] = i
			out = append(out, FileResult{Name: d.File})
		}
		out[i].Diagnostics = append(out[i].Diagnostics, d)
	}
	return out
}

// WriteFalcoText writes results as `falco -V` prints them: "NAME: Ok",
// "NAME: Ok, with warnings", or "NAME: Invalid" followed by every error
// with its item stack, snippet, code and message.
func WriteFalcoText(w io.Writer, results []FileResult) error {
	var b strings.Builder
	for _, r := range results {
		var errs []Diagnostic
		warnings := false
		for _, d := range r.Diagnostics {
			if d.Warning {
				warnings = true
			} else {
				errs = append(errs, d)
			}
		}
		switch {
		case len(errs) > 0:
			fmt.Fprintf(&b, "%s: Invalid\n%d Errors:\n", r.Name, len(errs))
			for _, d := range errs {
				writeFalcoDiag(&b, d)
			}
		case warnings:
			fmt.Fprintf(&b, "%s: Ok, with warnings\n", r.Name)
		default:
			fmt.Fprintf(&b, "%s: Ok\n", r.Name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFalcoDiag(b *strings.Builder, d Diagnostic) {
	for i, l := range d.Context {
		if i == 0 {
			b.WriteString("In ")
		} else {
			b.WriteString("    ")
		}
		b.WriteString(l.ItemType)
		if l.ItemName != "" {
			fmt.Fprintf(b, " '%s'", l.ItemName)
		}
		fmt.Fprintf(b, ": (%s:%d:%d)\n", l.File, l.Line, l.Col)
	}
	b.WriteString("------\n")
	b.WriteString(d.FalcoSnippet())
	b.WriteString("------\n")
	fmt.Fprintf(b, "%s (%s): %s\n\n", d.Code, CodeDesc(d.Code), d.Message)
}

type jsonPosition struct {
	Column int    `json:"column"`
	Line   int    `json:"line"`
	Name   string `json:"name"`
	Offset int    `json:"offset"`
}

type jsonLocation struct {
	ItemName string       `json:"item_name"`
	ItemType string       `json:"item_type"`
	Position jsonPosition `json:"position"`
}

type jsonContext struct {
	Locations []jsonLocation `json:"locations"`
	Snippet   string         `json:"snippet"`
}

type jsonDiag struct {
	Code     string      `json:"code"`
	CodeDesc string      `json:"codedesc"`
	Context  jsonContext `json:"context"`
	Message  string      `json:"message"`
}

type jsonResult struct {
	Errors         []jsonDiag `json:"errors"`
	Name           string     `json:"name"`
	SchemaValid    *bool      `json:"schema_valid,omitempty"`
	SchemaWarnings *[]string  `json:"schema_warnings,omitempty"`
	Successful     bool       `json:"successful"`
	Warnings       []jsonDiag `json:"warnings"`
}

// WriteFalcoJSON writes results as Falco's `falco_load_results` JSON
// document on one line, followed by a newline. Schema validation is not
// performed: a file that parsed as YAML reports schema_valid true and no
// schema warnings; a file that did not parse omits both keys, as Falco does.
func WriteFalcoJSON(w io.Writer, results []FileResult) error {
	doc := struct {
		Results []jsonResult `json:"falco_load_results"`
	}{Results: []jsonResult{}}
	for _, r := range results {
		jr := jsonResult{Name: r.Name, Errors: []jsonDiag{}, Warnings: []jsonDiag{}, Successful: r.Successful()}
		parsed := true
		for _, d := range r.Diagnostics {
			if d.Code == ErrYAMLParse || d.Code == ErrFileRead {
				parsed = false
			}
			jd := jsonDiag{Code: d.Code, CodeDesc: CodeDesc(d.Code), Message: d.Message,
				Context: jsonContext{Locations: []jsonLocation{}, Snippet: d.FalcoSnippet()}}
			for _, l := range d.Context {
				jd.Context.Locations = append(jd.Context.Locations, jsonLocation{
					ItemName: l.ItemName, ItemType: l.ItemType,
					Position: jsonPosition{Column: l.Col, Line: l.Line, Name: l.File, Offset: l.Offset},
				})
			}
			if d.Warning {
				jr.Warnings = append(jr.Warnings, jd)
			} else {
				jr.Errors = append(jr.Errors, jd)
			}
		}
		if parsed {
			valid, warns := true, []string{}
			jr.SchemaValid, jr.SchemaWarnings = &valid, &warns
		}
		doc.Results = append(doc.Results, jr)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode load results: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
