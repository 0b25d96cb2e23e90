package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/falcoc/falcoc/compiler/catalog"
)

// schemaVersion is the event schema of Falco 0.44 that the catalog's
// event table follows.
const schemaVersion = "4.3.0"

// tracepointEvents are the catalog's events that come from kernel
// tracepoints rather than syscalls.
var tracepointEvents = map[string]bool{"switch": true, "procexit": true, "signaldeliver": true, "page_fault": true}

// writeEventList implements --list-events: the catalog's events by
// category with their parameters, as Falco's text (or, with markdown,
// its table). falcoc has one event per syscall, its exit (which carries
// the enter parameters too, as Falco's since 0.42): syscalls are listed
// with '<', the others with '>'.
func writeEventList(w io.Writer, markdown bool) error {
	cats := []struct {
		name string
		in   func(e *catalog.Event) bool
	}{
		{"Syscall events", func(e *catalog.Event) bool { return e.Syscall }},
		{"Tracepoint events", func(e *catalog.Event) bool { return !e.Syscall && tracepointEvents[e.Name] }},
		{"Plugin events", func(e *catalog.Event) bool { return !e.Syscall && e.Category == "plugin" }},
		{"Metaevents", func(e *catalog.Event) bool {
			return !e.Syscall && !tracepointEvents[e.Name] && e.Category != "plugin"
		}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The events below are valid for Falco *Schema Version*: %s\n", schemaVersion)
	for _, c := range cats {
		fmt.Fprintf(&b, "## %s\n\n", c.name)
		if markdown {
			b.WriteString("Default | Dir | Name | Params \n:-------|:----|:-----|:-----\n")
		}
		for _, e := range catalog.Events() {
			if !c.in(e) {
				continue
			}
			dir := byte('>')
			if e.Syscall {
				dir = '<'
			}
			if markdown {
				def := "No"
				if e.Default {
					def = "Yes"
				}
				fmt.Fprintf(&b, "%s | `%c` | `%s` | ", def, dir, e.Name)
			} else {
				fmt.Fprintf(&b, "%c %s(", dir, e.Name)
			}
			for i, p := range e.Params {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s **%s**", p.Type, p.Name)
				if len(p.Flags) > 0 {
					b.WriteString(": ")
					for j, f := range p.Flags {
						if j > 0 {
							b.WriteString(", ")
						}
						if markdown {
							fmt.Fprintf(&b, "*%s*", f)
						} else {
							b.WriteString(f)
						}
					}
				}
			}
			if !markdown {
				b.WriteString(")")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeIgnoredEvents implements -i: the syscalls Falco ignores unless
// -A is given (its high-volume I/O syscalls).
func writeIgnoredEvents(w io.Writer) error {
	var names []string
	for _, e := range catalog.Events() {
		if e.Syscall && !e.Default {
			names = append(names, e.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var b strings.Builder
	b.WriteString("Ignored syscall(s):\n")
	for _, n := range names {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// builtinPlugins are the Falco plugins whose event source or fields
// falcoc provides natively, with the plugin version they match.
var builtinPlugins = []struct {
	name, version, desc, source string
	fieldClasses                []string
}{
	{"container", "0.7.1", "Container metadata (docker, podman, containerd, CRI-O, Kubernetes pods) for syscall events: the container.* and k8s.* fields.",
		"", []string{"container", "k8s"}},
	{"k8saudit", "0.18.0", "Kubernetes audit events received on a webhook: the k8s_audit event source and its ka.* and jevt.* fields.",
		catalog.SourceK8sAudit, nil},
}

// writePluginInfo implements --plugin-info: falcoc has no plugin loader;
// for the plugins it has built in it prints what Falco's --plugin-info
// prints (name, description, version, capabilities, fields' source).
func writePluginInfo(w io.Writer, name string) error {
	for _, p := range builtinPlugins {
		if p.name != name {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Name: %s\nDescription: %s\nContact: built into falcoc\nVersion: %s\n", p.name, p.desc, p.version)
		b.WriteString("Capabilities:\n")
		if p.source != "" {
			fmt.Fprintf(&b, "  - Event Sourcing (source: %s)\n", p.source)
		}
		b.WriteString("  - Field Extraction\n")
		fields := 0
		for _, f := range catalog.Fields() {
			if f.Flags&catalog.FlagHidden != 0 {
				continue
			}
			if (p.source != "" && f.Source == p.source) || slices.Contains(p.fieldClasses, fieldClassPrefix(f.Name)) {
				fields++
			}
		}
		fmt.Fprintf(&b, "Fields: %d (falco-run --list", fields)
		if p.source != "" {
			fmt.Fprintf(&b, "=%s", p.source)
		}
		b.WriteString(")\nInit config schema type: none (falcoc reads the entry's open_params and init_config itself)\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	names := make([]string, len(builtinPlugins))
	for i, p := range builtinPlugins {
		names[i] = p.name
	}
	return &ExitError{Code: 1, Err: fmt.Errorf("--plugin-info: falcoc has no plugin loader; %q is not one of the plugins built in (%s)",
		name, strings.Join(names, ", "))}
}

func fieldClassPrefix(name string) string {
	c, _, _ := strings.Cut(name, ".")
	return c
}
