// Package cli builds the falcoc and falco-run commands. Each command comes
// from a constructor taking the IO streams; there are no package globals.
//
// falco-run's command maps its flags and falco.yaml to runtime/agent's
// options and compiles the rules (compiler.Compile, also on SIGHUP through
// the agent's Reload); the event loop, the sources and the counters are
// the agent's.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// StdStreams returns the process's standard streams.
func StdStreams() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// ExitError carries a process exit code; its message, if any, was already
// printed (or is printed once by [Main]).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs cmd with args and maps its error to an exit code, printing the
// error once on the command's error stream.
func Main(cmd *cobra.Command, args []string) int {
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.Name(), ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.Name(), err)
	return 1
}

func newRoot(s Streams, use, short string) *cobra.Command {
	c := &cobra.Command{
		Use:           use,
		Short:         short,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	c.SetIn(s.In)
	c.SetOut(s.Out)
	c.SetErr(s.Err)
	return c
}

// NewFalcocCommand builds the falcoc root command.
func NewFalcocCommand(s Streams) *cobra.Command {
	root := newRoot(s, "falcoc", "Compile and check Falco rule files")
	root.AddCommand(newCmdFields(s))
	root.AddCommand(newCmdValidate(s))
	root.AddCommand(newCmdParse(s))
	root.AddCommand(newCmdCompile(s))
	root.AddCommand(newCmdInspect(s))
	return root
}

// NewFalcoRunCommand builds the falco-run command.
func NewFalcoRunCommand(s Streams) *cobra.Command {
	return newCmdRun(s)
}
