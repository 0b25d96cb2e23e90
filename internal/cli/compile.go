package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler"
	"github.com/falcoc/falcoc/compiler/rules"
)

// CompileOptions are the options of `falcoc compile`.
type CompileOptions struct {
	Output string
	Paths  []string
	// Progress prints each stage's end and time to stderr; by default
	// only when stderr is a terminal.
	Progress bool

	out, errOut io.Writer
}

func newCmdCompile(s Streams) *cobra.Command {
	o := &CompileOptions{}
	c := &cobra.Command{
		Use:   "compile -o FILE.fbc FILE|DIR...",
		Short: "Compile rules files into an artifact",
		Long: "Load the rules files in order (a directory stands for its *.yaml and *.yml\n" +
			"files, sorted), compile every rule's condition to bytecode and its output to\n" +
			"a template, and write the artifact that falco-run loads. Diagnostics go to\n" +
			"stderr in the form `falcoc validate` prints; when there is an error nothing is\n" +
			"written and the exit status is 1. The same rules give a byte-identical artifact.",
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
	c.Flags().StringVarP(&o.Output, "output", "o", "", "the artifact file to write (required)")
	c.Flags().BoolVar(&o.Progress, "progress", false, "print each stage of the compile with its time (the default on a terminal)")
	return c
}

// Complete fills the options from the command.
func (o *CompileOptions) Complete(cmd *cobra.Command, args []string) error {
	o.out = cmd.OutOrStdout()
	o.errOut = cmd.ErrOrStderr()
	o.Paths = args
	if !cmd.Flags().Changed("progress") {
		o.Progress = isTerminal(o.errOut)
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Validate checks the options.
func (o *CompileOptions) Validate() error {
	if o.Output == "" {
		return fmt.Errorf("no output file: use -o FILE.fbc")
	}
	if len(o.Paths) == 0 {
		return fmt.Errorf("no rules files given")
	}
	return nil
}

// Run loads, compiles and writes the artifact.
func (o *CompileOptions) Run() error {
	srcs, err := rules.ReadPaths(o.Paths)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	var encoded []byte
	copts := compiler.Options{Encoded: &encoded}
	if o.Progress {
		start := time.Now()
		copts.Progress = func(stage string) {
			fmt.Fprintf(o.errOut, "falcoc: %s (%.1fs)\n", stage, time.Since(start).Seconds())
		}
	}
	a, ds := compiler.Compile(srcs, &copts)
	for _, d := range ds {
		if _, err := io.WriteString(o.errOut, d.Render()); err != nil {
			return err
		}
	}
	if a == nil {
		return &ExitError{Code: 1}
	}
	if err := writeFileAtomic(o.Output, encoded); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	_, err = fmt.Fprintf(o.out, "%s: %d rules, %d bytes\n", o.Output, len(a.Rules), len(encoded))
	return err
}

// writeFileAtomic writes data to a temporary file next to name and renames
// it, so that a reader never sees a partial artifact.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, name)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, werr)
	}
	return nil
}
