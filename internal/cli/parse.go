package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler/syntax"
)

// ParseOptions are the options of `falcoc parse`.
type ParseOptions struct {
	// Condition is the condition text to parse.
	Condition string
	// MaxDepth bounds the nesting of the condition; 0 means the default.
	MaxDepth int

	out, errOut io.Writer
}

func newCmdParse(s Streams) *cobra.Command {
	o := &ParseOptions{}
	c := &cobra.Command{
		Use:   "parse CONDITION",
		Short: "Parse a rule condition and print its canonical form",
		Long: "Parse a condition of the Falco rule language and print it in canonical form,\n" +
			"the way Falco prints compiled conditions. On a syntax error, print the error\n" +
			"with its line and column and a caret under the source, and exit with status 1.\n" +
			"Macros and lists are not expanded: a bare name is printed as it is.",
		Args: cobra.ExactArgs(1),
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
	c.Flags().IntVar(&o.MaxDepth, "max-depth", 0, fmt.Sprintf("nesting limit of the condition (default %d)", syntax.DefaultMaxDepth))
	return c
}

// Complete fills the options from the command and its arguments.
func (o *ParseOptions) Complete(cmd *cobra.Command, args []string) error {
	o.out = cmd.OutOrStdout()
	o.errOut = cmd.ErrOrStderr()
	if len(args) > 0 {
		o.Condition = args[0]
	}
	return nil
}

// Validate checks the options.
func (o *ParseOptions) Validate() error {
	if o.MaxDepth < 0 {
		return fmt.Errorf("invalid --max-depth %d: must not be negative", o.MaxDepth)
	}
	return nil
}

// Run parses the condition and prints the result.
func (o *ParseOptions) Run() error {
	e, err := syntax.Parse(o.Condition, &syntax.Options{MaxDepth: o.MaxDepth})
	if err != nil {
		var serr *syntax.Error
		if !errors.As(err, &serr) {
			return fmt.Errorf("parse condition: %w", err)
		}
		fmt.Fprintf(o.errOut, "%s\n%s\n", serr.Error(), serr.Caret(o.Condition))
		return &ExitError{Code: 1}
	}
	fmt.Fprintln(o.out, syntax.Format(e))
	return nil
}
