// Package diag is the one diagnostic type of the compiler: an error or a
// warning found while loading rule files, with its position in the file and
// Falco's load-result code, and its three renderings: our own
// `file:line:col: message` form with a caret line, Falco's `-V` text form and
// Falco's `falco_load_results` JSON form.
//
// Diagnostics are plain values, safe to copy and to use concurrently.
package diag

import (
	"fmt"
	"strings"
)

// Location is one entry of Falco's item stack: the kind of item ("rules
// content", "rule", "rule condition", ...), its name (may be empty) and
// its position. Line and Col are 0-based, as Falco prints them; Offset is
// in bytes from the start of File.
type Location struct {
	ItemType string
	ItemName string
	File     string
	Line     int
	Col      int
	Offset   int
}

// Diagnostic is an error or a warning about a rules file.
type Diagnostic struct {
	// Code is Falco's load-result code, e.g. "LOAD_ERR_COMPILE_CONDITION".
	Code    string
	Message string
	Warning bool
	// File, Line and Col locate the diagnostic; Line and Col are 1-based
	// (Col counts bytes). Line is 0 when the position is unknown.
	File string
	Line int
	Col  int
	// Context is Falco's item stack, outermost first.
	Context []Location
	// Snippet is the text of the source line at Line, without its newline.
	Snippet string
	// FalcoSnip, when set, is the snippet Falco prints instead of the
	// source line's: for an error in a condition expression, a line of
	// the condition text with Falco's caret (see rules' exprSnippet).
	FalcoSnip string
}

// Error returns the first line of [Diagnostic.Render]: "file:line:col: message".
func (d Diagnostic) Error() string {
	return d.Position() + ": " + d.Message
}

// Position returns "file:line:col", "file" when the line is unknown.
func (d Diagnostic) Position() string {
	if d.Line <= 0 {
		return d.File
	}
	return fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)
}

// Render returns our own form: "file:line:col: message" (prefixed with
// "warning: " for warnings), then " | <source line>" and " | ^" under the
// column, each line ending in a newline.
func (d Diagnostic) Render() string {
	var b strings.Builder
	b.WriteString(d.Position())
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	b.WriteByte('\n')
	if d.Line > 0 && d.Snippet != "" {
		b.WriteString(" | ")
		b.WriteString(d.Snippet)
		b.WriteString("\n | ")
		b.WriteString(caretPad(d.Snippet, d.Col))
		b.WriteString("^\n")
	}
	return b.String()
}

// caretPad returns the blanks that put a caret under byte column col
// (1-based) of line, keeping tabs so that the caret lines up.
func caretPad(line string, col int) string {
	var b strings.Builder
	for i := 0; i < col-1; i++ {
		if i < len(line) && line[i] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// FalcoSnippet returns the snippet as Falco prints it: the source line,
// then a caret line, each followed by a newline. It is empty when there is
// no source line.
func (d Diagnostic) FalcoSnippet() string {
	if d.FalcoSnip != "" {
		return d.FalcoSnip
	}
	if d.Line <= 0 || d.Snippet == "" {
		return ""
	}
	return d.Snippet + "\n" + strings.Repeat(" ", max(d.Col-1, 0)) + "^\n"
}

// HasErrors reports whether ds contains an error (not only warnings).
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if !d.Warning {
			return true
		}
	}
	return false
}

// List is the diagnostics of one load or compile, in order.
type List []Diagnostic

// HasErrors reports whether l contains an error (not only warnings).
func (l List) HasErrors() bool { return HasErrors(l) }

// Err returns the first error of l as an error value, or nil when l has
// only warnings.
func (l List) Err() error {
	for _, d := range l {
		if !d.Warning {
			return d
		}
	}
	return nil
}
