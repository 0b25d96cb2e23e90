package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/vm"
)

// describePlan prints what the kernel checks per rule and what is left to
// the VM.
func describePlan(w io.Writer, a *artifact.Artifact) error {
	p := a.Plan
	if p == nil {
		_, err := fmt.Fprintln(w, "  (no kernel prefilter: every event of the rules' syscalls is sent)")
		return err
	}
	return p.Describe(w, nil)
}

// compileExtras compiles falco.yaml's append_output entries; nil when
// there are none. Errors name the entry.
// suggestedOutput and suggestedFields are what append_output's
// suggested_output adds: the container plugin's suggested output fields.
const suggestedOutput = "container_id=%container.id container_name=%container.name " +
	"container_image_repository=%container.image.repository container_image_tag=%container.image.tag " +
	"k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name"

var suggestedFields = []string{"container.id", "container.name", "container.image.repository",
	"container.image.tag", "k8s.pod.name", "k8s.ns.name"}

func compileExtras(list []config.AppendOutput) (*engine.Extras, error) {
	if len(list) == 0 {
		return nil, nil
	}
	g := codegen.New()
	// An entry for one source (match.source: k8s_audit) may use that
	// source's fields; source is the entry being compiled's.
	source := ""
	tmpl := func(what, format string) (vm.Template, error) {
		var opts *check.Options
		if source != "" {
			opts = &check.Options{Source: source}
		}
		t, issues := check.CheckOutput(format, opts)
		for _, is := range issues {
			if !is.Warning {
				return vm.Template{}, fmt.Errorf("%s: %q: column %d: %s", what, format, is.Pos.Column, is.Msg)
			}
		}
		vt, err := g.Output(t)
		if err != nil {
			return vm.Template{}, fmt.Errorf("%s: %w", what, err)
		}
		return vt, nil
	}
	x := &engine.Extras{Consts: g.Consts()}
	for i, ao := range list {
		source = ao.Match.Source
		e := engine.Extra{Source: ao.Match.Source, Rule: ao.Match.Rule, Tags: ao.Match.Tags}
		text := ao.ExtraOutput
		if ao.SuggestedOutput {
			// The fields the container plugin suggests, which Falco 0.44's
			// default falco.yaml appends to every syscall rule's output.
			if e.Source == "" {
				e.Source = "syscall"
			}
			text = strings.TrimSpace(suggestedOutput + " " + text)
			for _, f := range suggestedFields {
				t, err := tmpl(fmt.Sprintf("append_output[%d].suggested_output", i), "%"+f)
				if err != nil {
					return nil, err
				}
				e.Fields = append(e.Fields, engine.ExtraField{Name: f, Template: t, Bare: true})
			}
		}
		if text != "" {
			t, err := tmpl(fmt.Sprintf("append_output[%d].extra_output", i), text)
			if err != nil {
				return nil, err
			}
			e.Text = t
		}
		for j, f := range ao.ExtraFields {
			what := fmt.Sprintf("append_output[%d].extra_fields[%d]", i, j)
			format, bare := f.Format, f.Format == ""
			if bare {
				format = "%" + f.Name
			}
			t, err := tmpl(what, format)
			if err != nil {
				return nil, err
			}
			e.Fields = append(e.Fields, engine.ExtraField{Name: f.Name, Template: t, Bare: bare})
		}
		x.List = append(x.List, e)
	}
	if err := x.Consts.Prepare(); err != nil {
		return nil, fmt.Errorf("append_output: %w", err)
	}
	return x, nil
}
