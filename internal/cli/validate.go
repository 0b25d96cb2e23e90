package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler/diag"
	"github.com/falcoc/falcoc/compiler/rules"
)

// ValidateOptions are the options of `falcoc validate`.
type ValidateOptions struct {
	JSON  bool
	Paths []string

	out io.Writer
}

func newCmdValidate(s Streams) *cobra.Command {
	o := &ValidateOptions{}
	c := &cobra.Command{
		Use:   "validate [--json] FILE|DIR...",
		Short: "Check rules files as Falco loads them",
		Long: "Load the rules files in order into one namespace (a directory stands for its\n" +
			"*.yaml and *.yml files, sorted) and report every error and warning as\n" +
			"file:line:col with the source line and a caret. The exit status is 1 when\n" +
			"there is an error. --json prints Falco's falco_load_results document instead.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	c.Flags().BoolVar(&o.JSON, "json", false, "print Falco's falco_load_results JSON")
	return c
}

// Complete fills the options from the command.
func (o *ValidateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.out = cmd.OutOrStdout()
	o.Paths = args
	return nil
}

// Validate checks the options.
func (o *ValidateOptions) Validate() error {
	if len(o.Paths) == 0 {
		return fmt.Errorf("no rules files given")
	}
	return nil
}

// Run loads the files and prints the diagnostics. It returns an
// *ExitError with code 1 (and nothing more to print) when loading failed.
func (o *ValidateOptions) Run() error {
	srcs, err := rules.ReadPaths(o.Paths)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	_, ds := rules.Load(srcs, nil)
	if o.JSON {
		names := make([]string, len(srcs))
		for i, s := range srcs {
			names[i] = s.Name
		}
		if err := writeFalcoValidation(o.out, diag.GroupByFile(names, ds), true); err != nil {
			return err
		}
	} else {
		for _, d := range ds {
			if _, err := io.WriteString(o.out, d.Render()); err != nil {
				return err
			}
		}
		errs, warns := 0, 0
		for _, d := range ds {
			if d.Warning {
				warns++
			} else {
				errs++
			}
		}
		verdict := "ok"
		if errs > 0 {
			verdict = fmt.Sprintf("%d error(s)", errs)
		}
		if warns > 0 {
			verdict += fmt.Sprintf(", %d warning(s)", warns)
		}
		fmt.Fprintf(o.out, "%d file(s), %s\n", len(srcs), verdict)
	}
	if diag.HasErrors(ds) {
		return &ExitError{Code: 1}
	}
	return nil
}
