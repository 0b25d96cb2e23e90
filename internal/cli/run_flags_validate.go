package cli

import (
	"fmt"
	"io"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
)

// runFalcoValidate implements falco-run's `-V FILE...`: it loads the files
// in order into one namespace and prints the result per file, as Falco's
// text (or, with asJSON, as the falco_load_results document). It returns an
// *ExitError with code 1 when a file does not load.
func runFalcoValidate(w io.Writer, paths []string, asJSON bool) error {
	srcs, err := rules.ReadPaths(paths)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	_, ds := rules.Load(srcs, nil)
	if err := writeFalcoValidation(w, diag.GroupByFile(names, ds), asJSON); err != nil {
		return err
	}
	if diag.HasErrors(ds) {
		return &ExitError{Code: 1}
	}
	return nil
}

// runFalcoList implements falco-run's `-r FILE... -L`: it loads the rules
// files and prints the rules as Falco's -L does. When loading fails the
// diagnostics are printed in our own form on errw and an *ExitError with
// code 1 is returned.
func runFalcoList(w, errw io.Writer, paths []string, opts *rules.Options, asJSON bool) error {
	srcs, err := rules.ReadPaths(paths)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	return runFalcoListSources(w, errw, srcs, opts, asJSON)
}

// runFalcoListSources is [runFalcoList] for rules already read.
func runFalcoListSources(w, errw io.Writer, srcs []rules.Source, opts *rules.Options, asJSON bool) error {
	rs, ds := rules.Load(srcs, opts)
	if rs == nil {
		for _, d := range ds {
			if _, err := io.WriteString(errw, d.Render()); err != nil {
				return err
			}
		}
		return &ExitError{Code: 1}
	}
	return writeFalcoList(w, rs, asJSON)
}

// runFalcoDescribe implements falco-run's `-l RULE`: -L for one rule. A
// rule that is not loaded is an error naming it.
func runFalcoDescribe(w, errw io.Writer, srcs []rules.Source, opts *rules.Options, asJSON bool, name string) error {
	rs, ds := rules.Load(srcs, opts)
	if rs == nil {
		for _, d := range ds {
			if _, err := io.WriteString(errw, d.Render()); err != nil {
				return err
			}
		}
		return &ExitError{Code: 1}
	}
	one := *rs
	one.Rules = nil
	for _, r := range rs.Rules {
		if r.Name == name {
			one.Rules = append(one.Rules, r)
		}
	}
	if len(one.Rules) == 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("-l: rule %q is not loaded", name)}
	}
	return writeFalcoList(w, &one, asJSON)
}
